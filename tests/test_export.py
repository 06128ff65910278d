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
from shorttext_s2s.data import read_pairs
from shorttext_s2s.decoding import BeamSearchStrategy, GreedyStrategy
from shorttext_s2s.exceptions import ExportError, ModelNotTrainedException
from shorttext_s2s.export import export_model
from shorttext_s2s.export.runtime import OnnxDecoder

from conftest import FRA_PATH, TEST_XLA, first_unique_pairs
from test_units import INFLECTION

tensorflow_only = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="a SavedModel is exported under TensorFlow")
#: Inputs the models do not read as given: empty, unseen characters, longer than maxlen.
ODD_INPUTS = ["", "Zut☃!", "Go. " * 30, "  ", "é"]


def _inputs() -> List[str]:
    """2,000 inputs: the English sentences of fra.txt where it is (else the test pairs'),
    and the odd ones."""
    texts = [source for source, _ in first_unique_pairs(400)]
    if FRA_PATH.exists():
        seen = dict.fromkeys(source for source, _ in read_pairs(FRA_PATH, limit=4000))
        texts = list(seen)[:2000 - len(ODD_INPUTS)]
    return texts + ODD_INPUTS


INPUTS = _inputs()
BEAM = BeamSearchStrategy(beam_width=3)
FORMATS = ("saved_model", "onnx")


def _train(network: str, pairs, reverse_input: bool = False, network_options=None,
           **encoder_options) -> CharBasedSeq2SeqGenerator:
    keras.utils.set_random_seed(1)
    encoder = SentenceToCharVecEncoder.from_pairs(pairs, **encoder_options)
    options = {"embedding_dim": 8} if network == "attention" else {}
    options.update(network_options or {})
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


def _exported_nbest(path: Path, format: str, texts: List[str],
                    features: Optional[List[str]]) -> list:
    """Each text's outputs and log-probabilities, best first, as the export answers."""
    if format == "onnx":
        return OnnxDecoder(path).decode_scored(texts, features)
    answer = _answer(_load(path), texts, features)
    if "nbest" not in answer:
        return [[(text, score)] for text, score in
                zip(_texts(answer["outputs"]), answer["log_probs"].tolist())]
    return [_distinct(found, scores) for found, scores in
            zip(_texts(answer["nbest"]), answer["nbest_log_probs"].tolist())]


def _library_nbest(generator, strategy, texts: List[str],
                   features: Optional[List[str]]) -> list:
    """The library's n best for the texts, decoded once per model, strategy and inputs (both
    formats compare with the same answers)."""
    # Kept on the model itself: a module-level cache keyed by id() could outlive the model.
    answers = generator.__dict__.setdefault("_test_library_nbest", {})
    key = (strategy.name, tuple(texts), None if features is None else tuple(features))
    if key not in answers:
        answers[key] = generator.decode_scored(texts, strategy,
                                               num_results=strategy.candidates_per_input(),
                                               features=features, warn=False)
    return answers[key]


def _check_equal(generator, path: Path, format: str, strategy, texts: List[str],
                 features: Optional[List[str]] = None) -> None:
    """The export's outputs, candidates and their log-probabilities are the library's.

    The export computes in other kernels (ONNX Runtime's, or XLA's where the library's test
    loop compiles plain graphs), whose floats differ in the last bits: on the near-ties of
    these barely trained models, a beam may then keep another candidate. So all but 1 % of
    the inputs must have the library's candidates exactly, and every candidate both have,
    its log-probability to 1e-4. (On trained models, ``benchmarks/decode_bench.py --onnx``
    compares all outputs.)
    """
    library = _library_nbest(generator, strategy, texts, features)
    exported = _exported_nbest(path, format, texts, features)
    same = [[text for text, _ in mine] == [text for text, _ in theirs]
            for mine, theirs in zip(exported, library)]
    assert sum(same) >= 0.99 * len(same)
    np.testing.assert_allclose(
        [score for found, equal in zip(exported, same) if equal for _, score in found],
        [score for found, equal in zip(library, same) if equal for _, score in found],
        atol=1e-4)


def _export(generator, path: Path, format: str, strategy) -> Path:
    path.parent.mkdir(exist_ok=True)
    written = generator.export(path, format=format, strategy=strategy, jit_compile=TEST_XLA)
    assert written == str(path) and path.exists()
    # Only the finished export is there: nothing half-written beside it.
    assert [entry.name for entry in path.parent.iterdir()] == [path.name]
    return path


@pytest.fixture(scope="module", params=["lstm", "attention", "transformer"])
def network_model(request):
    return _train(request.param, first_unique_pairs(48), reverse_input=request.param == "lstm")


