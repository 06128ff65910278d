"""Training: masked padding, length buckets, validation, early stopping, checkpoints, devices."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from shorttext_s2s import (CharBasedSeq2SeqGenerator, InputDataError, SentenceToCharVecEncoder,
                           loadCharBasedSeq2SeqGenerator)
from shorttext_s2s.evaluation import character_error_rate, exact_match, score_texts
from shorttext_s2s.extras import MissingExtraError
from shorttext_s2s.training.batches import PairBatches

from conftest import REPO, first_unique_pairs


def _generator(pairs, latent_dim=16, maxlen=32, network="lstm", **options):
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in pairs)
    return CharBasedSeq2SeqGenerator(encoder, latent_dim=latent_dim, maxlen=maxlen,
                                     network=network, **options)


# --- masking -----------------------------------------------------------------------------

def test_padding_does_not_change_the_masked_loss(tiny_pairs):
    keras.utils.set_random_seed(3)
    generator = _generator(tiny_pairs)
    generator.compile()
    model = generator.seq2seq.model
    scores = []
    for maxlen in (32, 48):
        generator.maxlen = maxlen
        tensors = [generator.encoder.onehot(ids) for ids in generator.encode_pairs(tiny_pairs)]
        scores.append(model.evaluate(tensors[:2], tensors[2], batch_size=len(tiny_pairs),
                                     verbose=0, return_dict=True))
        target = tensors[2]
    assert scores[0]["loss"] == pytest.approx(scores[1]["loss"], rel=1e-5)
    assert scores[0]["char_accuracy"] == pytest.approx(scores[1]["char_accuracy"], rel=1e-6)
    # The loss is the mean cross-entropy over the real (non-padding) positions only.
    probs = np.asarray(model.predict(tensors[:2], verbose=0))
    real = target.sum(axis=-1) > 0
    expected = -np.log(np.clip((probs * target).sum(axis=-1)[real], 1e-7, 1.0)).mean()
    assert scores[1]["loss"] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("network", ["lstm", "attention"])
def test_figures_fit_reports_leave_padding_out(tiny_pairs, network):
    # After some training (so that no prediction is a near-tie that float rounding decides),
    # learning rate 0 and no dropout: two epochs over the same pairs, padded to multiples of
    # 1 and of 16, must report the same loss and accuracy, those of the real positions.
    keras.utils.set_random_seed(3)
    options = {"dropout": 0.0} if network == "attention" else {}
    generator = _generator(tiny_pairs, network=network, **options)
    encoder = generator.encoder
    generator.train_pairs(tiny_pairs, batch_size=8, epochs=20, verbose=0)
    generator.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
    logs = [generator.train_pairs(tiny_pairs, batch_size=8, epochs=1, verbose=0, seed=1,
                                  length_step=step).history for step in (1, 16)]
    assert logs[0]["char_accuracy"][0] == pytest.approx(logs[1]["char_accuracy"][0], abs=1e-6)
    assert logs[0]["loss"][0] == pytest.approx(logs[1]["loss"][0], rel=1e-5)
    tensors = [encoder.onehot(ids) for ids in generator.encode_pairs(tiny_pairs)]
    probs = np.asarray(generator.seq2seq.model.predict(tensors[:2], verbose=0))
    real = tensors[2].sum(axis=-1) > 0
    expected = (probs.argmax(-1) == tensors[2].argmax(-1))[real].mean()
    assert logs[1]["char_accuracy"][0] == pytest.approx(expected, abs=1e-6)


def test_batches_are_padded_to_their_own_longest_sentence():
    pairs = [("a" * n, "b" * (2 * n)) for n in range(1, 13)]
    generator = _generator(pairs, maxlen=40)
    batches = PairBatches(*generator.encode_pairs(pairs), vocab_size=len(generator.encoder),
                          batch_size=3, shuffle=True, seed=0, length_step=1)
    seen = []
    for index in range(len(batches)):
        (source, decoder_input), target = batches[index]
        real = (target.sum(axis=-1) > 0).sum(axis=1)
        assert target.shape[1] == real.max() == decoder_input.shape[1]
        assert source.shape[1] == (source.sum(axis=-1) > 0).sum(axis=1).max()
        seen.extend(real.tolist())
    # Every pair once per epoch (target length 2n + signal identifies the pair).
    assert sorted(seen) == [2 * n + 1 for n in range(1, 13)]


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    ([], "no pairs given"),
    ([("Go.", "Va !"), ("lonely",)], r"pairs\[1\]"),
    ("Go.\tVa !", "single str"),
])
def test_bad_pairs_are_named(bad, message):
    generator = _generator([("Go.", "Va !")])
    with pytest.raises(InputDataError, match=message):
        generator.train_pairs(bad, epochs=1, verbose=0)


def test_conversation_needs_two_lines():
    generator = _generator([("Go.", "Va !")])
    with pytest.raises(InputDataError, match="at least two"):
        generator.train("just one line", epochs=1, verbose=0)


def test_pairs_cut_at_maxlen_are_counted(caplog):
    generator = _generator([("a" * 20, "b")], maxlen=8)
    with caplog.at_level(logging.WARNING, logger="shorttext_s2s"):
        generator.encode_pairs([("a" * 20, "b"), ("a", "b"), ("a", "b" * 9)])
    assert "cut 2 of 3 pair(s)" in caplog.text


def test_validation_split_must_leave_both_sides():
    generator = _generator([("Go.", "Va !")])
    with pytest.raises(ValueError, match="validation_split"):
        generator.train_pairs([("Go.", "Va !")] * 3, epochs=1, validation_split=0.1, verbose=0)


# --- validation, early stopping, checkpoints -------------------------------------------------

@pytest.mark.slow
def test_early_stopping_restores_the_best_weights(tiny_pairs):
    keras.utils.set_random_seed(5)
    validation = first_unique_pairs(12, skip=24)
    generator = _generator(tiny_pairs, latent_dim=32)
    generator.compile(optimizer=keras.optimizers.Adam(0.03))
    # One padded length (maxlen) for every batch: fewer compilations under JAX.
    history = generator.train_pairs(tiny_pairs, epochs=40, batch_size=8, verbose=0, seed=0,
                                    validation_data=validation, early_stopping=3,
                                    length_step=32)
    val_loss = history.history["val_loss"]
    # The run over-fits (validation loss rises after its best epoch) and stops early ...
    assert len(val_loss) < 40 and int(np.argmin(val_loss)) < len(val_loss) - 1
    # ... and the weights left in the model are those of the best epoch, not the last.
    batches = PairBatches(*generator.encode_pairs(validation), len(generator.encoder),
                          batch_size=8, shuffle=False, length_step=32)
    scores = generator.seq2seq.model.evaluate(batches, verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(min(val_loss), rel=1e-4)


def _overfitting_run(tiny_pairs, epochs, **options):
    """A small lstm run whose validation loss rises after a few epochs (Adam at 0.03)."""
    keras.utils.set_random_seed(5)
    generator = _generator(tiny_pairs, latent_dim=32)
    generator.compile(optimizer=keras.optimizers.Adam(0.03))
    history = generator.train_pairs(tiny_pairs, epochs=epochs, batch_size=8, verbose=0,
                                    seed=0, validation_data=first_unique_pairs(12, skip=24),
                                    length_step=32, **options)
    return generator, history


@pytest.mark.slow
def test_early_stopping_is_on_by_default_with_validation_pairs(tiny_pairs):
    from shorttext_s2s.training.selection import PATIENCE

    generator, history = _overfitting_run(tiny_pairs, epochs=60)
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    # The recipe's patience (keras-example: the validation loss), then the best weights.
    assert history.stopped_early
    assert len(val_loss) == best + PATIENCE["keras-example"] < 60
    assert history.selection.epoch == generator.seq2seq.weights_epoch == best
    assert history.selection.measure == "val_loss"
    assert history.selection.value == pytest.approx(min(val_loss))

    # 0 turns it off: every epoch runs, and the best one is still the one kept.
    generator, history = _overfitting_run(tiny_pairs, epochs=best + 7, early_stopping=0)
    assert len(history.epoch) == best + 7 and not history.stopped_early
    val_loss = history.history["val_loss"]
    assert history.selection.epoch == int(np.argmin(val_loss)) + 1


class _FakeModel:
    """What ModelSelection uses of a Keras model: weights and the stop flag."""

    def __init__(self):
        self.weights, self.stop_training = [np.zeros(1)], False

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def _select(logs_per_epoch, measure, patience=None, s2s=None):
    from types import SimpleNamespace

    from shorttext_s2s.training.selection import ModelSelection

    s2s = s2s or SimpleNamespace(selection=None, weights_epoch=0)
    selection = ModelSelection(SimpleNamespace(seq2seq=s2s), measure, patience=patience)
    model = _FakeModel()
    selection.set_model(model)
    selection.set_params({"epochs": len(logs_per_epoch)})
    selection.on_train_begin()
    for epoch, logs in enumerate(logs_per_epoch):
        model.weights = [np.full(1, epoch + 1.0)]  # each epoch's weights say which it is
        s2s.weights_epoch = epoch + 1
        selection.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    selection.on_train_end()
    return s2s, model, selection


def test_ties_of_the_measure_go_to_the_lower_validation_loss():
    s2s, model, _ = _select([{"val_chrf": 50.0, "val_loss": 1.0},
                             {"val_chrf": 60.0, "val_loss": 1.2},
                             {"val_chrf": 60.0, "val_loss": 1.1},
                             {"val_chrf": 60.0, "val_loss": 1.3},
                             {"val_chrf": 55.0, "val_loss": 0.5}], "val_chrf")
    assert s2s.selection.epoch == s2s.weights_epoch == 3
    assert model.weights[0][0] == 3.0  # the weights of epoch 3 are back in the model
    assert (s2s.selection.value, s2s.selection.val_loss) == (60.0, 1.1)
    # Lower is better for the error rate; a loss measure has no tie-breaker.
    s2s, _, _ = _select([{"val_cer": 0.2, "val_loss": 1.0}, {"val_cer": 0.1, "val_loss": 2.0},
                         {"val_cer": 0.1, "val_loss": 1.5}], "val_cer")
    assert s2s.selection.epoch == 3
    s2s, _, _ = _select([{"val_loss": 1.0}, {"val_loss": 1.0}], "val_loss")
    assert s2s.selection.epoch == 1 and s2s.selection.val_loss is None


def test_patience_counts_epochs_since_the_best_one():
    logs = [{"loss": value} for value in (3.0, 2.0, 2.5, 2.4, 2.1, 1.0)]
    s2s, _, selection = _select(logs, "loss", patience=3)
    assert selection.stopped_early and s2s.selection.epoch == 2
    assert "stopped early: 3 epochs without a better one" in selection.summary()
    assert selection.summary().startswith("kept the weights of epoch 2 (the best training loss")


@pytest.mark.slow
def test_resume_keeps_the_best_epoch_of_the_run_before(tiny_pairs, tmp_path):
    from shorttext_s2s.training.selection import PATIENCE

    checkpoint = tmp_path / "run.ckpt.h5"
    generator, history = _overfitting_run(tiny_pairs, epochs=60, checkpoint=checkpoint)
    best, last = history.selection, len(history.epoch)
    assert history.stopped_early and best.epoch == last - PATIENCE["keras-example"]
    # The checkpoint holds the last epoch, and the best one so far beside it.
    saved = loadCharBasedSeq2SeqGenerator(checkpoint)
    assert saved.epochs_trained == saved.seq2seq.weights_epoch == last
    assert saved.seq2seq.selection == best  # epoch, measure, value
    # Resumed with learning rate 0, no later epoch can beat the best one before the stop:
    # training must end with the weights of that epoch, from the checkpoint.
    saved.seq2seq.model.optimizer.learning_rate = 0.0
    saved.save_compact_model(checkpoint)
    resumed = _generator(tiny_pairs, latent_dim=32)
    history = resumed.train_pairs(tiny_pairs, epochs=last + 2, batch_size=8, verbose=0, seed=0,
                                  validation_data=first_unique_pairs(12, skip=24),
                                  length_step=32, checkpoint=checkpoint, resume=True,
                                  early_stopping=0)
    assert history.epoch == [last, last + 1]
    assert history.selection == best and resumed.seq2seq.weights_epoch == best.epoch
    for kept, expected in zip(resumed.seq2seq.model.get_weights(),
                              generator.seq2seq.model.get_weights()):
        np.testing.assert_array_equal(kept, expected)


def test_training_says_what_selects_and_what_it_kept(tiny_pairs, monkeypatch, capsys):
    # Not at a terminal (pytest captures the output): one line per epoch, no progress bars.
    keras.utils.set_random_seed(1)
    generator = _generator(tiny_pairs[:8], network="attention", embedding_dim=8)
    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # as if not installed
    history = generator.train_pairs(tiny_pairs[:8], epochs=2, batch_size=4,
                                    validation_split=0.25, length_step=32)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("model selection: validation CER (sacrebleu not installed: pip install "
                        "\"shorttext-s2s[metrics]\" for chrF); early stopping after 6 epochs "
                        "without a better one")
    assert lines[1:4:2] == ["Epoch 1/2", "Epoch 2/2"]
    assert not any("\r" in line or "\x1b[" in line for line in lines)
    assert lines[-1].startswith(f"kept the weights of epoch {history.selection.epoch} (the "
                                f"best validation CER ")
    assert generator.example_input == tiny_pairs[0][0]


def test_decoding_warns_about_inputs_not_read_as_given(trained_generator):
    import warnings

    from shorttext_s2s import InputWarning

    texts = ["Go.", "", "Go\u2603", "a" * trained_generator.maxlen]
    with pytest.warns(InputWarning) as caught:
        trained_generator.decode_batch(texts)
    assert len(caught) == 1  # one warning for the call, naming each text
    message = str(caught[0].message)
    assert message.startswith("3 of 4 input(s) not read as given: '': empty; ")
    assert "'Go\u2603': characters the model never saw: '\u2603'" in message
    assert f"cut to the {trained_generator.maxlen - 1} the model reads" in message
    assert caught[0].filename == __file__  # it points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trained_generator.decode("Go.", stochastic=False)


@pytest.mark.slow
def test_resume_from_checkpoint_continues_where_it_stopped(tiny_pairs, tmp_path):
    pairs = tiny_pairs[:12]
    checkpoint = tmp_path / "ckpt.s2s.h5"

    def fresh():
        keras.utils.set_random_seed(7)
        return _generator(pairs)

    straight = fresh()
    options = dict(batch_size=4, verbose=0, seed=0, length_step=32)
    straight.train_pairs(pairs, epochs=4, **options)

    interrupted = fresh()
    interrupted.train_pairs(pairs, epochs=2, checkpoint=checkpoint, **options)
    assert loadCharBasedSeq2SeqGenerator(checkpoint).epochs_trained == 2

    resumed = fresh()  # a new process would start from scratch like this
    history = resumed.train_pairs(pairs, epochs=4, checkpoint=checkpoint, resume=True,
                                  **options)
    assert history.epoch == [2, 3]
    assert resumed.epochs_trained == 4
    assert loadCharBasedSeq2SeqGenerator(checkpoint).epochs_trained == 4
    for expected, got in zip(straight.seq2seq.model.get_weights(),
                             resumed.seq2seq.model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


# --- evaluation ----------------------------------------------------------------------------

def test_evaluate_scores_the_decoded_outputs(trained_generator, tiny_pairs):
    scores = trained_generator.evaluate(tiny_pairs)
    assert scores["n"] == len(tiny_pairs)
    assert scores["exact_match"] == 1.0 and scores["cer"] == 0.0
    assert scores["chrf"] == pytest.approx(100.0)
    wrong = [(source, target + "xyz") for source, target in tiny_pairs[:4]]
    worse = trained_generator.evaluate(wrong, metrics=("exact_match", "cer", "chrf"))
    assert worse["exact_match"] == 0.0 and worse["cer"] > 0 and worse["chrf"] < 100


def test_metric_values():
    assert exact_match(["Va !", "Cours !"], ["Va !", "Courez !"]) == 0.5
    assert character_error_rate(["chat"], ["chats"]) == pytest.approx(1 / 5)
    assert character_error_rate([""], ["abcd"]) == 1.0


def test_missing_sacrebleu_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    with pytest.raises(MissingExtraError, match=r"shorttext-s2s\[metrics\]"):
        score_texts(["a"], ["a"], metrics=("chrf",))
    assert score_texts(["a"], ["a"], metrics=("exact_match",)) == {"n": 1, "exact_match": 1.0}


# --- distribution --------------------------------------------------------------------------

_DISTRIBUTED = textwrap.dedent("""
    import json, os, sys
    backend = os.environ["KERAS_BACKEND"]
    if backend == "tensorflow":
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        distribution = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    import keras
    if backend == "jax":
        distribution = keras.distribution.DataParallel()
    from shorttext_s2s import (CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder,
                               loadCharBasedSeq2SeqGenerator)
    from shorttext_s2s.training import replica_count
    pairs, path = json.loads(sys.argv[1]), sys.argv[2]
    keras.utils.set_random_seed(0)
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in pairs)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=24, network="lstm")
    history = generator.train_pairs(pairs, epochs=4, batch_size=8, verbose=0,
                                    optimizer=keras.optimizers.Adam(0.02),
                                    distribution=distribution, validation_split=0.25,
                                    length_step=24)  # one shape: fewer compilations
    inputs = [source for source, _ in pairs[:4]]
    decoded = generator.decode_batch(inputs)
    generator.save_compact_model(path)
    reloaded = loadCharBasedSeq2SeqGenerator(path)
    print("RESULT", json.dumps({"replicas": replica_count(distribution),
                                "loss": history.history["loss"],
                                "val_loss": history.history["val_loss"],
                                "decoded": decoded,
                                "reloaded": reloaded.decode_batch(inputs)}))
