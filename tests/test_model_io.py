"""Saving and loading: round trips, both backends, untrained models, bad files, interruptions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile

import h5py
import keras
import numpy as np
import pytest

from shorttext_s2s import (CharBasedSeq2SeqGenerator, ModelFileError, ModelFileNotFoundError,
                           ModelNotTrainedException, Seq2SeqWithKeras, SentenceToCharVecEncoder,
                           loadCharBasedSeq2SeqGenerator, loadSeq2SeqWithKeras)
from shorttext_s2s.saving.container import FORMAT_VERSION, read_model_file, write_model_file
from shorttext_s2s.catalog import MODEL_SUFFIX

from conftest import REPO


def _probabilities(generator, texts):
    """The training model's softmax outputs under teacher forcing: a bit-level fingerprint."""
    pairs = [(text, text) for text in texts]
    ids = generator.encode_pairs(pairs)
    encoder_input, decoder_input = (generator.encoder.onehot(part) for part in ids[:2])
    return np.asarray(generator.seq2seq.model.predict_on_batch([encoder_input,
                                                                     decoder_input]))


def _all_weights(generator):
    return [np.asarray(w) for w in generator.seq2seq.model.get_weights()]


@pytest.fixture(scope="module")
def saved_model(trained_generator, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "fra.h5"
    trained_generator.save_compact_model(path)
    return path


# --- files written by release 0.1.0 ---------------------------------------------------------

V010 = REPO / "tests" / "data"
V010_OUTPUTS = json.loads((V010 / "v010_outputs.json").read_text(encoding="utf-8"))


@pytest.mark.xla  # 0.1.0 recorded its samples with XLA's random numbers
@pytest.mark.parametrize("name", ["v010_lstm", pytest.param("v010_bilstm", marks=pytest.mark.slow)])
def test_files_of_release_0_1_0_load_and_decode_as_they_did(name, tmp_path):
    expected = V010_OUTPUTS[name]
    inputs = V010_OUTPUTS["inputs"]
    loaded = loadCharBasedSeq2SeqGenerator(V010 / f"{name}.h5")
    assert (loaded.get_config()["bidirectional"], loaded.reverse_input) == (
        expected["bidirectional"], expected["reverse_input"])
    assert loaded.epochs_trained == expected["epochs_trained"]
    assert loaded.decode_batch(inputs) == expected["greedy"]
    assert loaded.decode_batch(inputs, strategy="sample", seed=5) == \
        expected[f"sample_{keras.backend.backend()}"]
    beam = loaded.decode_nbest("three", beam_width=3, num_results=3)
    assert [text for text, _ in beam] == [text for text, _ in expected["beam"]]
    np.testing.assert_allclose([score for _, score in beam],
                               [score for _, score in expected["beam"]], rtol=1e-4)
    # Saved again, it is written in the current format, each setting once.
    loaded.save_compact_model(tmp_path / "again.h5")
    contents = read_model_file(tmp_path / "again.h5")
    assert contents.version == FORMAT_VERSION
    assert set(contents.config["generator"]) == {"maxlen", "reverse_input"}
    assert "final" not in contents.config
    assert loadCharBasedSeq2SeqGenerator(tmp_path / "again.h5").decode_batch(inputs) == \
        expected["greedy"]


def test_a_0_1_0_file_whose_generator_and_model_disagree_is_refused(tmp_path):
    contents = read_model_file(V010 / "v010_lstm.h5")
    assert contents.version == 1  # and written back as such
    contents.config["generator"]["bidirectional"] = True  # the weights are unidirectional
    write_model_file(tmp_path / "mixed.h5", contents)
    with pytest.raises(ModelFileError, match="a setting does not match"):
        loadCharBasedSeq2SeqGenerator(tmp_path / "mixed.h5")


# --- round trips -------------------------------------------------------------------------

def test_compact_round_trip_gives_identical_outputs(trained_generator, tiny_pairs, saved_model):
    loaded = loadCharBasedSeq2SeqGenerator(saved_model)
    sources = [source for source, _ in tiny_pairs]
    assert loaded.encoder == trained_generator.encoder
    assert (loaded.latent_dim, loaded.maxlen) == (trained_generator.latent_dim,
                                                  trained_generator.maxlen)
    for original, restored in zip(_all_weights(trained_generator), _all_weights(loaded)):
        assert np.array_equal(original, restored)
    assert np.array_equal(_probabilities(loaded, sources),
                          _probabilities(trained_generator, sources))
    assert loaded.decode_batch(sources) == trained_generator.decode_batch(sources)


def test_savemodel_and_loadmodel_with_a_prefix(trained_generator, tiny_pairs, tmp_path):
    prefix = tmp_path / "run1"
    written = trained_generator.savemodel(prefix)
    assert written == str(prefix) + MODEL_SUFFIX and os.path.exists(written)
    fresh = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("x"), latent_dim=8, maxlen=4)
    fresh.loadmodel(prefix)
    sources = [source for source, _ in tiny_pairs]
    assert fresh.decode_batch(sources) == trained_generator.decode_batch(sources)
    assert loadCharBasedSeq2SeqGenerator(prefix, compact=False).decode_batch(sources) == \
        fresh.decode_batch(sources)


