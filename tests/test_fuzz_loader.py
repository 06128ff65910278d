"""The loader refuses every damaged or hostile file with ModelFileError naming the path.

Short form of ``python -m tools.fuzz_loader`` (see that module and docs/robustness.rst).
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import sys

import pytest

from shorttext_s2s import ModelFileError, loadCharBasedSeq2SeqGenerator, loadSeq2SeqWithKeras
from shorttext_s2s.saving.container import read_model_file, write_model_file

from tools import fuzz_loader

#: Cases in CI: every special case plus random mutations; the seed varies with FUZZ_SEED.
CI_CASES = 300


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return fuzz_loader.make_original(str(tmp_path_factory.mktemp("fuzz")))


@pytest.mark.slow
def test_every_damaged_or_hostile_file_is_refused_or_loads_unchanged(originals, tmp_path):
    full, final = originals
    seed = int(os.environ.get("FUZZ_SEED", "0"))
    tally = fuzz_loader.run_in_process(full, final, CI_CASES, seed, sweep=False,
                                       workdir=str(tmp_path))
    assert tally.tried == CI_CASES
    assert not tally.failures, tally.summary()
    # Both outcomes occur: most damage is refused, and some mutations (appended bytes, unused
    # padding) load and were compared with the original, including full loads and decodes.
    assert tally.outcomes["error"] > CI_CASES // 2
    assert tally.outcomes["same model"] > 0
    # Every array byte is covered by the digest: a flipped bit there is always refused (and
    # any mutation that loads is checked to have changed no array byte).
    assert tally.cells[("flip bit", "data")]["error"] > 0
    assert tally.cells[("flip bit", "data")]["same model"] == 0


def test_special_cases_cover_the_documented_inputs(originals):
    kinds = {case.kind for case in fuzz_loader.special_cases(*originals, start=0)}
    for expected in ("empty file", "directory", "zip file", "valid HDF5 file of another layout",
                     "future format_version", "wrong kind (a Seq2SeqWithKeras file)",
                     "unreadable file (mode 000)", "external link", "virtual dataset",
                     "string dataset", "gzip bomb (compressed zeros)",
                     "optimizer naming another module", "loss naming another module"):
        assert expected in kinds


def test_truncation_in_every_region_is_refused(originals, tmp_path):
    full, _ = originals
    with open(full, "rb") as handle:
        data = handle.read()
    layout = fuzz_loader.regions(full)
    assert all(layout[name] for name in ("superblock", "header", "data"))
    for name, ranges in layout.items():
        for start, end in ranges[:3]:
            for cut in sorted({start, (start + end) // 2, max(start, end - 1)}):
                path = tmp_path / f"{name}-{cut}.h5"
                path.write_bytes(data[:cut])
                for load in (loadCharBasedSeq2SeqGenerator, loadSeq2SeqWithKeras):
                    with pytest.raises(ModelFileError) as info:
                        load(path)
                    assert str(info.value).startswith(str(path))


def test_optimizer_config_cannot_import_a_module(originals, tmp_path):
    full, _ = originals
    contents = read_model_file(full)
    assert "this" not in sys.modules  # "import this" prints the Zen of Python: a visible effect
    config = dict(contents.config, optimizer=dict(contents.config["optimizer"], module="this",
                                                  class_name="s"))
    path = tmp_path / "hostile.h5"
    write_model_file(path, dataclasses.replace(contents, config=config))
    with pytest.raises(ModelFileError, match="not a Keras built-in"):
        loadCharBasedSeq2SeqGenerator(path)
    assert "this" not in sys.modules


def test_loss_config_cannot_import_a_module(originals, tmp_path):
    full, _ = originals
    contents = read_model_file(full)
    config = dict(contents.config, loss={"module": "this", "class_name": "s", "config": {},
                                         "registered_name": None})
    path = tmp_path / "hostile.h5"
    write_model_file(path, dataclasses.replace(contents, config=config))
    with pytest.raises(ModelFileError, match="not a Keras built-in"):
        loadCharBasedSeq2SeqGenerator(path)
    assert "this" not in sys.modules


def test_builtin_optimizer_with_schedule_and_loss_object_round_trip(originals, tmp_path):
    import keras

    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder

    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("ab"), latent_dim=4,
                                          maxlen=5, network="lstm")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    generator.compile(optimizer=keras.optimizers.SGD(schedule),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    fuzz_loader.mark_trained(generator)
    path = tmp_path / "sgd.h5"
    generator.save_compact_model(path)
    loaded = loadCharBasedSeq2SeqGenerator(path)
    optimizer = loaded.seq2seq.model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert keras.optimizers.serialize(optimizer)["config"]["learning_rate"][
        "class_name"] == "ExponentialDecay"
    assert loaded.seq2seq.model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    assert loaded.decode_batch(["ab", "b"]) == generator.decode_batch(["ab", "b"])



# The forked child only opens a file (no backend work), so JAX's threads do not matter to it.
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_unreadable_file_is_refused(originals, tmp_path):
    import shutil
    import tempfile

    full, _ = originals
    if os.geteuid() != 0:
        path = tmp_path / "unreadable.h5"
        shutil.copyfile(full, path)
        os.chmod(path, 0)
        with pytest.raises(ModelFileError, match="cannot be read") as info:
            loadCharBasedSeq2SeqGenerator(path)
        assert str(info.value).startswith(str(path))
        return
    # Root reads a mode-000 file anyway: a forked child drops to the unprivileged user
    # "nobody" and reads it from a directory that user may enter.
    directory = tempfile.mkdtemp()
    try:
        os.chmod(directory, 0o755)
        path = os.path.join(directory, "unreadable.h5")
        shutil.copyfile(full, path)
        os.chmod(path, 0)
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report the outcome through the pipe, never return
            try:
                os.setgid(65534)
                os.setuid(65534)
                read_model_file(path)
                message = "loaded"
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                message = f"{type(exc).__name__} {exc}"
            os.write(writer, message.encode("utf-8", "replace"))
            os._exit(0)
        os.close(writer)
        ready, _, _ = select.select([reader], [], [], 60)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        with os.fdopen(reader, encoding="utf-8") as pipe:
            message = pipe.read() if ready else "the child did not answer"
        os.waitpid(pid, 0)
        assert message.startswith(f"ModelFileError {path}: cannot be read"), message
    finally:
        shutil.rmtree(directory)
