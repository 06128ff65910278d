"""Exported decoders: a SavedModel answers what the library answers, for every network and
both exported strategies, and loads where neither Keras nor the library can be imported."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import keras
import numpy as np
import pytest

from shorttext_s2s import CharBasedSeq2SeqGenerator, InputWarning, SentenceToCharVecEncoder
from shorttext_s2s.decoding import BeamSearchStrategy
from shorttext_s2s.exceptions import ExportError, ModelNotTrainedException
from shorttext_s2s.export import export_model

from conftest import TEST_XLA, first_unique_pairs
from test_units import INFLECTION

tensorflow_only = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="a SavedModel is exported under TensorFlow")
#: The inputs compared: the test pairs' sources, made-up sentences, and inputs the models
#: do not read as given (empty, unseen characters, longer than maxlen).
INPUTS = ([source for source, _ in first_unique_pairs(400)]
          + ["", "Zut☃!", "Go. " * 30, "  ", "é"])
BEAM = BeamSearchStrategy(beam_width=3)


def _train(network: str, pairs, reverse_input: bool = False,
           **encoder_options) -> CharBasedSeq2SeqGenerator:
    keras.utils.set_random_seed(1)
    encoder = SentenceToCharVecEncoder.from_pairs(pairs, **encoder_options)
    options = {"embedding_dim": 8} if network == "attention" else {}
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16,
                                          maxlen=encoder.maxlen_for(pairs) + 2,
                                          network=network, reverse_input=reverse_input,
                                          **options)
    generator.train_pairs(pairs, batch_size=8, epochs=2, verbose=0)
    return generator


def _load(path: Path):
    import tensorflow as tf

    return tf.saved_model.load(str(path)).signatures["serving_default"]


def _answer(serving, texts: List[str], features: Optional[List[str]] = None) -> dict:
    import tensorflow as tf

    inputs = {"texts": tf.constant(texts, tf.string)}
    if features is not None:
        inputs["features"] = tf.constant(features, tf.string)
    return {name: value.numpy() for name, value in serving(**inputs).items()}


def _texts(values: np.ndarray) -> list:
    return np.vectorize(lambda value: value.decode("utf-8"), otypes=[object])(values).tolist()


def _distinct(texts: List[str], scores: List[float]) -> list:
    """The library's n best: distinct texts, possible ones, best first."""
    found: list = []
    for text, score in zip(texts, scores):
        if math.isfinite(score) and text not in [seen for seen, _ in found]:
            found.append((text, score))
    return found


