"""Training across processes (shorttext_s2s.training.distributed): two processes on 127.0.0.1, one CPU
device each, against one process on the same global batches; the command line's
``--distributed``, its stop on a signal to one process, and resuming."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from conftest import REPO, first_unique_pairs

from shorttext_s2s.training import distributed
from shorttext_s2s.training.batches import PairBatches
from shorttext_s2s.exceptions import DistributedError

JAX = keras.backend.backend() == "jax"
needs_jax = pytest.mark.skipif(not JAX, reason="training across processes runs on JAX")

# Each process runs this. Argument: a JSON object of settings.
_TRAIN = textwrap.dedent("""
    import json, sys
    import numpy as np
    settings = json.loads(sys.argv[1])
    from shorttext_s2s.training import distributed
    distribution = distributed.initialize() if settings["processes"] > 1 else None
    import keras
    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from shorttext_s2s.training.batches import PairBatches
    fed = []  # the rows of every batch this process fed
    make_batch = PairBatches.__getitem__
    PairBatches.__getitem__ = lambda self, i: fed.append(len(make_batch(self, i)[1])) or \
        make_batch(self, i)
    keras.utils.set_random_seed(0)
    pairs = settings["pairs"]
    encoder = SentenceToCharVecEncoder.from_pairs(pairs)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=16, maxlen=24, network="lstm")
    history = generator.train_pairs(
        pairs, epochs=3, batch_size=8, seed=1, verbose=0, early_stopping=0,
        optimizer=keras.optimizers.Adam(0.02), distribution=distribution, length_step=8,
        validation_split=0.25, checkpoint=settings["checkpoint"])
    rank = distributed.process_index()
    np.savez(settings["weights"] + f".{rank}.npz", *generator.seq2seq.model.get_weights())
    print("RESULT", json.dumps({"rank": rank, "count": distributed.process_count(),
                                "rows": sorted(set(fed)),
                                "loss": history.history["loss"],
                                "val_loss": history.history["val_loss"],
                                "decoded": generator.decode_batch(settings["inputs"])}))
""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(rank: int, count: int, port: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2",
               KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
               KERAS_DISTRIBUTION_NUM_PROCESSES=str(count),
               KERAS_DISTRIBUTION_PROCESS_ID=str(rank))
    env.pop("XLA_FLAGS", None)  # one CPU device a process
    return env


def _launch(argv: list, count: int, **kwargs) -> list:
    port = _free_port()
    return [subprocess.Popen(argv, env=_environment(rank, count, port), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kwargs)
            for rank in range(count)]


