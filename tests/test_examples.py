"""The examples run as written (the code blocks of the documentation: tests/test_docs.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from shorttext_s2s import loadCharBasedSeq2SeqGenerator

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # each runs a script in a subprocess
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))

# The examples are scripts over the library, whose parts are tested under both backends; each
# run costs a Keras import and a short training, so they run under the default backend only.
default_backend = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="examples run under the default backend")


def run_example(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(REPO / "examples" / script), *args],
                            capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@default_backend
def test_translate_fra_eng_quick(pairs_path, tmp_path):
    model = tmp_path / "fra.h5"
    result = run_example("translate_fra_eng.py", "--quick", "--data", str(pairs_path),
                         "--output", str(model), cwd=tmp_path)
    translations = [line for line in result.stdout.splitlines() if "(reference: " in line]
    assert len(translations) == 10  # the first ten held-out pairs are shown
    assert "saved to" in result.stdout and "held-out pairs: exact match" in result.stdout
    assert loadCharBasedSeq2SeqGenerator(model).latent_dim == 32


@default_backend
def test_chatbot_quick(tmp_path):
    pytest.importorskip("chatterbot_corpus", reason="the demo extra is not installed")
    result = run_example("chatbot.py", "--quick", "--output", str(tmp_path / "bot.h5"),
                         cwd=tmp_path)
    replies = [line for line in result.stdout.splitlines() if line.startswith("Happy Holiday!")]
    assert len(replies) == 4
    assert (tmp_path / "bot.h5").exists()


@pytest.mark.slow
@default_backend
def test_translate_fra_eng_without_data_or_network_says_to_pass_data(tmp_path):
    # Nothing cached (a fresh Keras home) and every download refused (a closed local proxy).
    env = dict(ENV, KERAS_HOME=str(tmp_path / "keras"), HOME=str(tmp_path),
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    result = subprocess.run([sys.executable, str(REPO / "examples" / "translate_fra_eng.py"),
                             "--quick"], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=600)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    # After whatever TensorFlow logs on import (the example is a plain script), one line.
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("translate_fra_eng.py: error: cannot download"), result.stderr
    assert "pass --data path/to/fra.txt" in error
