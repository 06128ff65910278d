"""The character encoder: vocabulary, ids, one-hot tensors, unseen characters, file input."""

from __future__ import annotations

import io

import numpy as np
import pytest

from shorttext_s2s import InputDataError, SentenceToCharVecEncoder, initSentenceToCharVecEncoder
from shorttext_s2s.encoder import PAD_ID, UNK_ID

from conftest import under_one_backend


@pytest.fixture()
def encoder():
    return SentenceToCharVecEncoder("hello world")


def test_vocabulary_is_sorted_characters_after_reserved_ids(encoder):
    assert encoder.characters == sorted(set("hello world\n"))
    assert len(encoder) == len(encoder.characters) + 2
    assert sorted(encoder.dictionary.values()) == list(range(2, len(encoder)))


def test_round_trip_of_known_text(encoder):
    ids = encoder.encode_ids("hello", maxlen=10, startsig=True, endsig=True)
    assert ids[0] == encoder.signal_id
    assert ids[6] == encoder.signal_id
    assert list(ids[7:]) == [PAD_ID] * 3
    assert encoder.decode_ids(ids[1:]) == "hello"


def test_unseen_characters_map_to_unknown_never_keyerror(encoder):
    ids = encoder.encode_ids("Happy Holiday!", maxlen=20)
    assert ids[0] == UNK_ID  # 'H' was never seen
    assert (ids[:14] != PAD_ID).all()
    expected = "".join(c if c in "helo wrd" else "\ufffd" for c in "Happy Holiday!")
    assert encoder.decode_ids(ids) == expected


def test_long_sentence_is_cut_but_keeps_its_signals(encoder):
    ids = encoder.encode_ids("hello world", maxlen=5, startsig=True, endsig=True)
    assert ids[0] == ids[-1] == encoder.signal_id
    assert encoder.decode_ids(ids[1:]) == "hel"


def test_encode_sentence_is_one_hot_with_zero_padding(encoder):
    matrix = encoder.encode_sentence("he", maxlen=4, endsig=True)
    assert matrix.shape == (4, len(encoder))
    assert matrix.dtype == np.float32
    assert matrix.sum(axis=1).tolist() == [1.0, 1.0, 1.0, 0.0]
    assert matrix[0].argmax() == encoder.dictionary["h"]


def test_encode_sentences_sparse_and_dense_agree(encoder):
    sentences = ["hello", "", "world wide"]
    ids = encoder.encode_sentences(sentences, maxlen=8, endsig=True)
    dense = encoder.encode_sentences(sentences, maxlen=8, sparse=False, endsig=True)
    assert ids.shape == (3, 8) and ids.dtype == np.int32
    assert dense.shape == (3, 8, len(encoder))
    assert np.array_equal(encoder.onehot(ids), dense)
    assert [encoder.decode_ids(row) for row in ids] == ["hello", "", "world w"]


def test_encode_sentences_rejects_a_single_string(encoder):
    with pytest.raises(TypeError, match="sequence of strings"):
        encoder.encode_sentences("hello", maxlen=8)


@pytest.mark.parametrize("maxlen", [0, -1, 2.5, "3", True])
def test_invalid_maxlen_is_named(encoder, maxlen):
    with pytest.raises(ValueError, match="maxlen"):
        encoder.encode_ids("hi", maxlen=maxlen)


def test_invalid_signal_character():
    with pytest.raises(ValueError, match="signalchar"):
        SentenceToCharVecEncoder("abc", signalchar="\t\t")


def test_config_round_trip(encoder):
    assert SentenceToCharVecEncoder.from_config(encoder.get_config()) == encoder


def test_init_from_path_reads_the_file_not_the_path_string(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("Bonjour tout le monde\nÇa va ?\n", encoding="utf-8")
    for source in (path, str(path)):
        encoder = initSentenceToCharVecEncoder(source)
        assert set(encoder.characters) == set("Bonjour tout le monde" + "Ça va ?" + "\n")
        assert "/" not in encoder.characters


def test_init_from_open_file_and_from_lines(tmp_path):
    lines = ["abc", "cde"]
    assert initSentenceToCharVecEncoder(io.StringIO("abc\ncde\n")) == \
        initSentenceToCharVecEncoder(lines)


def test_init_honours_the_encoding(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café\n".encode("latin-1"))
    assert "é" in initSentenceToCharVecEncoder(path, encoding="latin-1").characters
    with pytest.raises(InputDataError, match=r"latin1\.txt, line 1.*utf-8"):
        initSentenceToCharVecEncoder(path)


def test_init_from_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputDataError, match="nope.txt"):
        initSentenceToCharVecEncoder(str(missing))


def test_init_from_empty_text_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputDataError, match="empty.txt"):
        initSentenceToCharVecEncoder(path)


@pytest.mark.slow
@under_one_backend("what a process imports")
def test_reading_and_encoding_data_does_not_import_keras():
    # Data preparation stays light: Keras (and its backend) load only when a model is used.
    import subprocess
    import sys

    from conftest import REPO

    code = ("import sys, shorttext_s2s as s\n"
            "s.SentenceToCharVecEncoder('abc').encode_sentences(['ab'], 4)\n"
            "assert 'keras' not in sys.modules, 'keras imported'\n"
            "assert s.CharBasedSeq2SeqGenerator.__name__ == 'CharBasedSeq2SeqGenerator'\n"
            "assert 'keras' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=300)


@pytest.mark.parametrize("texts", [[], [""], ["", ""]])
def test_a_vocabulary_of_nothing_is_refused(texts):
    with pytest.raises(InputDataError, match="no characters to build a vocabulary"):
        SentenceToCharVecEncoder.from_texts(texts)
