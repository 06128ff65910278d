"""Scores of the field: word accuracy and symbol error rates, with several references."""

from __future__ import annotations

import pytest

from shorttext_s2s import InputDataError
from shorttext_s2s.evaluation import (character_error_rate, exact_match, score_texts,
                                      symbol_error_rate)


def test_an_output_is_right_when_it_equals_any_reference():
    outputs = ["T AH M EY T OW", "K AE T", "D AO G"]
    references = [["T AH M AA T OW", "T AH M EY T OW"], "K AE T", ["D AA G", "D AO G Z"]]
    assert exact_match(outputs, references) == pytest.approx(2 / 3)


def test_the_symbol_error_rate_counts_symbols_against_the_closest_reference():
    outputs = ["K AE T S", "D AO G"]
    references = [["K AA T", "K AE T"], ["D AA G", "D AO G Z"]]
    # One insertion against "K AE T" (3 symbols), one deletion against "D AO G Z" (4): the
    # closest references, the longer of equally close ones.
    assert symbol_error_rate(outputs, references, separator=" ") == pytest.approx(2 / 7)
    # By characters, "AE" -> "AO" is one substitution and the spaces count too.
    assert character_error_rate(["K AE T"], ["K AO T"]) == pytest.approx(1 / 6)
    assert symbol_error_rate(["K AE T"], ["K AO T"]) == character_error_rate(["K AE T"],
                                                                             ["K AO T"])
    # Several spaces separate as one.
    assert symbol_error_rate(["K  AE T"], ["K AE T"], separator=" ") == 0.0


def test_score_texts_with_several_references_and_a_separator():
    scores = score_texts(["K AE T", "D AO G"], [["K AE T"], ["D AA G", "D AO G Z"]],
                         metrics=("exact_match", "ser", "chrf"), separator=" ")
    assert scores["n"] == 2 and scores["exact_match"] == 0.5
    # "D AO G" is one symbol off both references of its input: the longer one counts.
    assert scores["ser"] == pytest.approx(1 / 7)
    assert 0 < scores["chrf"] < 100


@pytest.mark.parametrize("references", [[[]], [[3]], [None]])
def test_an_input_without_a_reference_text_is_refused(references):
    with pytest.raises(InputDataError, match=r"references\[0\]"):
        score_texts(["x"], references, metrics=("exact_match",))


def test_evaluate_groups_the_references_of_an_input(trained_generator, tiny_pairs):
    # A second target for two inputs: the model's output still equals one of each.
    pairs = list(tiny_pairs) + [(tiny_pairs[0][0], "Autre chose."), (tiny_pairs[1][0], "Non.")]
    scores = trained_generator.evaluate(pairs, metrics=("exact_match", "cer", "ser"),
                                        target_sep=" ")
    assert scores["n"] == len(tiny_pairs)
    assert scores["exact_match"] == 1.0 and scores["cer"] == 0.0 and scores["ser"] == 0.0