def test_non_final_file_keeps_optimizer_state_so_training_continues(trained_generator,
                                                                    saved_model, tiny_pairs):
    loaded = loadCharBasedSeq2SeqGenerator(saved_model)
    original = trained_generator.seq2seq.model.optimizer
    restored = loaded.seq2seq.model.optimizer
    assert type(restored) is type(original)
    assert [np.asarray(v).tolist() for v in restored.variables[:1]] == \
        [np.asarray(v).tolist() for v in original.variables[:1]]  # iterations
    for a, b in zip(original.variables, restored.variables):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    history = loaded.train_pairs(tiny_pairs, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_final_file_has_no_optimizer_state_but_decodes(trained_generator, tiny_pairs, tmp_path):
    final_path = tmp_path / "final.h5"
    full_path = tmp_path / "full.h5"
    trained_generator.save_compact_model(final_path, final=True)
    trained_generator.save_compact_model(full_path)
    with h5py.File(final_path, "r") as h5:
        assert "optimizer" not in h5
    assert os.path.getsize(final_path) < os.path.getsize(full_path)
    sources = [source for source, _ in tiny_pairs]
    assert loadCharBasedSeq2SeqGenerator(final_path).decode_batch(sources) == \
        trained_generator.decode_batch(sources)


def test_seq2seq_with_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(7)
    s2s = Seq2SeqWithKeras(vecsize=6, latent_dim=4, network="lstm")
    rng = np.random.default_rng(0)
    s2s.prepare_model()
    s2s.set_weights([rng.normal(size=w.shape).astype("float32")
                     for w in s2s.model.get_weights()])
    s2s.savemodel(tmp_path / "s2s")
    restored = loadSeq2SeqWithKeras(tmp_path / "s2s", compact=False)
    assert restored.get_config() == {"network": "lstm", "vecsize": 6, "latent_dim": 4,
                                     "bidirectional": False}
    for a, b in zip(s2s.model.get_weights(), restored.model.get_weights()):
        assert np.array_equal(a, b)
    other = Seq2SeqWithKeras(vecsize=6, latent_dim=4, network="lstm")
    other.loadmodel(tmp_path / "s2s")
    for a, b in zip(s2s.model.get_weights(), other.model.get_weights()):
        assert np.array_equal(a, b)
    with pytest.raises(ModelFileError, match="latent_dim"):
        Seq2SeqWithKeras(vecsize=6, latent_dim=5, network="lstm").loadmodel(tmp_path / "s2s")


@pytest.mark.slow
def test_file_written_under_one_backend_loads_under_the_other(trained_generator, tiny_pairs,
                                                              saved_model, tmp_path):
    here = keras.config.backend()
    other = "jax" if here == "tensorflow" else "tensorflow"
    resaved = tmp_path / f"resaved-by-{other}.h5"
    sources = [source for source, _ in tiny_pairs]
    script = (
        "import json, sys, keras, shorttext_s2s as s\n"
        "assert keras.config.backend() == sys.argv[1]\n"
        "g = s.loadCharBasedSeq2SeqGenerator(sys.argv[2])\n"
        "g.save_compact_model(sys.argv[3])\n"
        "print(json.dumps(g.decode_batch(json.loads(sys.argv[4]))))\n")
    env = dict(os.environ, KERAS_BACKEND=other, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", script, other, str(saved_model), str(resaved),
                             json.dumps(sources)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    decoded_there = json.loads(result.stdout.strip().splitlines()[-1])
    assert decoded_there == trained_generator.decode_batch(sources)
    back = loadCharBasedSeq2SeqGenerator(resaved)
    for a, b in zip(_all_weights(back), _all_weights(trained_generator)):
        assert np.array_equal(a, b)
    assert back.decode_batch(sources) == decoded_there


def test_saved_file_gets_ordinary_permissions(trained_generator, tmp_path):
    path = tmp_path / "model.h5"
    trained_generator.save_compact_model(path, final=True)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    trained_generator.save_compact_model(path, final=True)  # replacing keeps the file's mode
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


# --- untrained models --------------------------------------------------------------------

@pytest.mark.parametrize("final", [False, True])
def test_every_save_of_an_untrained_model_raises(tmp_path, final):
    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), 8, 8)
    generator.compile()
    s2s = Seq2SeqWithKeras(4, 4)
    saves = [lambda: generator.savemodel(tmp_path / "g", final=final),
             lambda: generator.save_compact_model(tmp_path / "g.h5", final=final),
             lambda: s2s.savemodel(tmp_path / "s", final=final),
             lambda: s2s.save_compact_model(tmp_path / "s.h5", final=final)]
    for save in saves:
        with pytest.raises(ModelNotTrainedException):
            save()
    assert os.listdir(tmp_path) == []


