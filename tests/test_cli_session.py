"""A user's session with the command line: work kept on Ctrl-C, quiet output, honest limits.

The interrupt tests send real signals to real training processes and load what they left;
the others call ``main`` in this process where no subprocess is needed.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import List

import keras
import pytest

from shorttext_s2s import loadCharBasedSeq2SeqGenerator
from shorttext_s2s.cli import main
from shorttext_s2s.encoder import MAX_SEQUENCE_LENGTH

from conftest import under_one_backend

REPO = Path(__file__).resolve().parents[1]
# As in test_cli.py: the installed console script if there is one, run on this checkout.
_SCRIPT = shutil.which("shorttext-s2s", path=os.path.dirname(sys.executable))
COMMAND: List[str] = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "shorttext_s2s"]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
# The command's own output, with nothing of the backend's log: the variable the CLI sets only
# when the user has not set it is removed, as on a user's machine.
QUIET_ENV = {key: value for key, value in ENV.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
# Lines reach the test as they are written, not when a pipe buffer fills.
STREAM_ENV = dict(QUIET_ENV, PYTHONUNBUFFERED="1")
# The training itself is tested under both backends (test_training.py); what the command adds
# to it is plumbing, tested once.
one_backend = under_one_backend("command plumbing")


@pytest.fixture(scope="module")
def pairs_file(tiny_pairs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("session") / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in tiny_pairs), encoding="utf-8")
    return path


@pytest.fixture
def in_process(monkeypatch):
    """``main`` in this process: the environment it sets is restored afterwards."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    return main


def _wait_for_line(process: subprocess.Popen, pattern: str, seen: List[str]) -> str:
    """Read the process's standard output until a line matches ``pattern``."""
    while True:
        # A guard against a hang, not a measure: a tiny model's epoch takes seconds.
        ready, _, _ = select.select([process.stdout], [], [], 300)
        assert ready, f"no line matching {pattern!r} within 300 s; got {seen}"
        line = process.stdout.readline()
        assert line, f"the process ended before a line matching {pattern!r}: {seen}"
        seen.append(line)
        if re.search(pattern, line):
            return line


def _stop(process: subprocess.Popen, signum: int) -> str:
    try:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    return stderr


# --- Ctrl-C and SIGTERM keep the work ---------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the same stop under JAX is test_distributed.py's (SIGTERM to a "
                           "two-process run, then resume)")
