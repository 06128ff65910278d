"""The ``shorttext-s2s`` command, run as users run it: the installed console script.

Each call is a real subprocess (it imports Keras, a few seconds each), so the tests share one
model file (``trained_generator`` saved once) and check several things per call where that
stays readable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import keras
import pytest

from shorttext_s2s import loadCharBasedSeq2SeqGenerator
from shorttext_s2s.decoding import get_strategy

from conftest import under_one_backend

REPO = Path(__file__).resolve().parents[1]
# Every test runs the command as a real subprocess (a Keras import each).
pytestmark = pytest.mark.slow
_SCRIPT = shutil.which("shorttext-s2s", path=os.path.dirname(sys.executable))
# The console script that `pip install` puts beside the interpreter is what users run. Only
# where the package was put on the path without being installed is there no script; the module
# form then runs the same `main`.
COMMAND: List[str] = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "shorttext_s2s"]

# The script must import this checkout (an installed copy elsewhere would be tested instead).
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))

# TensorFlow's C++ runtime logs a few lines on import whatever the library does; they are not
# the command's output.
_RUNTIME_LOG = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} \d\d:\d\d:"
                          r"|To enable the following instructions)")

# Every call pays a Keras import and a compilation, so the CI time is spent where backends can
# differ: training, saving, loading and decoding through the command run under both backends.
# What is the command's own plumbing (reading files, passing options and seeds on, signals,
# error paths, output formats) runs under one backend only, JAX, whose calls start fastest;
# the library beneath it is tested under both backends by its own tests.
one_backend = under_one_backend("command plumbing")


def run(*args: str, stdin: Optional[str] = None, cwd: Optional[Path] = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(COMMAND + list(args), input=stdin, capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=timeout)


def messages(stderr: str) -> List[str]:
    """The non-blank lines of standard error that the command itself wrote."""
    return [line for line in stderr.splitlines()
            if line.strip() and not _RUNTIME_LOG.match(line)]


def assert_one_line_error(result: subprocess.CompletedProcess, status: int,
                          *fragments: str) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = messages(result.stderr)
    assert lines, result.stderr
    error = lines[-1]
    assert error.startswith("shorttext-s2s"), error
    if status == 1:
        assert lines == [error], lines  # exactly one line, nothing else
    for fragment in fragments:
        assert fragment in error, error


@pytest.fixture(scope="module")
def pairs_file(tiny_pairs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "pairs.tsv"
    # Three columns, as the current Anki files: the attribution must be ignored.
    path.write_text("".join(f"{s}\t{t}\tCC-BY 2.0 (France)\n" for s, t in tiny_pairs),
                    encoding="utf-8")
    return path


def sources_and_targets(pairs: Sequence) -> tuple:
    return [source for source, _ in pairs], [target for _, target in pairs]


# --- decode -----------------------------------------------------------------------------------

def test_decode_arguments_prints_one_translation_per_sentence(model_file, tiny_pairs):
    sources, targets = sources_and_targets(tiny_pairs[:5])
    # Options after the sentences, and batches smaller than the input.
    result = run("decode", str(model_file), *sources, "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == targets


def _decode_input(sources: List[str]) -> str:
    # A blank line still gets its (possibly empty) output line: outputs stay aligned.
    return "\n".join(sources[:3] + [""] + sources[3:]) + "\n"


def _check_decoded(stdout: str, targets: List[str]) -> None:
    lines = stdout.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(targets) + 1
    assert lines[:3] + lines[4:-1] == targets


def test_decode_reads_standard_input_line_by_line(model_file, tiny_pairs):
    sources, targets = sources_and_targets(tiny_pairs)
    result = run("decode", str(model_file), stdin=_decode_input(sources))
    assert result.returncode == 0, result.stderr
    _check_decoded(result.stdout, targets)


@one_backend
def test_decode_reads_a_file_in_batches(model_file, tiny_pairs, tmp_path):
    sources, targets = sources_and_targets(tiny_pairs)
    path = tmp_path / "input.txt"
    path.write_text(_decode_input(sources), encoding="utf-8")
    result = run("decode", str(model_file), "--input", str(path), "--batch-size", "7")
    assert result.returncode == 0, result.stderr
    _check_decoded(result.stdout, targets)


@one_backend
def test_decode_sampling_options_reach_the_library(model_file, trained_generator, tiny_pairs):
    sources, _ = sources_and_targets(tiny_pairs[:6])
    result = run("decode", str(model_file), "--strategy", "sample", "--temperature", "3",
                 "--top-k", "5", "--seed", "11", *sources)
    assert result.returncode == 0, result.stderr
    expected = trained_generator.decode_batch(
        sources, strategy=get_strategy("sample", temperature=3.0, top_k=5), seed=11)
    assert result.stdout.splitlines() == expected


# --- chat -------------------------------------------------------------------------------------

def test_chat_replies_to_each_line_until_end_of_input(model_file, tiny_pairs):
    sources, targets = sources_and_targets(tiny_pairs[:3])
    result = run("chat", str(model_file), stdin=f"{sources[0]}\n\n{sources[1]}\n{sources[2]}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == targets  # the blank line is not answered
    assert not messages(result.stderr)


@one_backend
def test_chat_ends_quietly_on_ctrl_c(model_file, tiny_pairs):
    source, target = tiny_pairs[0]
    process = subprocess.Popen(COMMAND + ["chat", str(model_file)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=ENV)
    try:
        process.stdin.write(source + "\n")
        process.stdin.flush()
        assert process.stdout.readline().rstrip("\n") == target  # it is waiting for a line
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


# --- evaluate ---------------------------------------------------------------------------------

def test_evaluate_scores_a_pairs_file(model_file, pairs_file, tiny_pairs):
    result = run("evaluate", str(model_file), str(pairs_file))
    assert result.returncode == 0, result.stderr
    report = dict(line.split(":", 1) for line in result.stdout.splitlines())
    # The shared model reproduces its training pairs exactly.
    assert int(report["inputs"]) == len(tiny_pairs)
    assert float(report["exact match"]) == 1.0 and float(report["CER"]) == 0.0
    assert float(report["chrF"]) == pytest.approx(100.0)


@one_backend
def test_evaluate_json_limit_and_strategy(model_file, pairs_file):
    result = run("evaluate", str(model_file), str(pairs_file), "--limit", "5",
                 "--strategy", "beam", "--beam-width", "2", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["n"] == 5 and scores["exact_match"] == 1.0
    assert {"cer", "chrf"} <= set(scores)


# --- train ------------------------------------------------------------------------------------

def test_train_pairs_with_validation_early_stopping_and_plot(pairs_file, tmp_path):
    model, plot = tmp_path / "model.h5", tmp_path / "curves.png"
    result = run("train", str(pairs_file), "--output", str(model), "--latent-dim", "8",
                 "--maxlen", "20", "--epochs", "3", "--batch-size", "8",
                 "--validation-split", "0.25", "--early-stopping", "1", "--seed", "0",
                 "--plot", str(plot), "--final", "--network", "lstm", "--bidirectional")
    assert result.returncode == 0, result.stderr
    assert "validation loss" in result.stdout and str(model) in result.stdout
    loaded = loadCharBasedSeq2SeqGenerator(model)
    assert (loaded.latent_dim, loaded.maxlen) == (8, 20)
    assert loaded.get_config()["bidirectional"] is True
    assert 1 <= loaded.epochs_trained <= 3
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@one_backend
def test_train_conversation_derives_maxlen_from_the_data(tmp_path):
    lines = ["Hello!", "Hi, how are you?", "Fine, thanks.", "Good to hear.", "Bye.", "See you."]
    conversation = tmp_path / "talk.txt"
    conversation.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = tmp_path / "talk.h5"
    result = run("train", "--conversation", str(conversation), "-o", str(model),
                 "--latent-dim", "8", "--epochs", "1", "--limit", "3", "--quiet")
    assert result.returncode == 0, result.stderr
    loaded = loadCharBasedSeq2SeqGenerator(model)
    assert loaded.network_name == "attention"  # the default network of new models
    # --limit 3 keeps the pairs of the first four lines; the longest has 16 characters.
    assert loaded.maxlen == max(len(line) for line in lines[:4]) + 1
    assert set("Hello!how are you?Fine, thanks.Good to hear.") <= set(loaded.encoder.characters)
    assert "B" not in loaded.encoder.characters


def _train_network(pairs_file, tmp_path, network, *options):
    """Train ``network`` with the command line; its result and the saved model's config."""
    model = tmp_path / f"{network}.h5"
    result = run("train", str(pairs_file), "-o", str(model), "--network", network, *options,
                 "--quiet")
    assert result.returncode == 0, result.stderr
    return result, loadCharBasedSeq2SeqGenerator(model).get_config()


