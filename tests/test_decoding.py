"""The compiled decoding engine against the Keras example's loop, and its strategies."""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest

from conftest import first_unique_pairs
from seed_reference import seed_decode, seed_decode_many, teacher_forced_log_probs
from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
from shorttext_s2s.decoding import (BeamSearchStrategy, GreedyStrategy, SamplingStrategy,
                                    clear_cache, engine, get_strategy, trace_count)


def _random_strings(count, seed=0):
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ !?.,'-0123456789éàçœ#@~{}"
    return [''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 45)))
            for _ in range(count)]


LONG = "Hello there, this sentence is much longer than the model's maxlen."
#: Empty, unseen characters only, longer than maxlen, and the same cut to maxlen - 1.
EDGE = ["", "\u4e2d\u6587\u5b57", LONG, LONG[:31]]


@pytest.fixture(scope="module")
def inputs(tiny_pairs):
    """~400 inputs: training sentences, other fra.txt sentences, random strings, edge cases."""
    others = [source for source, _ in first_unique_pairs(300, skip=len(tiny_pairs))]
    return [source for source, _ in tiny_pairs] + others + _random_strings(100) + EDGE


@pytest.fixture(scope="module")
def greedy_outputs(trained_generator, inputs):
    return trained_generator.decode_batch(inputs, strategy="greedy")


# --- greedy == the example's loop ------------------------------------------------------

def test_greedy_batch_equals_seed_loop_on_hundreds_of_inputs(trained_generator, inputs,
                                                             greedy_outputs, tiny_pairs):
    assert len(inputs) >= 400
    assert greedy_outputs == seed_decode_many(trained_generator, inputs)
    # The fixture model learnt its pairs; the decoder reproduces them.
    assert greedy_outputs[:len(tiny_pairs)] == [target for _, target in tiny_pairs]


@pytest.mark.xla  # what users run under TensorFlow, also in the fast loop
def test_single_sentence_equals_seed_loop_with_predict(trained_generator, tiny_pairs, inputs,
                                                      greedy_outputs):
    # predict() per character is slow: a training sentence and the unusual input with the
    # shortest output.
    unusual = min(range(len(tiny_pairs), len(inputs)), key=lambda i: len(greedy_outputs[i]))
    for text in (tiny_pairs[3][0], inputs[unusual]):
        assert trained_generator.decode(text, stochastic=False) == seed_decode(
            trained_generator, text)


# --- beam search -----------------------------------------------------------------------

def test_beam_width_one_equals_greedy(trained_generator, inputs, greedy_outputs):
    beam = trained_generator.decode_batch(inputs, strategy=get_strategy("beam", beam_width=1))
    assert beam == greedy_outputs


def test_beam_never_scores_below_greedy_and_reports_true_log_probs(trained_generator, inputs,
                                                                   greedy_outputs):
    texts, greedy = inputs[::4], greedy_outputs[::4]
    strategy = BeamSearchStrategy(beam_width=4, length_penalty=1.0)
    nbest_texts = texts[:3]  # short training inputs: one compiled shape
    nbest = [trained_generator.decode_nbest(text, beam_width=4, num_results=4)
             for text in nbest_texts]
    best = trained_generator.decode_batch(texts, strategy=strategy)
    best_lp, best_len = teacher_forced_log_probs(trained_generator, list(zip(texts, best)))
    greedy_lp, greedy_len = teacher_forced_log_probs(trained_generator,
                                                     list(zip(texts, greedy)))
    objective = strategy.objective
    assert np.all(objective(best_lp, best_len) >= objective(greedy_lp, greedy_len) - 1e-4)
    # On some inputs the beam finds a better output than greedy, which it then returns.
    assert np.any(objective(best_lp, best_len) > objective(greedy_lp, greedy_len) + 1e-3)
    for text, results in zip(nbest_texts, nbest):
        outputs = [output for output, _ in results]
        assert 1 <= len(results) <= 4 and len(set(outputs)) == len(outputs)
        expected_lp, lengths = teacher_forced_log_probs(trained_generator,
                                                        [(text, o) for o in outputs])
        np.testing.assert_allclose([lp for _, lp in results], expected_lp, rtol=1e-3,
                                   atol=1e-3)
        scores = objective(expected_lp, lengths)
        assert np.all(np.diff(scores) <= 1e-4)  # best first


# --- sampling --------------------------------------------------------------------------

def test_sampling_with_a_seed_repeats(trained_generator, inputs):
    texts = inputs[-100:]
    first = trained_generator.decode_batch(texts, strategy="sample", seed=7)
    assert trained_generator.decode_batch(texts, strategy="sample", seed=7) == first
    assert trained_generator.decode_batch(texts, strategy="sample", seed=8) != first
    one = trained_generator.decode(texts[0], seed=3)
    assert all(trained_generator.decode(texts[0], seed=3) == one for _ in range(3))