def test_interrupted_training_saves_its_best_epoch_and_resumes(pairs_file, tmp_path):
    output, checkpoint = tmp_path / "model.h5", tmp_path / "run.ckpt.h5"
    args = ["train", str(pairs_file), "-o", str(output), "--checkpoint", str(checkpoint),
            "--latent-dim", "8", "--batch-size", "4", "--epochs", "100000",
            "--validation-split", "0.25", "--seed", "0", "--optimizer", "adam"]

    first = subprocess.Popen(COMMAND + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=STREAM_ENV)
    seen: List[str] = []
    _wait_for_line(first, r"^Epoch 3/", seen)  # two epochs are done
    stderr = _stop(first, signal.SIGINT)
    assert first.returncode == 130, stderr
    assert "Traceback" not in stderr and "PyFunc" not in stderr, stderr
    # Not a terminal: one line per epoch, no progress bar redrawn with escapes.
    assert not any("\r" in line or "\x1b[" in line for line in seen), seen

    saved = loadCharBasedSeq2SeqGenerator(output)
    done = loadCharBasedSeq2SeqGenerator(checkpoint).epochs_trained
    assert done >= 2 and 1 <= saved.epochs_trained <= done
    # The default network's recipe judges epochs by their validation chrF (every second one).
    assert "(validation chrF " in stderr and f"saved to {output}" in stderr
    resume_hint = stderr.strip().splitlines()[-1]
    assert f"--checkpoint {checkpoint}" in resume_hint and resume_hint.endswith("--resume")
    assert len(saved.decode_batch(["Hi."])) == 1

    # The command it prints goes on from the checkpoint; SIGTERM keeps the work too.
    second = subprocess.Popen(COMMAND + args + ["--resume"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=STREAM_ENV)
    seen = []
    first_epoch = _wait_for_line(second, r"^Epoch \d+/", seen)
    assert first_epoch.startswith(f"Epoch {done + 1}/"), first_epoch
    _wait_for_line(second, rf"^Epoch {done + 2}/", seen)
    stderr = _stop(second, signal.SIGTERM)
    assert second.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr, stderr
    assert loadCharBasedSeq2SeqGenerator(checkpoint).epochs_trained > done
    assert loadCharBasedSeq2SeqGenerator(output).epochs_trained >= 1


# --- evaluate without the metrics extra -------------------------------------------------------

@pytest.mark.slow
def test_evaluate_without_sacrebleu_prints_what_it_can(in_process, model_file, pairs_file,
                                                       tiny_pairs, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # as if not installed
    assert in_process(["evaluate", str(model_file), str(pairs_file)]) == 0
    captured = capsys.readouterr()
    report = dict(line.split(":", 1) for line in captured.out.splitlines())
    assert set(report) == {"inputs", "exact match", "CER"}
    assert int(report["inputs"]) == len(tiny_pairs) and float(report["exact match"]) == 1.0
    note = captured.err.strip().splitlines()
    assert len(note) == 1 and 'pip install "shorttext-s2s[metrics]"' in note[0]
    assert "chrF and BLEU" in note[0] and "`metrics`" not in note[0]


# --- limits at the door -----------------------------------------------------------------------

@pytest.mark.parametrize("maxlen", [str(MAX_SEQUENCE_LENGTH + 1), "1000000000"])
def test_maxlen_above_what_the_loader_accepts_is_a_usage_error(in_process, maxlen, tmp_path,
                                                              capsys):
    # The pairs file does not exist: the option is refused before anything is read.
    with pytest.raises(SystemExit) as caught:
        in_process(["train", str(tmp_path / "pairs.tsv"), "-o", str(tmp_path / "m.h5"),
                    "--maxlen", maxlen])
    assert caught.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--maxlen" in error and str(MAX_SEQUENCE_LENGTH) in error and maxlen in error


def test_maxlen_at_the_limit_is_accepted(in_process, tmp_path, capsys):
    # It passes the parser and fails on the missing file instead.
    assert in_process(["train", str(tmp_path / "pairs.tsv"), "-o", str(tmp_path / "m.h5"),
                       "--maxlen", str(MAX_SEQUENCE_LENGTH)]) == 1
    assert "no such file" in capsys.readouterr().err


# --- a quiet command line ---------------------------------------------------------------------

# A machine whose TensorFlow logs everything: level 0, and the oneDNN notices that 2.21 prints
# at every level on processors with AVX-512 forced on here whatever the processor.
NOISY_ENV = dict(QUIET_ENV, TF_CPP_MIN_LOG_LEVEL="0", TF_ENABLE_ONEDNN_OPTS="1")


@pytest.mark.slow
@pytest.mark.parametrize("env", [QUIET_ENV, NOISY_ENV], ids=["as-installed", "noisy-backend"])
def test_model_commands_print_nothing_but_their_output(model_file, tiny_pairs, env):
    source, target = tiny_pairs[0]
    result = subprocess.run(COMMAND + ["decode", str(model_file), source], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == target + "\n"
    assert result.stderr == ""  # no TensorFlow, absl, oneDNN or XLA lines


@pytest.mark.slow
@one_backend
def test_missing_files_are_reported_before_keras_is_imported(tmp_path):
    missing = tmp_path / "missing.h5"
    code = ("import sys\n"
            "from shorttext_s2s.cli import main\n"
            f"status = main(['decode', {str(missing)!r}, 'Hi.'])\n"
            "print(status, 'keras' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=QUIET_ENV, timeout=300)
    assert result.stdout.split() == ["1", "False"], result.stderr
    assert result.stderr.strip() == f"shorttext-s2s: error: {missing}: no such model file"


def test_a_missing_backend_names_its_extra(in_process, model_file, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setitem(sys.modules, "jax", None)  # as if JAX were not installed
    assert in_process(["decode", str(model_file), "Hi."]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("shorttext-s2s: error:") and "\n" not in error
    assert "pip install 'shorttext-s2s[jax]'" in error


# --- decode at a terminal ---------------------------------------------------------------------

@pytest.mark.slow
def test_decode_at_a_terminal_answers_each_line_as_it_is_typed(model_file, tiny_pairs):
    master, slave = pty.openpty()
    process = subprocess.Popen(COMMAND + ["decode", str(model_file)], stdin=slave,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=STREAM_ENV)
    os.close(slave)
    try:
        seen: List[str] = []
        for source, target in tiny_pairs[:2]:
            os.write(master, (source + "\n").encode())
            # Answered while the input is still open: not held back for a batch.
            assert _wait_for_line(process, ".", seen).rstrip("\n") == target
        os.write(master, b"\x04")  # Ctrl-D ends the input
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "> " in stderr  # the prompt, on standard error: standard output is the answers


def test_demo_without_its_extra_names_it(in_process, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "chatterbot_corpus", None)  # as if not installed
    assert in_process(["demo", "--quick", "--output", str(tmp_path / "bot.h5")]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "pip install 'shorttext-s2s[demo]'" in error
    assert not (tmp_path / "bot.h5").exists()


# --- model selection, said and kept -------------------------------------------------------

@pytest.mark.slow
@one_backend
def test_train_stops_early_by_default_and_says_what_it_kept(in_process, pairs_file, tmp_path,
                                                             capsys):
    output = tmp_path / "model.h5"
    assert in_process(["train", str(pairs_file), "-o", str(output), "--latent-dim", "8",
                       "--batch-size", "8", "--epochs", "400", "--validation-split", "0.25",
                       "--seed", "0", "--embedding-dim", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == ("model selection: validation chrF; early stopping after 6 epochs "
                        "without a better one")
    kept = [line for line in lines if line.startswith("kept the weights of epoch ")]
    assert len(kept) == 1 and kept[0].endswith("stopped early: 6 epochs without a better one")
    saved = loadCharBasedSeq2SeqGenerator(output)
    assert saved.epochs_trained < 400
    selection = saved.seq2seq.selection
    assert kept[0].startswith(f"kept the weights of epoch {selection.epoch} (the best "
                              f"validation chrF ")
    assert saved.seq2seq.weights_epoch == selection.epoch


def test_decode_notes_inputs_not_read_as_given_in_one_line(in_process, model_file, capsys):
    assert in_process(["decode", str(model_file), "Go.", "Go\u2603"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert captured.err.strip() == ("shorttext-s2s: warning: 1 of 2 input(s) not read as "
                                    "given: 'Go\u2603': characters the model never saw: "
                                    "'\u2603'")


@one_backend
def test_train_for_a_time_budget(in_process, pairs_file, tmp_path, capsys):
    output = tmp_path / "model.h5"
    assert in_process(["train", str(pairs_file), "-o", str(output), "--latent-dim", "8",
                       "--epochs", "100000", "--time-budget", "2s", "--network", "lstm"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "model selection: training loss; time budget 2s"
    assert "; the time budget of 2s ended training during epoch " in lines[-2]
    assert loadCharBasedSeq2SeqGenerator(output).epochs_trained < 100000


@pytest.mark.parametrize("budget", ["0", "15x", "m", "1.5.2h"])
def test_a_bad_time_budget_is_a_usage_error(in_process, budget, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        in_process(["train", str(tmp_path / "pairs.tsv"), "-o", str(tmp_path / "m.h5"),
                    "--time-budget", budget])
    assert caught.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--time-budget" in error and "15m" in error and repr(budget) in error


def test_evaluate_scores_symbols_with_a_separator(in_process, model_file, tmp_path, tiny_pairs,
                                                  capsys):
    pairs = tmp_path / "pairs.tsv"
    # The first input's target with one word wrong: one of its symbols, a word here.
    source, target = tiny_pairs[0]
    pairs.write_text(f"{source}\tXx {target}\n" + "".join(f"{s}\t{t}\n" for s, t in
                                                           tiny_pairs[1:4]), encoding="utf-8")
    assert in_process(["evaluate", str(model_file), str(pairs), "--target-sep", " ",
                       "--json"]) == 0
    import json

    scores = json.loads(capsys.readouterr().out)
    words = sum(len(t.split()) for t in [f"Xx {target}"] + [t for _, t in tiny_pairs[1:4]])
    assert scores["n"] == 4 and scores["exact_match"] == 0.75
    assert scores["ser"] == pytest.approx(1 / words)
