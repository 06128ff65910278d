"""Readers: bad training input is reported with its line, nothing is dropped silently."""

from __future__ import annotations

import logging

import pytest

from shorttext_s2s import InputDataError
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