def test_global_seed_makes_unseeded_sampling_repeat(trained_generator, inputs):
    texts = inputs[-50:]
    keras.utils.set_random_seed(5)
    first = trained_generator.decode_batch(texts, strategy="sample")
    keras.utils.set_random_seed(5)
    assert trained_generator.decode_batch(texts, strategy="sample") == first


@pytest.mark.parametrize("options", [{"temperature": 1e-6}, {"temperature": 0.0},
                                     {"top_k": 1}])
def test_cold_or_top1_sampling_equals_greedy(trained_generator, inputs, greedy_outputs,
                                             options):
    sampler = SamplingStrategy(**options)
    assert trained_generator.decode_batch(inputs, strategy=sampler, seed=1) == greedy_outputs


def test_top_k_samples_only_among_the_k_most_likely(trained_generator):
    # With k=2 the first character is one of the two most likely first characters.
    s2s, encoder = trained_generator.seq2seq, trained_generator.encoder
    text = "Go."
    states = s2s.encoder_model.predict_on_batch(encoder.onehot(
        encoder.encode_ids(text, trained_generator.maxlen, endsig=True)[None, :4]))
    probs = np.asarray(s2s.decoder_model.predict_on_batch(
        [encoder.onehot([[encoder.signal_id]])] + list(states))[0])[0, -1]
    probs[:2] = -1
    allowed = {encoder.decode_ids([i]) or "" for i in np.argsort(probs)[-2:]}
    firsts = {out[:1] for out in trained_generator.decode_batch(
        [text] * 64, strategy=get_strategy("sample", top_k=2, temperature=5.0), seed=0)}
    assert firsts <= allowed and len(firsts) == 2


# --- edge inputs -----------------------------------------------------------------------

def test_edge_inputs_have_defined_results(trained_generator, greedy_outputs):
    maxlen = trained_generator.maxlen
    assert len(LONG) > maxlen and len(EDGE[3]) == maxlen - 1
    # greedy_outputs end with EDGE's, which the seed-loop test compares too.
    empty, unseen, long, cut = greedy_outputs[-len(EDGE):]
    assert long == cut  # cut to maxlen - 1 characters
    assert trained_generator.decode("", stochastic=False) == empty
    for strategy in ("sample", "beam"):
        for text in trained_generator.decode_batch(EDGE, strategy=strategy, seed=0):
            assert isinstance(text, str) and len(text) <= maxlen - 1
            assert "\ufffd" not in text and trained_generator.encoder.signalchar not in text
    for text in greedy_outputs:
        assert len(text) <= maxlen - 1 and "\ufffd" not in text


@pytest.mark.parametrize("call", [
    lambda g: g.decode(None), lambda g: g.decode(b"Hi."), lambda g: g.decode(["Hi."]),
    lambda g: g.decode(3), lambda g: g.decode(1.5),
    lambda g: g.decode_batch("Hi."), lambda g: g.decode_batch(["Hi.", 3]),
    lambda g: g.decode_batch(["ok", None]), lambda g: g.decode_batch(["ok", b"bytes"]),
    lambda g: g.decode_batch(5), lambda g: g.decode_nbest(1.5),
    lambda g: g.decode("Hi.", seed="7"), lambda g: g.decode("Hi.", seed=1.5)])
def test_non_text_input_raises_type_error(trained_generator, call):
    with pytest.raises(TypeError):
        call(trained_generator)


def test_empty_batch_and_order(trained_generator, greedy_outputs, inputs):
    assert trained_generator.decode_batch([]) == []
    assert trained_generator.decode_batch(inputs[5:0:-1]) == greedy_outputs[5:0:-1]


# --- compilation -----------------------------------------------------------------------

def test_same_bucket_reuses_the_compiled_function(trained_generator, tiny_pairs):
    texts = [source for source, _ in tiny_pairs]
    clear_cache()
    traces = trace_count()
    trained_generator.decode_batch(texts[:5])
    assert trace_count() == traces + 1
    # Same bucket (5-8 inputs of at most 16 ids) with an equal strategy object: no tracing.
    trained_generator.decode_batch(texts[5:12], strategy=GreedyStrategy())
    trained_generator.decode_batch(texts[:6])
    assert trace_count() == traces + 1
    trained_generator.decode_batch(texts[:9])  # a new batch bucket compiles once
    trained_generator.decode_batch(texts[1:10])
    assert trace_count() == traces + 2