""")


@pytest.mark.slow
def test_distributed_training_on_two_logical_devices(tiny_pairs, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2",
               XLA_FLAGS="--xla_force_host_platform_device_count=2",
               KERAS_BACKEND=keras.backend.backend())
    done = subprocess.run([sys.executable, "-c", _DISTRIBUTED, json.dumps(tiny_pairs[:15]),
                           str(tmp_path / "mirrored.s2s.h5")],
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["replicas"] == 2
    assert all(np.isfinite(result["loss"])) and result["loss"][-1] < result["loss"][0]
    assert len(result["val_loss"]) == 4 and all(np.isfinite(result["val_loss"]))
    # The model trained across devices decodes, and is saved and loaded like any other.
    assert len(result["decoded"]) == 4 and all(isinstance(t, str) for t in result["decoded"])
    assert result["reloaded"] == result["decoded"]


def test_batch_lengths_are_rounded_coarsely_where_each_shape_compiles():
    from shorttext_s2s.training import Trainer

    from shorttext_s2s.networks import AttentionNetwork, LSTMNetwork

    # TensorFlow's training step takes any length; JAX compiles one per shape (seconds each,
    # more for the attention network's).
    tensorflow = keras.backend.backend() == "tensorflow"
    attention, lstm = AttentionNetwork(9, 8), LSTMNetwork(9, 8)
    assert Trainer().length_step_for(attention) == (1 if tensorflow else 16)
    assert Trainer().length_step_for(lstm) == (1 if tensorflow else 4)
    assert Trainer(length_step=8).length_step_for(attention) == 8


def test_a_time_budget_ends_training_with_the_best_epoch_judged(tiny_pairs, capsys):
    keras.utils.set_random_seed(1)
    generator = _generator(tiny_pairs[:8], network="attention", embedding_dim=8)
    history = generator.train_pairs(tiny_pairs[:8], epochs=100000, batch_size=4,
                                    validation_split=0.25, length_step=32, time_budget=2)
    lines = capsys.readouterr().out.splitlines()
    assert history.budget_spent and not history.stopped_early
    assert 1 <= len(history.epoch) < 100000
    # "small-data" under a budget keeps going while its learning rate falls: no early stop.
    assert lines[0].endswith("; time budget 2s") and "early stopping" not in lines[0]
    last = history.epoch[-1] + 1
    assert lines[-1].endswith(f"; the time budget of 2s ended training during epoch {last}")
    # The epoch the budget ended was validated and scored, even between two scorings (every
    # second epoch): epochs 2, 4, ... and the last.
    scored = [key for key in ("val_chrf", "val_cer") if key in history.history][0]
    assert len(history.history["val_loss"]) == last
    assert len(history.history[scored]) == (last + 1) // 2
    assert generator.seq2seq.weights_epoch == history.selection.epoch <= last
    # The learning rate falls with the budget spent (under JAX too, where fit() holds the
    # optimizer's state apart: a rate it did not read would be overwritten at the epoch's end).
    rates = history.history["learning_rate"]
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))
    final = float(keras.ops.convert_to_numpy(
        generator.seq2seq.model.optimizer.learning_rate))
    assert final < 0.002 and final == pytest.approx(rates[-1])


def test_auto_early_stopping_is_off_only_without_validation_or_under_a_decaying_budget():
    from shorttext_s2s.training.selection import PATIENCE, default_patience

    assert default_patience("small-data", validation=True, budgeted=False) == 6
    assert default_patience("small-data", validation=True, budgeted=True) is None
    assert default_patience("small-data", validation=False, budgeted=False) is None
    # "keras-example" has no budget schedule: a plateau still ends it.
    assert default_patience("keras-example", validation=True,
                            budgeted=True) == PATIENCE["keras-example"] == 5
    assert default_patience("keras-example", validation=False, budgeted=True) is None


@pytest.mark.parametrize("budget", [0, -1.0, float("nan"), "15m", True])
def test_an_invalid_time_budget_is_named(budget):
    generator = _generator([("Go.", "Va !")])
    with pytest.raises(ValueError, match="time_budget"):
        generator.train_pairs([("Go.", "Va !")] * 4, epochs=1, verbose=0, time_budget=budget)


@pytest.fixture
def mixed_bfloat16():
    """Keras's global ``mixed_bfloat16`` policy for one test, then the one before it."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    yield
    keras.config.set_dtype_policy(before)


