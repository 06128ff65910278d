"""The quality benchmark's split of fra.txt (the properties its figures rely on), and the
helpers of its OpenNMT-py peer that run without OpenNMT-py."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from shorttext_s2s.data import read_pairs

REPO = Path(__file__).resolve().parents[1]
FRA_PATH = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "benchmarks" / "peer")]

from opennmt_peer import checkpoints, from_tokens, select, to_tokens
from quality_bench import split_pairs, split_validation, take_groups


@pytest.fixture(scope="module")
def pairs():
    # Slow: reads and splits all 74,036 pairs.
    if not FRA_PATH.exists():
        pytest.skip(f"fra.txt not found: the quality benchmark expects it at {FRA_PATH}")
    return read_pairs(FRA_PATH)


@pytest.fixture(scope="module")
def split(pairs):
    return split_pairs(pairs, seed=1)


@pytest.mark.slow
def test_test_pairs_are_2000_with_no_english_sentence_on_both_sides(pairs, split):
    test = split["test"]
    assert len(test) == 2000
    test_english = {source for source, _ in test}
    assert not test_english & {source for source, _ in split["all"]}
    # Every pair of a test sentence is a test pair.
    assert sum(source in test_english for source, _ in pairs) == 2000


@pytest.mark.slow
def test_training_sets_are_the_rest_and_disjoint_from_the_test_pairs(pairs, split):
    assert sorted(split["all"] + split["test"]) == sorted(pairs)
    assert len(split["10k"]) == 10000
    test_english = {source for source, _ in split["test"]}
    assert not test_english & {source for source, _ in split["10k"]}
    # Drawn from the rest, without replacement.
    assert not Counter(split["10k"]) - Counter(split["all"])


@pytest.mark.slow
def test_split_is_deterministic_for_the_seed_and_changes_with_it(pairs, split):
    again = split_pairs(pairs, seed=1)
    assert all(again[name] == split[name] for name in ("test", "all", "10k"))
    assert split_pairs(pairs, seed=2)["test"] != split["test"]


@pytest.mark.slow
def test_validation_comes_out_of_the_training_set_by_whole_sentence(split):
    train, validation = split_validation(split["10k"], 500, seed=1)
    assert len(validation) == 500 and len(train) == 9500
    assert sorted(train + validation) == sorted(split["10k"])
    assert not {source for source, _ in train} & {source for source, _ in validation}
    assert split_validation(split["10k"], 500, seed=1) == (train, validation)


def test_take_groups_takes_whole_sentences_and_exactly_the_count():
    pairs = [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("d", "5"), ("d", "6")]
    taken, rest = take_groups(pairs, 3, random.Random(0))
    assert len(taken) == 3 and sorted(taken + rest) == sorted(pairs)
    assert not {s for s, _ in taken} & {s for s, _ in rest}


def test_peer_character_tokens_round_trip_with_white_space():
    text = "Qui\u202fest-ce\u2009? Un  chat."
    tokens = to_tokens(text)
    assert all(len(token) == 1 or token.startswith("\u2581") for token in tokens.split(" "))
    assert from_tokens(tokens) == text
    assert from_tokens("a <unk> b") == "ab"


def test_peer_snapshot_is_the_best_validated_checkpoint_written_by_then(tmp_path):
    paths = [tmp_path / f"model_step_{step}.pt" for step in (10, 20, 30)]
    for path in paths:
        path.write_bytes(b"")
    lines = [(100.0, "Start training loop and validate every 10 steps..."),
             (110.0, "Validation perplexity: 9.5"), (110.0, f"Saving checkpoint {paths[0]}"),
             (120.0, "Validation perplexity: 8.0"), (120.0, f"Saving checkpoint {paths[1]}"),
             (130.0, "Validation perplexity: 8.5"), (130.0, f"Saving checkpoint {paths[2]}")]
    found = checkpoints(lines, 100.0, batch_size=64)
    assert [c["step"] for c in found] == [10, 20, 30]
    assert found[0]["samples_per_s"] == 10 * 64 / 10.0
    assert select(found, 5.0) is None
    assert select(found, 15.0)["step"] == 10
    assert select(found, 30.0)["step"] == 20


def test_library_snapshot_is_the_best_judged_epoch_ended_by_then():
    from quality_bench import SnapshotKeeper

    class Timer:
        started = 0.0

    class Model:
        step = 0

        def get_weights(self):
            return [Model.step]

    def at(seconds):  # make the keeper's clock read `seconds` of training
        Timer.started = time.perf_counter() - seconds

    keeper = SnapshotKeeper(Timer, [10.0, 20.0, 30.0], train_size=128, batch_size=64)
    keeper.set_model(Model())
    logs = [{"val_loss": 2.0}, {"val_loss": 1.0}, {"val_loss": 3.0}]
    for epoch, (seconds, epoch_logs) in enumerate(zip((4.0, 12.0, 25.0), logs)):
        at(seconds - 1)
        keeper.on_epoch_begin(epoch)
        Model.step += 1
        keeper.on_train_batch_end(0)
        at(seconds)
        keeper.on_epoch_end(epoch, epoch_logs)
    # A recipe's validation score, added to the last epoch's logs by a later callback,
    # outranks the validation loss.
    logs[2]["val_chrf"] = 40.0
    keeper.on_train_end()
    assert keeper.kept[10.0][:2] == ([1], "epoch 1")
    assert keeper.kept[20.0][:2] == ([2], "epoch 2")  # epoch 3 ended after 20 s
    assert keeper.kept[30.0][:2] == ([3], "epoch 3")