def test_compacted_batches_decode_every_row_as_the_whole_batch_does(trained_generator, inputs,
                                                                   monkeypatch):
    # Rows still running when most have ended are carried on in smaller batches; each row's
    # output, score and length must be what one batch run to its longest output gives.
    input_ids = trained_generator.encoder.encode_sources(
        inputs[:256], trained_generator.maxlen, reverse=trained_generator.reverse_input)
    network, signal_id = trained_generator.seq2seq.network, \
        trained_generator.encoder.signal_id
    clear_cache()
    compacted = engine.decode_ids(network, input_ids, GreedyStrategy(), None, signal_id)
    assert any("resume" in key for key in engine._cache)  # rows were carried on
    monkeypatch.setattr(engine, "COMPACT_ROWS", 10 ** 6)
    whole = engine.decode_ids(network, input_ids, GreedyStrategy(), None, signal_id)
    np.testing.assert_array_equal(compacted.ids, whole.ids)
    np.testing.assert_array_equal(compacted.lengths, whole.lengths)
    np.testing.assert_allclose(compacted.log_probs, whole.log_probs, rtol=1e-5)


@pytest.mark.parametrize("strategy", [GreedyStrategy(), BeamSearchStrategy(beam_width=2)])
def test_chunks_sorted_by_length_give_each_input_its_own_output(trained_generator, inputs,
                                                                monkeypatch, strategy):
    # More inputs than one compiled call takes are decoded in chunks of like lengths; each
    # output must come back to its input, as when all are decoded in one call, in order.
    input_ids = trained_generator.encoder.encode_sources(
        inputs[:200], trained_generator.maxlen, reverse=trained_generator.reverse_input)
    network, signal_id = trained_generator.seq2seq.network, \
        trained_generator.encoder.signal_id
    rows = strategy.candidates_per_input()
    assert 200 <= engine._power_of_two(engine.MAX_ROWS // rows + 1) // 2  # one chunk
    in_order = engine.decode_ids(network, input_ids, strategy, None, signal_id)
    monkeypatch.setattr(engine, "MAX_ROWS", 64)
    sorted_chunks = engine.decode_ids(network, input_ids, strategy, None, signal_id)
    for field in ("ids", "lengths"):
        np.testing.assert_array_equal(getattr(sorted_chunks, field), getattr(in_order, field))
    np.testing.assert_allclose(sorted_chunks.log_probs, in_order.log_probs, rtol=1e-5, atol=1e-5)


def test_decoding_uses_the_current_weights_not_compiled_in_copies():
    encoder = SentenceToCharVecEncoder("ab")
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=4, maxlen=6, network="lstm")
    generator.seq2seq.set_weights(generator.seq2seq.network.build().model
                                       .get_weights())  # set by hand below
    dense = generator.seq2seq.model.get_layer("decoder_dense")
    kernel, bias = dense.get_weights()
    for char, expected in (("a", "aaaaa"), ("\n", ""), ("b", "bbbbb")):
        favoured = bias.copy()
        favoured[encoder.char_id(char)] = 50.0
        dense.set_weights([kernel * 0, favoured])
        assert generator.decode("ab", stochastic=False) == expected
    # Reserved ids are never emitted, however likely the model makes them.
    favoured = np.zeros_like(bias)
    favoured[:2] = 50.0
    favoured[encoder.char_id("a")] = 1.0
    dense.set_weights([kernel * 0, favoured])
    assert generator.decode("b", stochastic=False) == "aaaaa"


# --- strategy objects ------------------------------------------------------------------

def test_get_strategy_names_options_and_errors():
    assert get_strategy("greedy") == GreedyStrategy()
    assert get_strategy("sample", temperature=0.5, top_k=3).get_config() == {
        "temperature": 0.5, "top_k": 3}
    beam = get_strategy("beam", beam_width=3, num_results=2)
    assert isinstance(beam, BeamSearchStrategy) and get_strategy(beam) is beam
    with pytest.raises(ValueError, match="strategy"):
        get_strategy("nucleus")
    with pytest.raises(TypeError):
        get_strategy("greedy", temperature=1.0)
    with pytest.raises(TypeError):
        get_strategy(beam, beam_width=2)
    for bad in ({"temperature": -1.0}, {"temperature": float("nan")}, {"top_k": 0}):
        with pytest.raises(ValueError):
            SamplingStrategy(**bad)
    for bad in ({"beam_width": 0}, {"length_penalty": -0.5}, {"beam_width": 2, "num_results": 4}):
        with pytest.raises(ValueError):
            BeamSearchStrategy(**bad)


def test_the_keras_free_strategy_list_matches_the_classes():
    from shorttext_s2s.decoding import STRATEGIES
    from shorttext_s2s.catalog import STRATEGY_OPTIONS

    assert {name: tuple(cls().get_config()) for name, cls in STRATEGIES.items()} == \
        STRATEGY_OPTIONS
