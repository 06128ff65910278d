"""A save killed at any moment leaves the complete old model or the complete new one.

A child process saves version after version of a model to one path; the test kills it with
SIGKILL at random moments, then loads the path: it must read (digest verified) as exactly the
last version the child reported saved, or the one it was writing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from shorttext_s2s import loadCharBasedSeq2SeqGenerator
from shorttext_s2s.saving.container import read_model_file

from conftest import under_one_backend

REPO = Path(__file__).resolve().parents[1]
#: Kills of the light writer (h5py and numpy only, forked from a prepared process); the long
#: form sets KILL_COUNT (e.g. ``KILL_COUNT=1000 pytest -s tests/test_interrupted_save.py``).
KILLS = int(os.environ.get("KILL_COUNT", "30"))

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"),
                                 reason="needs fork and SIGKILL (POSIX)")]

# A "zygote": imports the file-format module once (without the package's __init__, which
# imports Keras), then for each "fork <version>" line forks a writer that saves version after
# version to the target, appending each completed version to a progress file; it prints the
# writer's pid, reaps it once killed, and prints "reaped". Forking makes the 30 kills cheap;
# write_model_file is the whole atomic-save path.
_ZYGOTE = textwrap.dedent("""
    import os, sys, types
    package = types.ModuleType("shorttext_s2s")
    package.__path__ = [sys.argv[1] + "/shorttext_s2s"]
    sys.modules["shorttext_s2s"] = package
    import numpy as np
    from shorttext_s2s.saving.container import ModelFile, write_model_file
    target, progress = sys.argv[2], sys.argv[3]
    for command in sys.stdin:
        version = int(command.split()[1])
        pid = os.fork()
        if pid == 0:
            with open(progress, "w") as log:
                while True:
                    write_model_file(target, ModelFile(
                        kind="Versioned", config={"version": version},
                        weights={"layer": [np.full((256, 256), version, np.float32),
                                           np.arange(1000, dtype=np.int64) * version]},
                        optimizer=[np.full((128,), -version, np.float64)]))
                    log.write(f"{version}\\n")
                    log.flush()
                    version += 1
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
""")

# The real save path: a generator whose output-layer bias is set to the version number.
_MODEL_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from shorttext_s2s import loadCharBasedSeq2SeqGenerator
    target, version = sys.argv[2], int(sys.argv[3])
    generator = loadCharBasedSeq2SeqGenerator(target)
    dense = generator.seq2seq.model.get_layer("decoder_dense")
    while True:
        kernel, bias = dense.get_weights()
        dense.set_weights([kernel, np.full_like(bias, version)])
        generator.save_compact_model(target)
        print(version, flush=True)
        version += 1
""")


def _start(script: str, target: Path, version: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, str(REPO), str(target), str(version)],
                            stdout=subprocess.PIPE, text=True)


def _kill_after_first_save(child: subprocess.Popen, delay: float) -> list:
    """Wait until the child has saved once, sleep ``delay``, SIGKILL it; its reported saves."""
    first = child.stdout.readline()
    assert first, "the child ended before saving"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return [int(first)] + [int(line) for line in child.stdout.read().split()]


def _orphans(directory: Path, target: Path) -> list:
    return [p for p in directory.iterdir() if p.name.startswith(f".{target.name}.")]


@under_one_backend("h5py and the file format, without Keras")
def test_killed_light_saves_leave_old_or_new_file(tmp_path):
    rng = random.Random(int(os.environ.get("KILL_SEED", "0")))
    directory = tmp_path / "models"
    directory.mkdir()
    target, progress = directory / "model.h5", tmp_path / "progress"
    zygote = subprocess.Popen([sys.executable, "-c", _ZYGOTE, str(REPO), str(target),
                               str(progress)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    version, interrupted = 0, 0
    try:
        for _ in range(KILLS):
            progress.write_text("")
            zygote.stdin.write(f"fork {version}\n")
            zygote.stdin.flush()
            writer = int(zygote.stdout.readline())
            while not progress.read_text().endswith("\n"):
                time.sleep(0.001)  # until the first save is complete
            time.sleep(rng.uniform(0.0, 0.05))
            os.kill(writer, signal.SIGKILL)
            assert zygote.stdout.readline().strip() == "reaped"
            text = progress.read_text()
            saved = [int(line) for line in text[:text.rindex("\n")].split()]
            contents = read_model_file(target)  # raises on a partial file (digest, structure)
            found = contents.config["version"]
            assert found in (saved[-1], saved[-1] + 1), (found, saved[-1])
            assert np.array_equal(contents.weights["layer"][0],
                                  np.full((256, 256), found, np.float32))
            assert np.array_equal(contents.weights["layer"][1], np.arange(1000) * found)
            assert np.array_equal(contents.optimizer[0], np.full((128,), -found, np.float64))
            orphans = _orphans(directory, target)
            interrupted += bool(orphans)
            for orphan in orphans:  # the only trace a kill may leave: an unused temporary file
                orphan.unlink()
            assert [p.name for p in directory.iterdir()] == [target.name]
            version = found + 1
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    print(f"\n{KILLS} kills, {interrupted} of them inside a save (temporary file present)")
    # Kills landed inside saves (a temporary file was being written), not only between them.
    assert interrupted > 0


def test_killed_model_save_leaves_old_or_new_model(trained_generator, tmp_path):
    target = tmp_path / "generator.h5"
    trained_generator.save_compact_model(target)
    kernel = trained_generator.seq2seq.model.get_layer("decoder_dense").get_weights()[0]
    saved = _kill_after_first_save(_start(_MODEL_CHILD, target, 1),
                                   random.Random(0).uniform(0.0, 0.5))
    loaded = loadCharBasedSeq2SeqGenerator(target)
    new_kernel, bias = loaded.seq2seq.model.get_layer("decoder_dense").get_weights()
    assert np.array_equal(new_kernel, kernel)
    assert float(bias[0]) in (saved[-1], saved[-1] + 1)
    assert np.all(bias == bias[0])
    assert loaded.encoder == trained_generator.encoder
