"""CharBasedSeq2SeqGenerator end to end: training data, training, greedy decoding, aliases."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

from shorttext_s2s import (CharBasedSeq2SeqGenerator, InputDataError, ModelNotTrainedException,
                           SentenceToCharVecEncoder, loadCharBasedSeq2SeqGenerator)


def test_trained_model_reproduces_its_pairs_under_argmax(trained_generator, tiny_pairs):
    sources = [source for source, _ in tiny_pairs]
    assert trained_generator.decode_batch(sources) == [target for _, target in tiny_pairs]
    source, target = tiny_pairs[3]
    assert trained_generator.decode(source, stochastic=False) == target


def test_decode_with_unseen_characters_returns_text(trained_generator):
    text = "Happy Holiday, Zoë! ☃"
    assert set("Zë,☃").isdisjoint(trained_generator.encoder.characters)
    for stochastic in (False, True):
        reply = trained_generator.decode(text, stochastic=stochastic)
        assert isinstance(reply, str)
        assert len(reply) <= trained_generator.maxlen - 1
        assert "\n" not in reply


def test_prepare_trainingdata_pairs_each_line_with_the_next():
    encoder = SentenceToCharVecEncoder("abcdefgh ?!")
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=10)
    lines = ["ab cd?", "efg!", "", "hh"]
    encoder_input, decoder_input, decoder_output = generator.prepare_trainingdata(lines)
    assert encoder_input.shape == decoder_input.shape == decoder_output.shape == (2, 10,
                                                                                  len(encoder))
    def text(onehot_rows):
        return encoder.decode_ids(np.where(onehot_rows.any(axis=-1), onehot_rows.argmax(-1), 0))
    assert [text(m) for m in encoder_input] == ["ab cd?", "efg!"]
    assert [text(m) for m in decoder_output] == ["efg!", "hh"]
    assert [text(m[1:]) for m in decoder_input] == ["efg!", "hh"]
    assert all(m[0].argmax() == encoder.signal_id for m in decoder_input)
    # Teacher forcing: the decoder input is the output shifted right by one step.
    assert np.array_equal(decoder_input[0, 1:5], decoder_output[0, 0:4])
    assert np.array_equal(decoder_input[1, 1:3], decoder_output[1, 0:2])


def test_conversation_training_on_a_text(tiny_pairs):
    text = "\n".join(source for source, _ in tiny_pairs[:6])
    encoder = SentenceToCharVecEncoder.from_texts(text.splitlines())
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=16)
    history = generator.train(text, epochs=2, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 2
    assert generator.trained


def test_conversation_needs_two_lines():
    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), 8, 8)
    with pytest.raises(InputDataError, match="at least two"):
        generator.train(["only one line", "  "], epochs=1)


def test_untrained_generator_cannot_decode():
    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), 8, 8)
    with pytest.raises(ModelNotTrainedException):
        generator.decode("ab")


@pytest.mark.parametrize("bad", [None, 3, ["a"], b"bytes"])
def test_decode_rejects_non_text(trained_generator, bad):
    with pytest.raises(TypeError):
        trained_generator.decode(bad)


def test_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="SentenceToCharVecEncoder"):
        CharBasedSeq2SeqGenerator("path/to/corpus.txt", 8, 8)
    with pytest.raises(ValueError, match="maxlen"):
        CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), 8, 1)
    with pytest.raises(ValueError, match="latent_dim"):
        CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), 0, 8)


@pytest.mark.parametrize("module, name", [
    ("shorttext_s2s.generators", "SentenceToCharVecEncoder"),
    ("shorttext_s2s.generators", "CharBasedSeq2SeqGenerator"),
    ("shorttext_s2s.generators.charbase.char2vec", "initSentenceToCharVecEncoder"),
    ("shorttext_s2s.generators.seq2seq.charbaseS2S", "CharBasedSeq2SeqGenerator"),
    ("shorttext_s2s.generators.seq2seq.charbaseS2S", "loadCharBasedSeq2SeqGenerator"),
    ("shorttext_s2s.generators.seq2seq.s2skeras", "Seq2SeqWithKeras"),
])
def test_shorttext_qualified_names_resolve_to_the_library(module, name):
    import shorttext_s2s

    assert getattr(importlib.import_module(module), name) is getattr(shorttext_s2s, name)


# --- reversed inputs -----------------------------------------------------------------------

def test_reverse_input_encodes_sources_backwards_and_targets_as_they_are(trained_generator):
    encoder, maxlen = trained_generator.encoder, trained_generator.maxlen
    pairs = [("Hi.", "Salut !"), ("x" * 40 + "ab", "c")]
    forward = encoder.encode_pairs(pairs, maxlen)
    backward = encoder.encode_pairs(pairs, maxlen, reverse_input=True)
    # The input is cut to maxlen - 1 characters first, then read backwards, signal last.
    expected = encoder.encode_sentences([s[:maxlen - 1][::-1] for s, _ in pairs], maxlen,
                                        endsig=True)
    np.testing.assert_array_equal(backward[0], expected)
    assert backward[0][0, 3] == encoder.signal_id
    for forward_ids, backward_ids in zip(forward[1:], backward[1:]):
        np.testing.assert_array_equal(forward_ids, backward_ids)


def test_reverse_input_decodes_what_the_same_weights_decode_from_the_reversed_text(
        trained_generator):
    backwards = CharBasedSeq2SeqGenerator(trained_generator.encoder,
                                          trained_generator.latent_dim,
                                          trained_generator.maxlen, reverse_input=True,
                                          network=trained_generator.network_name)
    backwards.seq2seq = trained_generator.seq2seq  # the same weights
    room = trained_generator.maxlen - 1
    texts = ["Hi.", "Run!", "", "Who are you, really?" * 3]
    assert backwards.decode_batch(texts) == trained_generator.decode_batch(
        [text[:room][::-1] for text in texts])


@pytest.mark.slow
def test_reverse_input_is_saved_with_the_model(tiny_pairs, tmp_path):
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in tiny_pairs)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=32,
                                          reverse_input=True)
    generator.train_pairs(tiny_pairs[:8], epochs=1, batch_size=8, verbose=0)
    generator.save_compact_model(tmp_path / "backwards.h5")
    loaded = loadCharBasedSeq2SeqGenerator(tmp_path / "backwards.h5")
    assert loaded.reverse_input is True
    inputs = [source for source, _ in tiny_pairs[:4]]
    assert loaded.decode_batch(inputs) == generator.decode_batch(inputs)


def test_reverse_input_must_be_a_bool(trained_generator):
    with pytest.raises(TypeError, match="reverse_input"):
        CharBasedSeq2SeqGenerator(trained_generator.encoder, 16, 32, reverse_input="yes")


# --- bidirectional encoder -------------------------------------------------------------------

@pytest.fixture(scope="module")
def bidirectional_generator(tiny_pairs):
    keras.utils.set_random_seed(1234)
    encoder = SentenceToCharVecEncoder.from_texts([s + t for s, t in tiny_pairs])
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=32, maxlen=32, network="lstm",
                                          bidirectional=True)
    generator.compile(optimizer=keras.optimizers.Adam(0.02))
    generator.train_pairs(tiny_pairs, epochs=120, batch_size=8, verbose=0, seed=0)
    return generator


@pytest.mark.slow
def test_bidirectional_model_learns_its_pairs(bidirectional_generator, tiny_pairs):
    s2s = bidirectional_generator.seq2seq
    assert [tuple(w.shape) for w in s2s.model.get_layer("encoder_lstm_backward").get_weights()] \
        == [(len(bidirectional_generator.encoder), 64), (16, 64), (64,)]
    sources = [source for source, _ in tiny_pairs]
    assert bidirectional_generator.decode_batch(sources) == [target for _, target in tiny_pairs]


@pytest.mark.slow
def test_bidirectional_compiled_encoder_matches_keras_and_ignores_padding(
        bidirectional_generator):
    generator = bidirectional_generator
    texts = ["Hi.", "Run!", "Who are you?", ""]
    states = []
    for maxlen in (20, 32):  # the same texts padded to two lengths
        ids = generator.encoder.encode_sentences(texts, maxlen, endsig=True).astype(np.int32)
        keras_h, keras_c = generator.seq2seq.encoder_model.predict_on_batch(
            generator.encoder.onehot(ids))
        network = generator.seq2seq.network
        _, (h, c) = network.encode(network.inference_weights(), keras.ops.convert_to_tensor(ids))
        np.testing.assert_allclose(np.asarray(h), keras_h, atol=1e-5)
        np.testing.assert_allclose(np.asarray(c), keras_c, atol=1e-5)
        states.append(np.asarray(h))
    np.testing.assert_allclose(states[0], states[1], atol=1e-6)


@pytest.mark.slow
def test_bidirectional_is_saved_with_the_model(bidirectional_generator, tmp_path):
    bidirectional_generator.save_compact_model(tmp_path / "bi.h5")
    loaded = loadCharBasedSeq2SeqGenerator(tmp_path / "bi.h5")
    assert loaded.get_config()["bidirectional"] is True
    inputs = ["Hi.", "Run!", "Who?"]
    assert loaded.decode_batch(inputs) == bidirectional_generator.decode_batch(inputs)


def test_bidirectional_needs_a_bool_and_an_even_latent_dim(trained_generator):
    with pytest.raises(TypeError, match="bidirectional"):
        CharBasedSeq2SeqGenerator(trained_generator.encoder, 16, 32, network="lstm",
                                  bidirectional="yes")
    with pytest.raises(ValueError, match="even"):
        CharBasedSeq2SeqGenerator(trained_generator.encoder, 15, 32, network="lstm",
                                  bidirectional=True)