@one_backend
def test_train_attention_network_with_its_options(pairs_file, tmp_path):
    result, config = _train_network(pairs_file, tmp_path, "attention", "--latent-dim", "8",
                                    "--embedding-dim", "4", "--layers", "2", "--dropout", "0.1",
                                    "--context-layers", "1", "--epochs", "2",
                                    "--validation-split", "0.25")
    assert ", the weights of epoch " in result.stdout and " kept (" in result.stdout
    assert [config[key] for key in ("network", "embedding_dim", "layers", "dropout",
                                    "context_layers")] == ["attention", 4, 2, 0.1, 1]
    # An option of the other network is a usage error naming it.
    wrong = run("train", str(pairs_file), "-o", str(tmp_path / "x.h5"), "--network",
                "attention", "--bidirectional", "--epochs", "1", "--quiet")
    assert wrong.returncode == 2 and "bidirectional" in wrong.stderr
    wrong = run("train", str(pairs_file), "-o", str(tmp_path / "x.h5"), "--network",
                "transformer", "--context-layers", "1", "--epochs", "1", "--quiet")
    assert wrong.returncode == 2 and "context_layers" in wrong.stderr


@one_backend
def test_train_transformer_network_with_its_options(pairs_file, tmp_path):
    _, config = _train_network(pairs_file, tmp_path, "transformer", "--latent-dim", "8",
                               "--layers", "1", "--heads", "2", "--feedforward-dim", "12",
                               "--dropout", "0.0", "--epochs", "1")
    assert [config[key] for key in ("network", "layers", "heads", "feedforward_dim", "dropout")] \
        == ["transformer", 1, 2, 12, 0.0]
    # Heads that do not divide the width are a usage error naming the option.
    wrong = run("train", str(pairs_file), "-o", str(tmp_path / "x.h5"), "--network",
                "transformer", "--latent-dim", "8", "--heads", "3", "--epochs", "1", "--quiet")
    assert_one_line_error(wrong, 2, "heads")