def _communicate(processes: list, timeout: float) -> list:
    """Each process's (stdout, stderr); all are killed if one is not done in time."""
    try:
        return [process.communicate(timeout=timeout) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _results(processes: list, timeout: float = 400) -> list:
    results = []
    for process, (out, err) in zip(processes, _communicate(processes, timeout)):
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert process.returncode == 0 and lines, err[-3000:]
        results.append(json.loads(lines[-1][len("RESULT "):]))
    return results


@pytest.mark.slow
@needs_jax
def test_two_processes_train_as_one_on_the_same_global_batches(tmp_path):
    pairs = first_unique_pairs(40)
    inputs = [source for source, _ in pairs[:6]]
    runs = {}
    for count in (1, 2):
        settings = {"processes": count, "pairs": pairs, "inputs": inputs,
                    "checkpoint": str(tmp_path / f"run{count}.s2s.h5"),
                    "weights": str(tmp_path / f"weights{count}")}
        runs[count] = _results(_launch([sys.executable, "-c", _TRAIN, json.dumps(settings)],
                                       count))
    (alone,), pair = runs[1], runs[2]
    assert [r["rank"] for r in pair] == [0, 1] and {r["count"] for r in pair} == {2}
    # Each process fed half of every batch (of 8 pairs, or fewer at the end of an epoch).
    assert max(alone["rows"]) == 8 and all(n % 2 == 0 for n in alone["rows"])
    assert [r["rows"] for r in pair] == [[n // 2 for n in alone["rows"]]] * 2
    # The same losses on every process, and the same as one process on the whole batches.
    for result in pair:
        np.testing.assert_allclose(result["loss"], alone["loss"], rtol=1e-4)
        np.testing.assert_allclose(result["val_loss"], alone["val_loss"], rtol=1e-4)
        assert result["decoded"] == alone["decoded"]
    reference = np.load(tmp_path / "weights1.0.npz")
    for rank in (0, 1):
        weights = np.load(tmp_path / f"weights2.{rank}.npz")
        assert len(weights.files) == len(reference.files)
        for name in reference.files:
            np.testing.assert_allclose(weights[name], reference[name], rtol=1e-3, atol=1e-5)
    # Process 0 alone wrote the checkpoint.
    assert (tmp_path / "run2.s2s.h5").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("run2") and p.suffix == ".tmp"]


def _cli(*args: str) -> list:
    return [sys.executable, "-m", "shorttext_s2s", *args]


@pytest.mark.slow
@needs_jax
def test_a_signal_to_one_process_stops_all_and_the_run_resumes(tmp_path):
    pairs = first_unique_pairs(80)
    data = tmp_path / "pairs.txt"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    model, checkpoint = tmp_path / "model.s2s.h5", tmp_path / "run.s2s.h5"
    train = ["train", str(data), "-o", str(model), "--checkpoint", str(checkpoint),
             "--latent-dim", "8", "--batch-size", "4", "--network", "lstm", "--seed", "3",
             "--distributed"]
    processes = _launch(_cli(*train, "--epochs", "1000"), 2)
    # Wait for the first epoch's checkpoint, then stop process 1 alone.
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and time.monotonic() < deadline \
            and all(p.poll() is None for p in processes):
        time.sleep(0.5)
    if checkpoint.exists():
        processes[1].send_signal(signal.SIGTERM)
    outputs = _communicate(processes, 120)
    assert checkpoint.exists(), outputs
    assert [p.returncode for p in processes] == [128 + signal.SIGTERM] * 2, outputs
    assert "SIGTERM received" in outputs[1][1]
    # Process 0 saved the best completed epoch and said how to go on.
    assert model.exists() and "--resume" in outputs[0][1]
    assert "go on with" not in outputs[1][1]

    from shorttext_s2s import loadCharBasedSeq2SeqGenerator

    epochs = loadCharBasedSeq2SeqGenerator(str(checkpoint)).epochs_trained
    assert epochs >= 1
    resumed = _launch(_cli(*train, "--epochs", str(epochs + 1), "--resume"), 2)
    outputs = _communicate(resumed, 300)
    assert [p.returncode for p in resumed] == [0, 0], outputs
    assert loadCharBasedSeq2SeqGenerator(str(model)).epochs_trained == epochs + 1
    # Progress is process 0's alone.
    assert "Epoch" in outputs[0][0] and "Epoch" not in outputs[1][0]
    assert "pairs," in outputs[0][0] and "pairs," not in outputs[1][0]


def test_the_shards_of_a_batch_make_the_batch():
    rng = np.random.default_rng(0)
    ids = np.zeros((30, 12), dtype=np.int32)
    for row, length in enumerate(rng.integers(1, 12, size=30)):
        ids[row, :length] = rng.integers(1, 6, size=length)
    whole = PairBatches(ids, ids, ids, 6, batch_size=8, seed=4, multiple_of=2)
    shards = [PairBatches(ids, ids, ids, 6, batch_size=8, seed=4, multiple_of=2,
                          shard=(index, 2)) for index in range(2)]
    for epoch in range(2):
        for batches in [whole, *shards]:
            batches.set_epoch(epoch)
        assert all(len(shard) == len(whole) for shard in shards)
        for index in range(len(whole)):
            (source, decoder), target = whole[index]
            parts = [shard[index] for shard in shards]
            # Halves of the batch, each padded to the whole batch's length.
            assert len(parts[0][1]) == len(parts[1][1]) == len(target) // 2
            np.testing.assert_array_equal(np.concatenate([p[0][0] for p in parts]), source)
            np.testing.assert_array_equal(np.concatenate([p[0][1] for p in parts]), decoder)
            np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), target)
    with pytest.raises(ValueError, match="shard"):
        PairBatches(ids, ids, ids, 6, batch_size=8, multiple_of=2, shard=(2, 2))
    with pytest.raises(ValueError, match="shard"):
        PairBatches(ids, ids, ids, 6, batch_size=8, multiple_of=1, shard=(0, 2))


def test_outside_a_run_every_process_is_the_only_one():
    assert distributed.process_count() == 1 and distributed.process_index() == 0
    assert distributed.is_main_process()
    assert distributed.any_process(3) == 3 and distributed.shared_seed(None) is None
    assert not distributed.spans_processes(None)


@pytest.mark.skipif(JAX, reason="the refusal is the TensorFlow backend's")
def test_tensorflow_refuses_to_train_across_processes(tmp_path):
    with pytest.raises(DistributedError, match="KERAS_BACKEND=jax.*MirroredStrategy"):
        distributed.initialize("127.0.0.1:1", 2, 0)
    from shorttext_s2s.cli import main

    data = tmp_path / "pairs.txt"
    data.write_text("Go.\tVa !\n", encoding="utf-8")
    assert main(["train", str(data), "-o", str(tmp_path / "m.h5"), "--distributed"]) == 1
    assert not (tmp_path / "m.h5").exists()


def test_process_settings_need_distributed(tmp_path, capsys):
    from shorttext_s2s.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "pairs.txt", "-o", str(tmp_path / "m.h5"), "--process-id", "1"])
    assert exit_.value.code == 2
    assert "--process-id only apply with --distributed" in capsys.readouterr().err