# --- bad files ---------------------------------------------------------------------------

def _flip_a_weight_byte(path):
    with h5py.File(path, "r") as h5:
        offset = h5["weights/decoder_dense/0"].id.get_offset()
    with open(path, "r+b") as handle:
        handle.seek(offset + 5)
        byte = handle.read(1)
        handle.seek(offset + 5)
        handle.write(bytes([byte[0] ^ 0x10]))


def _set_attr(name, value):
    def mutate(path):
        with h5py.File(path, "r+") as h5:
            h5.attrs[name] = value
    return mutate


def _truncate(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)


def _overwrite(content: bytes):
    def mutate(path):
        with open(path, "wb") as handle:
            handle.write(content)
    return mutate


def _other_hdf5(path):
    os.unlink(path)
    with h5py.File(path, "w") as h5:
        h5["model_weights/dense/kernel"] = np.zeros((3, 3))


def _zip(path):
    os.unlink(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")


def _directory(path):
    os.unlink(path)
    os.mkdir(path)


BAD_FILES = {
    "truncated": (_truncate, "damaged or truncated"),
    "flipped byte": (_flip_a_weight_byte, "corrupted"),
    "unknown version": (_set_attr("format_version", 99), "version 99"),
    "other format name": (_set_attr("format", "something_else"), "another layout"),
    "empty": (_overwrite(b""), "not an HDF5 file"),
    "text": (_overwrite(b"hello\tbonjour\n"), "not an HDF5 file"),
    "other HDF5 layout": (_other_hdf5, "another layout"),
    "zip": (_zip, "not an HDF5 file"),
    "directory": (_directory, "directory"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_raises_the_library_error_with_the_path(saved_model, tmp_path, case):
    mutate, reason = BAD_FILES[case]
    path = tmp_path / "bad.h5"
    path.write_bytes(saved_model.read_bytes())
    mutate(path)
    with pytest.raises(ModelFileError, match=reason) as caught:
        loadCharBasedSeq2SeqGenerator(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path):
    missing = tmp_path / "missing.h5"
    with pytest.raises(ModelFileNotFoundError, match="missing.h5") as caught:
        loadCharBasedSeq2SeqGenerator(missing)
    assert isinstance(caught.value, FileNotFoundError)


def test_file_of_another_kind(tmp_path, saved_model):
    with pytest.raises(ModelFileError, match="holds a CharBasedSeq2SeqGenerator"):
        loadSeq2SeqWithKeras(saved_model)


# --- interrupted saves -------------------------------------------------------------------

def test_save_interrupted_by_an_exception_keeps_the_earlier_file(trained_generator, tiny_pairs,
                                                                 saved_model, tmp_path,
                                                                 monkeypatch):
    path = tmp_path / "model.h5"
    path.write_bytes(saved_model.read_bytes())
    before = path.read_bytes()
    calls = {"n": 0}
    real_create = h5py.Group.create_dataset

    def failing_create(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("interrupted mid-save")
        return real_create(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing_create)
    with pytest.raises(KeyboardInterrupt):
        trained_generator.save_compact_model(path, final=True)
    monkeypatch.undo()
    assert calls["n"] == 4
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.h5"]  # no temporary file left behind
    sources = [source for source, _ in tiny_pairs]
    assert loadCharBasedSeq2SeqGenerator(path).decode_batch(sources) == \
        [target for _, target in tiny_pairs]