def test_mixed_bfloat16_training_keeps_float32_weights_and_decodes(mixed_bfloat16, tiny_pairs,
                                                                    tmp_path):
    # The policy makes the training arithmetic bfloat16 (faster on CPUs with AVX512_BF16 or
    # AMX); the weights stay float32, so the file and the compiled decoders are those of a
    # float32 model.
    keras.utils.set_random_seed(2)
    generator = _generator(tiny_pairs, network="attention", embedding_dim=8, dropout=0.0)
    history = generator.train_pairs(tiny_pairs, epochs=30, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.9 * losses[0]
    model = generator.seq2seq.model
    assert model.get_layer("decoder_dense").compute_dtype == "bfloat16"  # the policy took
    assert {str(w.dtype) for w in model.weights} == {"float32"}
    path = tmp_path / "bf16.h5"
    generator.save_compact_model(str(path))
    keras.config.set_dtype_policy("float32")
    loaded = loadCharBasedSeq2SeqGenerator(str(path))
    inputs = [source for source, _ in tiny_pairs]
    assert loaded.decode_batch(inputs) == generator.decode_batch(inputs)


def test_the_default_validation_share_follows_the_number_of_pairs():
    from shorttext_s2s.training.selection import default_validation_share

    assert default_validation_share(40) == default_validation_share(1999) == 0.0
    assert default_validation_share(2000) == 0.1  # 200 pairs, the most it takes
    assert default_validation_share(20000) == pytest.approx(0.05)  # 1,000 pairs
    assert default_validation_share(114037) == 0.01  # CMUdict: 1,140 pairs


def test_training_holds_out_validation_pairs_by_default_sized_from_the_data(
        tiny_pairs, monkeypatch, capsys):
    from shorttext_s2s import catalog

    # As if 24 pairs were many: the rule, not the size, is what is tested at this scale.
    monkeypatch.setattr(catalog, "MIN_VALIDATION_PAIRS", 20)
    monkeypatch.setattr(catalog, "VALIDATION_PAIRS", 2)
    generator = _generator(tiny_pairs, network="lstm")
    history = generator.train_pairs(tiny_pairs, epochs=1, batch_size=8)
    assert history.selection.measure == "val_loss"  # keras-example, with validation pairs
    assert "model selection: validation loss on 2 pairs held out (0.0833 of 24)" in \
        capsys.readouterr().out
    # Said otherwise, nothing is held out.
    generator = _generator(tiny_pairs, network="lstm")
    assert generator.train_pairs(tiny_pairs, epochs=1, batch_size=8, verbose=0,
                                 validation_split=0).selection.measure == "loss"
    monkeypatch.setattr(catalog, "MIN_VALIDATION_PAIRS", 2000)
    generator = _generator(tiny_pairs, network="lstm")
    assert generator.train_pairs(tiny_pairs, epochs=1, batch_size=8,
                                 verbose=0).selection.measure == "loss"


def test_an_epoch_cut_by_the_budget_is_not_judged_by_its_few_batches():
    from types import SimpleNamespace

    from shorttext_s2s.training.selection import ModelSelection

    def run(losses, cut_after):
        s2s = SimpleNamespace(selection=None, weights_epoch=0)
        budget = SimpleNamespace(spent=False)
        selection = ModelSelection(SimpleNamespace(seq2seq=s2s), "loss", budget=budget)
        model = _FakeModel()
        selection.set_model(model)
        selection.set_params({"epochs": len(losses), "steps": 10})
        selection.on_train_begin()
        for epoch, loss in enumerate(losses):
            selection.on_epoch_begin(epoch)
            last = len(losses) - 1 == epoch
            for batch in range(cut_after if last else 10):
                selection.on_train_batch_end(batch)
            budget.spent = last
            model.weights = [np.full(1, epoch + 1.0)]
            s2s.weights_epoch = epoch + 1
            selection.on_epoch_end(epoch, {"loss": loss})
        selection.on_train_end()
        return s2s.selection.epoch

    # The third epoch ran 2 of its 10 batches, at the lowest learning rate: its loss is
    # lower, but it is no figure of an epoch.
    assert run([3.0, 2.0, 1.5], cut_after=2) == 2
    assert run([3.0, 2.0, 1.5], cut_after=10) == 3  # spent at its last batch: a whole epoch
    assert run([3.0], cut_after=2) == 1  # the only epoch there is


def test_only_the_measures_of_model_selection_select():
    from types import SimpleNamespace

    from shorttext_s2s.training.selection import ModelSelection, Selection

    with pytest.raises(ValueError, match="measure"):
        ModelSelection(SimpleNamespace(seq2seq=None), "val_bleu")
    with pytest.raises(ValueError, match="invalid selection"):
        Selection.from_config({"epoch": 2, "measure": "val_ser", "value": 0.1,
                               "val_loss": None})
