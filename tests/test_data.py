"""Readers: bad training input is reported with its line, nothing is dropped silently."""

from __future__ import annotations

import logging

import pytest

from shorttext_s2s import InputDataError, InputWarning
from shorttext_s2s.data import conversation_pairs, read_lines, read_pairs


def test_pairs_line_without_tab_names_the_line(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("Go.\tVa !\nRun!\tCours !\nno tab here\n", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        read_pairs(path)
    assert caught.value.line == 3
    assert str(path) in str(caught.value) and "tab" in str(caught.value)


def test_pairs_with_two_or_three_columns_only(tmp_path):
    path = tmp_path / "pairs.txt"
    # The Anki layout: a third column, the attribution, is ignored.
    path.write_text("Go.\tVa !\tCC-BY 2.0\nRun!\tCours !\n", encoding="utf-8")
    assert read_pairs(path) == [("Go.", "Va !"), ("Run!", "Cours !")]
    path.write_text("Go.\tVa !\nRun!\tCours !\tCC-BY 2.0\textra\n", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        read_pairs(path)
    assert caught.value.line == 2 and str(path) in str(caught.value)
    assert "2 or 3 tab-separated columns" in str(caught.value) and "found 4" in str(caught.value)


def test_undecodable_bytes_name_the_line_and_encoding(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_bytes("Go.\tVa !\n".encode() + b"Hi.\tSalut \xff\n")
    with pytest.raises(InputDataError) as caught:
        read_pairs(path, encoding="utf-8")
    assert caught.value.line == 2
    assert "utf-8" in str(caught.value)


def test_empty_pairs_input_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="no sentence pairs"):
        read_pairs(path)


def test_conversation_needs_two_lines():
    with pytest.raises(InputDataError, match="at least two"):
        conversation_pairs(["only one line", "   "])


def test_blank_lines_are_counted_in_the_log(caplog):
    with caplog.at_level(logging.INFO, logger="shorttext_s2s"):
        pairs = conversation_pairs(["Hi.", "", "Hello.", " ", "How are you?"])
    assert pairs == [("Hi.", "Hello."), ("Hello.", "How are you?")]
    assert "skipped 2 blank line(s)" in caplog.text


def test_read_pairs_limit_keeps_the_first_pairs(fra_path):
    pairs = read_pairs(fra_path, limit=5)
    assert len(pairs) == 5
    with fra_path.open(encoding="utf-8") as handle:
        first = read_lines(handle)[0]
    assert pairs[0] == tuple(first.split("\t")[:2])


def test_a_byte_order_mark_is_no_part_of_the_first_source(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffGo.\tVa !\nHi.\tSalut !\n".encode("utf-8"))
    assert read_pairs(path)[0] == ("Go.", "Va !")
    with open(path, encoding="utf-8") as handle:  # an open text file too
        assert read_pairs(handle)[0] == ("Go.", "Va !")
    assert read_lines(["\ufeffHello", "\ufeffagain"]) == ["Hello", "\ufeffagain"]


def test_a_bad_byte_of_an_open_text_file_names_its_own_line(tmp_path):
    # The file decodes ahead in chunks: the line must be the bad byte's, not the first line
    # of the chunk that failed.
    path = tmp_path / "late.txt"
    path.write_bytes(b"".join(b"word%d\tmot%d\n" % (n, n) for n in range(2000))
                     + b"bad \xff\tmauvais\n")
    with open(path, encoding="utf-8") as handle, pytest.raises(InputDataError) as caught:
        read_pairs(handle)
    assert caught.value.line == 2001
    with pytest.raises(InputDataError) as caught:  # by path, as before
        read_pairs(path)
    assert caught.value.line == 2001


def test_pairs_with_an_empty_source_or_target_are_kept_with_a_warning(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("Go.\tVa !\n\tRien.\nHi.\t\nHi.\tSalut !\n", encoding="utf-8")
    with pytest.warns(InputWarning, match=r"2 pair\(s\) with an empty source or target, the "
                                          r"first at line 2"):
        pairs = read_pairs(path)
    assert pairs == [("Go.", "Va !"), ("", "Rien."), ("Hi.", ""), ("Hi.", "Salut !")]