@tensorflow_only
@pytest.mark.slow
@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("strategy", [GreedyStrategy(), BEAM], ids=["greedy", "beam"])
def test_every_network_exports_and_answers_as_the_library(network_model, strategy, format,
                                                          tmp_path):
    path = _export(network_model, tmp_path / ("model.onnx" if format == "onnx" else "model"),
                   format, strategy)
    # Beam search on 400 inputs and the odd ones: every candidate is compared, and 2,000 texts
    # took a minute per network and format.
    _check_equal(network_model, path, format, strategy,
                 INPUTS if strategy.name == "greedy" else INPUTS[:400] + ODD_INPUTS)


@tensorflow_only
@pytest.mark.slow
@pytest.mark.parametrize("format", FORMATS)
def test_units_and_features_are_encoded_and_decoded_as_the_library_does(format, tmp_path):
    pairs = [(lemma, " ".join(form), tags) for lemma, form, tags in INFLECTION] * 4
    # A context layer, as the pronunciation and inflection benchmarks train them.
    generator = _train("attention", pairs, reverse_input=True,
                       network_options={"context_layers": 1}, target_sep=" ")
    lemmas = [lemma for lemma, _, _ in INFLECTION] + ["sing", "sinking", "", "xyz"]
    tags = [tag for _, _, tag in INFLECTION] + ["V;PST;PL", "", "V;PST", "N;PST;V"]
    for strategy in (GreedyStrategy(), BEAM):
        path = _export(generator, tmp_path / strategy.name / "model", format, strategy)
        _check_equal(generator, path, format, strategy, lemmas, tags)


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


@tensorflow_only
@pytest.mark.slow
def test_the_onnx_runtime_decodes_with_numpy_and_onnxruntime_alone(trained_generator,
                                                                   tmp_path):
    path = trained_generator.export(tmp_path / "model.onnx", format="onnx", strategy=BEAM)
    # A fresh environment with the package (without its dependencies: they include the
    # training stack), NumPy and ONNX Runtime, and nothing else.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    repo = str(Path(__file__).resolve().parents[1])
    for arguments in (["--no-deps", repo], ["numpy", "onnxruntime"]):
        installed = subprocess.run([python, "-m", "pip", "install", "--quiet", *arguments],
                                   capture_output=True, text=True, timeout=900)
        assert installed.returncode == 0, installed.stderr[-3000:]
    texts = INPUTS[:50]
    code = ("import importlib.util, json\n"
            "assert not any(importlib.util.find_spec(name) for name in "
            "('keras', 'tensorflow', 'jax'))\n"
            "from shorttext_s2s.export.runtime import OnnxDecoder\n"
            f"decoder = OnnxDecoder({path!r})\n"
            f"print(json.dumps(decoder.decode_scored({texts!r})))\n")
    result = subprocess.run([python, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    expected = OnnxDecoder(path).decode_scored(texts)
    assert [[text for text, _ in each] for each in found] == \
        [[text for text, _ in each] for each in expected]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        assert [each[0][0] for each in found] == \
            trained_generator.decode_batch(texts, strategy=BEAM)


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
    onnx = tmp_path / "model.onnx"
    assert export(str(model_file), str(onnx), "--format", "onnx").returncode == 0
    assert OnnxDecoder(onnx).decode_batch(INPUTS[:8]) == \
        trained_generator.decode_batch(INPUTS[:8])


@pytest.mark.parametrize("settings", [
    '{"maxlen": 5}',  # no encoder
    '[1, 2]',  # not an object
    '{"encoder": {"characters": "ab", "signalchar": "\\n"}, "maxlen": "x", '
    '"reverse_input": false, "strategy": {"name": "greedy"}}',
    '{"encoder": {"characters": "ab", "signalchar": "\\n"}, "maxlen": 8, '
    '"reverse_input": false, "strategy": "greedy"}',
    '{"encoder": 3, "maxlen": 8, "reverse_input": false, "strategy": {"name": "greedy"}}',
])
def test_an_onnx_file_with_bad_settings_is_a_model_file_error(tmp_path, settings):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from shorttext_s2s.catalog import ONNX_METADATA_KEY
    from shorttext_s2s.exceptions import ModelFileError

    helper = onnx.helper
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input_ids"], ["ids"])], "identity",
        [helper.make_tensor_value_info("input_ids", onnx.TensorProto.INT32, [None, 8])],
        [helper.make_tensor_value_info("ids", onnx.TensorProto.INT32, [None, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, settings
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelFileError, match="settings in the ONNX model are invalid"):
        OnnxDecoder(path)
