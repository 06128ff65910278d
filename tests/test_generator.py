"""CharBasedSeq2SeqGenerator end to end: training data, training, greedy decoding, aliases."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from shorttext_s2s import (CharBasedSeq2SeqGenerator, InputDataError, ModelNotTrainedException,
                           SentenceToCharVecEncoder)


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
