"""The examples and the quickstart code of README.rst and docs/quickstart.rst run as written."""

from __future__ import annotations

import ast
import os
import re
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
def test_translate_fra_eng_quick(fra_path, tmp_path):
    model = tmp_path / "fra.h5"
    result = run_example("translate_fra_eng.py", "--quick", "--data", str(fra_path),
                         "--output", str(model), cwd=tmp_path)
    translations = [line for line in result.stdout.splitlines() if "(reference: " in line]
    assert len(translations) >= 10  # ten held-out English sentences, with all their references
    assert "saved to" in result.stdout and "held out: exact match" in result.stdout
    assert loadCharBasedSeq2SeqGenerator(model).latent_dim == 32


@default_backend
def test_chatbot_quick(tmp_path):
    pytest.importorskip("chatterbot_corpus", reason="the demo extra is not installed")
    result = run_example("chatbot.py", "--quick", "--output", str(tmp_path / "bot.h5"),
                         cwd=tmp_path)
    replies = [line for line in result.stdout.splitlines() if line.startswith("Happy Holiday!")]
    assert len(replies) == 4
    assert (tmp_path / "bot.h5").exists()


def _python_block(path: Path, heading: str) -> str:
    """The first ``code-block:: python`` after ``heading`` in an reST file, dedented."""
    text = path.read_text("utf-8")
    start = text.index(heading)
    match = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text[start:])
    assert match, f"no Python code block after {heading!r} in {path.name}"
    return "\n".join(line[3:] for line in match.group(1).splitlines()) + "\n"


# The two blocks make the same library calls, tested under both backends elsewhere: each block
# runs under one backend.
@pytest.mark.parametrize("document, heading, backend", [
    ("README.rst", "Quickstart in Python", "tensorflow"),
    ("docs/quickstart.rst", "From Python", "jax")])
def test_quickstart_code_runs(document, heading, backend, fra_path, tmp_path, monkeypatch,
                              capsys):
    if keras.backend.backend() != backend:
        pytest.skip(f"this block runs under the {backend} backend")
    code = _python_block(REPO / document, heading)
    # The same code at a scale that runs in seconds, on the data beside the checkout.
    for written, scaled in [('"fra.txt"', repr(str(fra_path))), ("limit=2000", "limit=64"),
                            ("latent_dim=256", "latent_dim=16"), ("epochs=30", "epochs=1")]:
        assert written in code, f"{document}'s quickstart no longer contains {written}"
        code = code.replace(written, scaled)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, document, "exec"), {})
    # After Keras's progress lines, the list of the two decoded texts.
    lists = [ast.literal_eval(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("[") and line.endswith("]")]
    assert len(lists) == 1 and len(lists[0]) == 2 and all(isinstance(t, str) for t in lists[0])
    assert (tmp_path / "fra-eng.h5").exists()