def _check_equal(generator, path: Path, texts: List[str],
                 features: Optional[List[str]] = None, scored: int = 40) -> None:
    """The export's outputs are the library's on every text; its candidates and their
    log-probabilities are the library's n best on the first ``scored``."""
    answer = _answer(_load(path), texts, features)
    beam = "nbest" in answer
    width = BEAM.beam_width if beam else 1
    outputs = _texts(answer["outputs"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)  # the unusual inputs are on purpose
        assert outputs == generator.decode_batch(texts, strategy=BEAM if beam else "greedy",
                                                 features=features)
        for index, text in enumerate(texts[:scored]):
            library = generator.decode_nbest(
                text, beam_width=width, num_results=width + 1,
                features=None if features is None else features[index])
            if beam:
                exported = _distinct(_texts(answer["nbest"][index]),
                                     answer["nbest_log_probs"][index].tolist())
            else:
                exported, library = [(outputs[index], answer["log_probs"][index])], library[:1]
            assert [found for found, _ in exported] == [found for found, _ in library]
            np.testing.assert_allclose([score for _, score in exported],
                                       [score for _, score in library], atol=1e-4)


@pytest.fixture(scope="module", params=["lstm", "attention", "transformer"])
def network_model(request):
    return _train(request.param, first_unique_pairs(48), reverse_input=request.param == "lstm")


@tensorflow_only
@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_every_network_exports_and_answers_as_the_library(network_model, strategy, tmp_path):
    path = tmp_path / "exported"
    written = network_model.export(path, strategy=BEAM if strategy == "beam" else strategy,
                                   jit_compile=TEST_XLA)
    assert written == str(path) and (path / "saved_model.pb").is_file()
    # Only the finished directory is there: nothing half-written beside it.
    assert [entry.name for entry in tmp_path.iterdir()] == ["exported"]
    _check_equal(network_model, path, INPUTS)


@tensorflow_only
@pytest.mark.slow
def test_units_and_features_are_encoded_and_joined_inside_the_graph(tmp_path):
    pairs = [(lemma, " ".join(form), tags) for lemma, form, tags in INFLECTION] * 4
    generator = _train("attention", pairs, reverse_input=True, target_sep=" ")
    lemmas = [lemma for lemma, _, _ in INFLECTION] + ["sing", "sinking", "", "xyz"]
    tags = [tag for _, _, tag in INFLECTION] + ["V;PST;PL", "", "V;PST", "N;PST;V"]
    for strategy in ("greedy", BEAM):
        path = tmp_path / f"exported-{len(os.listdir(tmp_path))}"
        export_model(generator, path, strategy=strategy, jit_compile=TEST_XLA)
        _check_equal(generator, path, lemmas, tags)


@tensorflow_only
@pytest.mark.slow
def test_the_export_loads_with_tensorflow_alone(trained_generator, tmp_path):
    path = tmp_path / "exported"
    trained_generator.export(path, strategy="beam")
    texts = INPUTS[:20]
    # Keras and the library cannot be imported in the process that loads it.
    code = ("import json, sys\n"
            "sys.modules['keras'] = sys.modules['shorttext_s2s'] = None\n"
            "import tensorflow as tf\n"
            f"serving = tf.saved_model.load({str(path)!r}).signatures['serving_default']\n"
            f"answer = serving(texts=tf.constant({texts!r}))\n"
            "print(json.dumps([x.decode('utf-8') for x in answer['outputs'].numpy()]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == \
        trained_generator.decode_batch(texts, strategy=BeamSearchStrategy())


def test_what_cannot_be_exported_is_refused_with_the_reason(trained_generator, tmp_path):
    with pytest.raises(ExportError, match="random stream"):
        export_model(trained_generator, tmp_path / "a", strategy="sample")
    with pytest.raises(ExportError, match="format"):
        export_model(trained_generator, tmp_path / "a", format="tflite")
    untrained = CharBasedSeq2SeqGenerator(trained_generator.encoder, latent_dim=8, maxlen=8)
    with pytest.raises(ModelNotTrainedException):
        export_model(untrained, tmp_path / "a")
    if keras.backend.backend() != "tensorflow":
        with pytest.raises(ExportError, match="KERAS_BACKEND=tensorflow"):
            export_model(trained_generator, tmp_path / "a")
    else:
        (tmp_path / "taken").mkdir()
        with pytest.raises(ExportError, match="already exists"):
            export_model(trained_generator, tmp_path / "taken")
    assert sorted(entry.name for entry in tmp_path.iterdir()) == \
        ([] if keras.backend.backend() != "tensorflow" else ["taken"])


@pytest.mark.slow
def test_the_export_command(model_file, trained_generator, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def export(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "shorttext_s2s", "export", *args],
                              capture_output=True, text=True, env=env, timeout=600)

    out = tmp_path / "beam"
    misplaced = export(str(model_file), str(out), "--beam-width", "3")
    assert misplaced.returncode == 2 and "--beam-width applies to --strategy beam" in \
        misplaced.stderr
    done = export(str(model_file), str(out), "--strategy", "beam", "--beam-width", "3")
    if keras.backend.backend() != "tensorflow":
        assert done.returncode == 1 and "KERAS_BACKEND=tensorflow" in done.stderr
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"exported {model_file} (beam) to {out}"
    answer = _answer(_load(out), INPUTS[:8])
    assert _texts(answer["outputs"]) == trained_generator.decode_batch(INPUTS[:8], strategy=BEAM)
    again = export(str(model_file), str(out))
    assert again.returncode == 1 and "already exists" in again.stderr