# --- demo -------------------------------------------------------------------------------------

@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the README's main command runs under the default backend")
def test_demo_quick_trains_saves_and_answers(tmp_path):
    pytest.importorskip("chatterbot_corpus", reason="the demo extra is not installed")
    result = run("demo", "--quick", "--output", "bot.h5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Epoch 2/2" in result.stdout  # training progress is shown
    assert f"Model saved to {tmp_path / 'bot.h5'}" in result.stdout
    assert f"{COMMAND[0]} chat bot.h5" in result.stdout or "-m shorttext_s2s chat" in result.stdout
    assert "> Happy Holiday!" in result.stdout
    assert result.stdout.count("greedy:") == result.stdout.count("sampled:") >= 4
    assert loadCharBasedSeq2SeqGenerator(tmp_path / "bot.h5").latent_dim == 16


# --- the entry points and the error paths -----------------------------------------------------

@one_backend
def test_module_form_runs_the_same_command(tmp_path):
    from shorttext_s2s import __version__

    module = [sys.executable, "-m", "shorttext_s2s"]
    version = subprocess.run(module + ["--version"], capture_output=True, text=True, env=ENV,
                             timeout=300)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"shorttext-s2s {__version__}"
    missing = str(tmp_path / "missing.h5")
    error = subprocess.run(module + ["decode", missing, "Hi."], capture_output=True,
                           text=True, env=ENV, timeout=300)
    assert_one_line_error(error, 1, missing)


@one_backend
@pytest.mark.parametrize("case", ["missing model", "not a model", "missing pairs",
                                  "missing training data", "output directory",
                                  "chat without model"])
def test_file_errors_are_one_line_and_exit_1(case, model_file, pairs_file, tmp_path):
    not_a_model = tmp_path / "notes.h5"
    not_a_model.write_text("just text\n", encoding="utf-8")
    missing = str(tmp_path / "missing.h5")
    args, fragments = {
        "missing model": (["decode", missing, "Hi."], [missing, "no such model file"]),
        "not a model": (["decode", str(not_a_model), "Hi."], ["not a shorttext_s2s model"]),
        "missing pairs": (["evaluate", str(model_file), str(tmp_path / "nope.tsv")],
                          ["nope.tsv", "no such file"]),
        "missing training data": (["train", str(tmp_path / "nope.tsv"), "-o", missing],
                                  ["nope.tsv", "no such file"]),
        "output directory": (["train", str(pairs_file), "-o", str(tmp_path / "no" / "m.h5")],
                             ["does not exist"]),
        "chat without model": (["chat", missing], [missing]),
    }[case]
    assert_one_line_error(run(*args, stdin=""), 1, *fragments)


@one_backend
@pytest.mark.parametrize("args, fragment", [
    (["decode", "m.h5", "--temperature", "0.5", "Hi."],
     "--temperature applies to --strategy sample"),
    (["train", "pairs.tsv", "-o", "m.h5", "--latent-dim", "0"], "--latent-dim"),
    (["train", "pairs.tsv", "-o", "m.h5", "--latent-dim", "7", "--network", "lstm",
      "--bidirectional"],
     "--bidirectional needs an even --latent-dim"),
    (["train", "pairs.tsv"], "--output"),
    (["train", "pairs.tsv", "-o", "m.h5", "--feature-dropout", "1"], "--feature-dropout"),
    (["train", "pairs.tsv", "-o", "m.h5", "--feature-dropout", "0.1"], "--features-column"),
    (["evaluate", "m.h5"], "PAIRS"),
])
def test_bad_options_exit_2(args, fragment):
    assert_one_line_error(run(*args), 2, fragment)
