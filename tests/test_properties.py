"""Property-based tests: any Unicode string encodes and decodes; vocabularies round-trip.

"Any string" includes the empty one, whitespace, emoji, combining marks, control characters,
lone surrogates (``'\\udce9'`` is how Python keeps an undecodable byte) and very long text.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shorttext_s2s import (CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder,
                           loadCharBasedSeq2SeqGenerator)
from shorttext_s2s.encoder import PAD_ID, UNK_ID
from shorttext_s2s.saving.container import ModelFile, read_model_file, write_model_file

#: Every code point, surrogates included (Hypothesis leaves them out by default).
ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())
ODD = ["", " ", "   ", "\t", "\n", "\r\n", "\x00", "😀", "👩‍👩‍👧", "e\u0301", "\u0301",
       "\udce9", "\ud83d", "\ud83d\ude00", "\ufeff", "\u202e", "ﷺ", "a" * 10_000]
ANY_TEXT = st.one_of(st.text(ANY_CHAR, max_size=80), st.sampled_from(ODD),
                     st.lists(st.sampled_from(ODD), max_size=6).map("".join))
CHARSETS = st.sets(ANY_CHAR, min_size=1, max_size=40) | st.sets(st.sampled_from(
    ["\ud83d", "\ude00", "\udce9", "\u0301", "\t", "😀", "e", " ", "\x00"]), min_size=1)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _encoder(chars) -> SentenceToCharVecEncoder:
    return SentenceToCharVecEncoder(sorted(chars))


# --- encoding --------------------------------------------------------------------------------

@SETTINGS
@given(text=ANY_TEXT, chars=CHARSETS, maxlen=st.integers(2, 40), startsig=st.booleans(),
       endsig=st.booleans())
def test_any_string_encodes(text, chars, maxlen, startsig, endsig):
    encoder = _encoder(chars)
    ids = encoder.encode_ids(text, maxlen, startsig=startsig, endsig=endsig)
    assert ids.shape == (maxlen,) and ids.dtype == np.int32
    assert ids.min() >= 0 and ids.max() < len(encoder)
    used = min(len(text), maxlen - startsig - endsig) + startsig + endsig
    assert (ids[:used] != PAD_ID).all() and (ids[used:] == PAD_ID).all()
    if startsig:
        assert ids[0] == encoder.signal_id
    if endsig:
        assert ids[used - 1] == encoder.signal_id
    dense = encoder.encode_sentence(text, maxlen, startsig=startsig, endsig=endsig)
    assert dense.shape == (maxlen, len(encoder))
    assert np.array_equal(dense.argmax(axis=1)[:used], ids[:used])
    assert np.array_equal(dense.sum(axis=1), (ids != PAD_ID).astype(np.float32))
    batch = encoder.encode_sentences([text, text[::-1]], maxlen, startsig=startsig,
                                     endsig=endsig)
    assert np.array_equal(batch[0], ids)


@SETTINGS
@given(chars=CHARSETS, data=st.data(), extra=st.integers(0, 5))
def test_training_characters_round_trip(chars, data, extra):
    encoder = _encoder(chars)
    alphabet = [c for c in encoder.characters if c != encoder.signalchar]
    assume(alphabet)
    text = "".join(data.draw(st.lists(st.sampled_from(alphabet), max_size=30)))
    maxlen = len(text) + 1 + extra  # room for the text and the end signal
    assert encoder.decode_ids(encoder.encode_ids(text, maxlen, endsig=True)) == text


@SETTINGS
@given(text=ANY_TEXT, chars=CHARSETS)
def test_unseen_characters_decode_as_replacement_character(text, chars):
    encoder = _encoder(chars)
    text = text[:200].replace(encoder.signalchar, "")
    ids = encoder.encode_ids(text, len(text) + 1, endsig=True)
    expected = "".join(c if c in encoder.dictionary else "\ufffd" for c in text)
    assert encoder.decode_ids(ids) == expected
    assert all((i == UNK_ID) == (c not in encoder.dictionary) for i, c in zip(ids, text))


# --- vocabulary round trips ------------------------------------------------------------------

@SETTINGS
@given(chars=CHARSETS, signal=ANY_CHAR)
def test_vocabulary_round_trips_through_config(chars, signal):
    encoder = SentenceToCharVecEncoder(sorted(chars), signalchar=signal)
    again = SentenceToCharVecEncoder.from_config(encoder.get_config())
    assert again == encoder and again.dictionary == encoder.dictionary


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(chars=CHARSETS, signal=ANY_CHAR)
def test_vocabulary_round_trips_through_model_file(chars, signal, tmp_path):
    # The vocabulary is stored in the file's JSON description; lone surrogates must come back
    # as they were (a high and a low one must not merge into one character).
    encoder = SentenceToCharVecEncoder(sorted(chars), signalchar=signal)
    path = tmp_path / "vocabulary.h5"
    write_model_file(path, ModelFile(kind="Vocabulary", config={"encoder": encoder.get_config()},
                                     weights={}))
    again = SentenceToCharVecEncoder.from_config(read_model_file(path).config["encoder"])
    assert again == encoder and len(again) == len(encoder)


def test_odd_vocabulary_round_trips_through_generator_file(tmp_path):
    from tools.fuzz_loader import mark_trained

    chars = ["\ud83d", "\ude00", "😀", "\udce9", "e", "\u0301", "\t", " ", "\x00", "\u202e"]
    encoder = SentenceToCharVecEncoder(chars)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=4, maxlen=8, network="lstm")
    generator.compile()
    mark_trained(generator)
    path = tmp_path / "odd.h5"
    generator.save_compact_model(path)
    loaded = loadCharBasedSeq2SeqGenerator(path)
    assert loaded.encoder == encoder and len(loaded.encoder) == len(encoder)
    assert loaded.encoder.characters == encoder.characters
    for name in ("encoder_lstm", "decoder_lstm", "decoder_dense"):
        for saved, restored in zip(generator.seq2seq.model.get_layer(name).get_weights(),
                                   loaded.seq2seq.model.get_layer(name).get_weights()):
            assert np.array_equal(saved, restored)


def test_invalid_vocabulary_is_rejected_at_construction():
    for bad in (["ab"], [""], [3]):
        with pytest.raises(ValueError, match="single characters"):
            SentenceToCharVecEncoder(bad)
    with pytest.raises(ValueError, match="signalchar"):
        SentenceToCharVecEncoder("ab", signalchar="")


# --- decoding --------------------------------------------------------------------------------

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(ANY_TEXT, min_size=3, max_size=3), seed=st.integers(0, 2 ** 31 - 1))
def test_any_string_decodes(trained_generator, texts, seed):
    # Three texts a call: one compiled batch shape, so the examples test inputs, not compiles.
    maxlen = trained_generator.maxlen
    for strategy in ("greedy", "sample"):
        outputs = trained_generator.decode_batch(texts, strategy=strategy, seed=seed)
        assert len(outputs) == len(texts)
        for output in outputs:
            assert isinstance(output, str) and len(output) <= maxlen - 1
            assert trained_generator.encoder.signalchar not in output
    single = trained_generator.decode(texts[0], strategy="greedy")
    assert single == trained_generator.decode_batch(texts[:1])[0]
    assert isinstance(trained_generator.decode(texts[0], seed=seed), str)
