"""The quality benchmark's split of fra.txt: the properties its figures rely on."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from shorttext_s2s.data import read_pairs

REPO = Path(__file__).resolve().parents[1]
FRA_PATH = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"
sys.path.insert(0, str(REPO / "benchmarks"))

from quality_bench import split_pairs, split_validation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pairs():
    if not FRA_PATH.exists():
        pytest.skip(f"fra.txt not found: the quality benchmark expects it at {FRA_PATH}")
    return read_pairs(FRA_PATH)


@pytest.fixture(scope="module")
def split(pairs):
    return split_pairs(pairs, seed=1)


def test_test_pairs_are_2000_with_no_english_sentence_on_both_sides(pairs, split):
    test = split["test"]
    assert len(test) == 2000
    test_english = {source for source, _ in test}
    assert not test_english & {source for source, _ in split["all"]}
    # Every pair of a test sentence is a test pair.
    assert sum(source in test_english for source, _ in pairs) == 2000


def test_training_sets_are_the_rest_and_disjoint_from_the_test_pairs(pairs, split):
    assert sorted(split["all"] + split["test"]) == sorted(pairs)
    assert len(split["10k"]) == 10000
    test_english = {source for source, _ in split["test"]}
    assert not test_english & {source for source, _ in split["10k"]}
    # Drawn from the rest, without replacement.
    assert not Counter(split["10k"]) - Counter(split["all"])


def test_split_is_deterministic_for_the_seed_and_changes_with_it(pairs, split):
    again = split_pairs(pairs, seed=1)
    assert all(again[name] == split[name] for name in ("test", "all", "10k"))
    assert split_pairs(pairs, seed=2)["test"] != split["test"]


def test_validation_comes_out_of_the_training_set_by_whole_sentence(split):
    train, validation = split_validation(split["10k"], 500, seed=1)
    assert len(validation) == 500 and len(train) == 9500
    assert sorted(train + validation) == sorted(split["10k"])
    assert not {source for source, _ in train} & {source for source, _ in validation}
    assert split_validation(split["10k"], 500, seed=1) == (train, validation)
