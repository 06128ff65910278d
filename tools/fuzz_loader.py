"""Fuzzing of the model-file loader: damaged and hostile files, each loaded by the public API.

Every case must end in one of two ways:

* ``ModelFileError`` (or ``ModelFileNotFoundError``) whose message starts with the path; or
* a load that succeeds and gives exactly the saved model: the same contents, and the same
  greedy decodings (the mutation hit bytes the format does not use).

Anything else (another exception, a different model, a crash, a hang) is a failure. The
short form runs in CI (``tests/test_fuzz_loader.py``); the long form is run by hand::

    nice python -m tools.fuzz_loader --cases 20000

It runs the cases in a worker process and restarts it if it dies (a crash of the HDF5
library would kill it) or stops answering (a hang), reporting the case either way.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

#: Inputs decoded to compare a surviving mutation with the original model.
PROBES = ["ab", "ba", "abc", "", "zz", "cab"]
#: Seconds one case may take in the worker before the runner calls it a hang.
HANG_SECONDS = 60
#: Mutations that read as the original and are then also loaded and decoded in full.
FULL_LOADS = 5
#: A group that is no part of the format, where the hostile cases put their entries: the
#: reader checks every entry wherever it is, before it looks at what the entry is for.
EXTRA = "extra"


# --- the original file ---------------------------------------------------------------------

def make_original(directory: str) -> Tuple[str, str]:
    """Save two tiny trained generators: with optimizer state, and final (without).

    Returns:
        The two paths.
    """
    import keras

    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder

    keras.utils.set_random_seed(7)
    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("abc"), latent_dim=4,
                                          maxlen=6, network="lstm")
    generator.compile(optimizer=keras.optimizers.Adam(0.05))
    mark_trained(generator)
    full = os.path.join(directory, "full.s2s.h5")
    final = os.path.join(directory, "final.s2s.h5")
    generator.save_compact_model(full)
    generator.save_compact_model(final, final=True)
    return full, final


def mark_trained(generator) -> None:
    """Make a compiled, untrained generator savable without training it (seconds saved).

    Random weights are as good as trained ones for file tests; the optimizer is built so that
    its state is saved too.
    """
    s2s = generator.seq2seq
    s2s.model.optimizer.build(s2s.model.trainable_variables)
    # No all-zero array (fresh biases and optimizer moments are zeros), so that zeroing any
    # stored array changes the model.
    rng = np.random.default_rng(0)
    for variable in s2s.model.optimizer.variables:
        value = rng.uniform(0.5, 1.0, tuple(variable.shape))
        variable.assign(value.astype(variable.dtype) if value.shape else 3)
    s2s.set_weights([rng.uniform(0.5, 1.0, w.shape).astype(w.dtype)
                     for w in s2s.model.get_weights()])


def regions(path: str) -> Dict[str, List[Tuple[int, int]]]:
    """Byte ranges of the file by role, from h5py's view of its layout.

    ``superblock``: before the root object header; ``header``: object headers; ``data``: the
    arrays' raw bytes; ``other``: everything else (B-trees, heaps, padding).
    """
    import h5py

    size = os.path.getsize(path)
    headers: List[Tuple[int, int]] = []
    data: List[Tuple[int, int]] = []
    with h5py.File(path, "r") as h5:
        objects = [h5]
        h5.visititems(lambda name, obj: objects.append(obj))
        for obj in objects:
            info = h5py.h5o.get_info(obj.id)
            headers.append((info.addr, info.addr + info.hdr.space.total))
            if isinstance(obj, h5py.Dataset) and obj.id.get_storage_size():
                offset = obj.id.get_offset()
                if offset is not None:
                    data.append((offset, offset + obj.id.get_storage_size()))
        root = h5py.h5o.get_info(h5.id).addr
    taken = np.zeros(size, dtype=bool)
    for start, end in headers + data:
        taken[start:end] = True
    taken[:root] = True
    other, start = [], None
    for index, used in enumerate(taken.tolist() + [True]):
        if not used and start is None:
            start = index
        elif used and start is not None:
            other.append((start, index))
            start = None
    return {"superblock": [(0, root)], "header": headers, "data": data, "other": other}


# --- the cases -----------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """One loader input: a name (the kind of damage) and how to make it at ``path``."""

    index: int
    kind: str
    make: Callable[[str], None]
    #: Words one of which the error message must contain (the reason that must be given).
    expect: Tuple[str, ...] = ()
    #: For mutations of a file: the original bytes and its arrays' byte ranges.
    original: Optional[bytes] = None
    data: Tuple[Tuple[int, int], ...] = ()


def _bytes_case(original: bytes, change: Callable[[bytearray], bytes]) -> Callable[[str], None]:
    def make(path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(change(bytearray(original)))
    return make


def mutation(index: int, seed: int, original: bytes, layout: Dict[str, List[Tuple[int, int]]]
             ) -> Case:
    """The ``index``-th random mutation of ``original`` (deterministic given ``seed``)."""
    rng = random.Random(seed * 1_000_003 + index)
    size = len(original)
    region = rng.choice([name for name in layout if layout[name]])
    start, end = rng.choice(layout[region])
    offset = rng.randrange(start, max(start + 1, end))
    kind = rng.choice(["truncate", "flip bit", "flip bytes", "zero block", "random block",
                       "copy block", "insert bytes", "append garbage"])

    def change(data: bytearray) -> bytes:
        if kind == "truncate":
            return bytes(data[:offset])
        if kind == "flip bit":
            data[offset] ^= 1 << rng.randrange(8)
        elif kind == "flip bytes":
            for _ in range(rng.randint(2, 16)):
                data[rng.randrange(size)] ^= rng.randrange(1, 256)
        elif kind == "zero block":
            length = rng.choice([1, 2, 4, 8, 16, 64, 512, 4096])
            data[offset:offset + length] = bytes(len(data[offset:offset + length]))
        elif kind == "random block":
            length = rng.choice([1, 4, 16, 64, 512])
            block = bytes(rng.randrange(256) for _ in range(len(data[offset:offset + length])))
            data[offset:offset + length] = block
        elif kind == "copy block":
            length = rng.choice([8, 16, 64, 256])
            source = rng.randrange(size)
            block = data[source:source + length]
            data[offset:offset + len(block)] = block
            del data[size:]
        elif kind == "insert bytes":
            data[offset:offset] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == "append garbage":
            data.extend(bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096))))
        return bytes(data)

    if kind == "append garbage":
        region = "end"  # where the bytes go, whatever offset was drawn
    elif kind == "flip bytes":
        region = "anywhere"
    return Case(index, f"{kind} @ {region}", _bytes_case(original, change),
                original=original, data=tuple(layout["data"]))


def truncation(index: int, length: int, original: bytes) -> Case:
    """The file cut after ``length`` bytes."""
    return Case(index, "truncate (sweep)", _bytes_case(original, lambda data: bytes(data[:length])))


def special_cases(full: str, final: str, start: int) -> List[Case]:
    """Inputs that are not damaged copies: other files, hostile but well-formed ones."""
    import h5py

    from shorttext_s2s.saving import container as fileformat
    from shorttext_s2s.saving.container import read_model_file, write_model_file

    contents = read_model_file(full)
    cases: List[Tuple[str, Callable[[str], None], Tuple[str, ...]]] = []

    def add(kind: str, expect: Tuple[str, ...] = ()) -> Callable:
        def register(make: Callable[[str], None]) -> Callable[[str], None]:
            cases.append((kind, make, expect))
            return make
        return register

    def with_config(change: Callable[[dict], None]) -> Callable[[str], None]:
        def make(path: str) -> None:
            edited = dataclasses.replace(contents, config=json.loads(json.dumps(contents.config)))
            change(edited.config)
            write_model_file(path, edited)
        return make

    def edited_h5(change: Callable[["h5py.File"], None]) -> Callable[[str], None]:
        def make(path: str) -> None:
            shutil.copyfile(full, path)
            with h5py.File(path, "r+") as h5:
                change(h5)
        return make

    @add("empty file", ("not an HDF5",))
    def _(path: str) -> None:
        open(path, "wb").close()

    @add("directory", ("directory",))
    def _(path: str) -> None:
        os.mkdir(path)

    @add("missing file", ("no such",))
    def _(path: str) -> None:
        pass

    @add("dangling symlink", ("no such",))
    def _(path: str) -> None:
        os.symlink(path + ".nowhere", path)

    @add("named pipe (FIFO)", ("not a regular file",))
    def _(path: str) -> None:
        os.mkfifo(path)

    @add("zip file", ("not an HDF5",))
    def _(path: str) -> None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(full, "model.h5")

    @add("text file", ("not an HDF5",))
    def _(path: str) -> None:
        with open(path, "w") as handle:
            handle.write("ab\tba\n" * 100)

    @add("HDF5 signature then garbage", ("damaged",))
    def _(path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)

    @add("valid HDF5 file of another layout", ("another layout",))
    def _(path: str) -> None:
        with h5py.File(path, "w") as h5:
            h5["weights"] = np.arange(10.0)
            h5.attrs["format"] = "keras"

    @add("Keras-like weights file", ("another layout",))
    def _(path: str) -> None:
        with h5py.File(path, "w") as h5:
            h5.create_group("layers/dense/vars")["0"] = np.ones((3, 3))

    @add("future format_version", ("version",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[fileformat.ATTR_VERSION] = fileformat.FORMAT_VERSION + 1

    @add("format_version of the wrong type", ("wrong type",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[fileformat.ATTR_VERSION] = "one"

    @add("wrong kind (a Seq2SeqWithKeras file)", ("expected a",))
    def _(path: str) -> None:
        write_model_file(path, dataclasses.replace(contents, kind="Seq2SeqWithKeras"))

    @add("unknown kind", ("expected a",))
    def _(path: str) -> None:
        write_model_file(path, dataclasses.replace(contents, kind="os.system"))

    @add("variable-length string attribute", ("wrong type",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[fileformat.ATTR_KIND] = "CharBasedSeq2SeqGenerator"  # h5py: vlen str

    @add("unexpected root attribute", ("unexpected attribute",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs["extra"] = 1

    @add("huge attribute", ("too large",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[fileformat.ATTR_KIND] = np.bytes_(b"x" * 4000)

    @add("digest edited", ("digest",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[fileformat.ATTR_DIGEST] = np.bytes_(b"0" * 64)

    @add("has_optimizer flipped", ("digest",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[fileformat.ATTR_HAS_OPTIMIZER] = False

    @add("weight replaced, digest kept", ("digest",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5[f"{fileformat.WEIGHTS}/decoder_dense/1"][0] += 1.0

    @add("external link", ("link",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5[f"{EXTRA}/x"] = h5py.ExternalLink("/etc/passwd", "/x")

    @add("soft link", ("link",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5[f"{EXTRA}/x"] = h5py.SoftLink(f"/{fileformat.CONFIG}")

    @add("virtual dataset", ("outside the file",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
            layout[:] = h5py.VirtualSource("/elsewhere.h5", "x", shape=(4,))
            h5.create_virtual_dataset(f"{EXTRA}/x", layout)

    @add("dataset stored in an external file", ("outside the file",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.create_dataset(f"{EXTRA}/x", shape=(4,), dtype="f4",
                              external=[(path + ".raw", 0, 16)])

    @add("string dataset", ("non-numeric",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5[f"{EXTRA}/x"] = np.array([b"payload"])

    @add("object-reference dataset", ("non-numeric",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.create_dataset(f"{EXTRA}/x", data=[h5.ref], dtype=h5py.ref_dtype)

    @add("compound dataset", ("non-numeric",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5[f"{EXTRA}/x"] = np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])

    @add("gzip bomb (compressed zeros)", ("compressed",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.create_dataset(f"{EXTRA}/x", shape=(1 << 14, 1 << 14), dtype="f8",
                              chunks=(1024, 1024), compression="gzip", fillvalue=0.0)
            h5[f"{EXTRA}/x"][:1024, :1024] = 0.0

    @add("huge declared shape, no data", ("does not fit",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.create_dataset(f"{EXTRA}/x", shape=(1 << 20, 1 << 20), dtype="f8",
                              chunks=(1, 1 << 10))

    @add("many entries", ("more than",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            group = h5[EXTRA] if EXTRA in h5 else h5.create_group(
                EXTRA)
            for number in range(fileformat.MAX_ENTRIES + 1):
                group.create_dataset(str(number), shape=(0,), dtype="u1")

    @add("nested group", ("unexpected",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            h5.create_group(f"{fileformat.WEIGHTS}/a/b/c")

    @add("config not UTF-8 JSON", ("damaged",))
    def _(path: str) -> None:
        _rewrite_config(full, path, b"\xff\xfe{")

    @add("config is a JSON list", ("not a JSON object",))
    def _(path: str) -> None:
        _rewrite_config(full, path, b"[1, 2]")

    @add("deeply nested JSON config", ("damaged",))
    def _(path: str) -> None:
        _rewrite_config(full, path, b"[" * 100000 + b"]" * 100000)

    add("optimizer naming another module", ("not a Keras built-in",))(with_config(
        lambda c: c["optimizer"].update(module="os", class_name="system")))
    add("optimizer naming a non-built-in class", ("not a Keras built-in",))(with_config(
        lambda c: c["optimizer"].update(class_name="LossScaleOptimizer")))
    add("optimizer with a registered custom name", ("not a Keras built-in",))(with_config(
        lambda c: c["optimizer"].update(registered_name="my_package>Evil")))
    add("optimizer setting that is an object", ("not plain data",))(with_config(
        lambda c: c["optimizer"]["config"].update(
            beta_1={"module": "subprocess", "class_name": "Popen", "config": {}})))
    add("learning-rate schedule from another module", ("not a Keras built-in",))(with_config(
        lambda c: c["optimizer"]["config"].update(
            learning_rate={"module": "builtins", "class_name": "eval",
                           "config": {}, "registered_name": None})))
    add("optimizer with invalid settings", ("invalid optimizer",))(with_config(
        lambda c: c["optimizer"]["config"].update(learning_rate="fast")))
    add("loss naming another module", ("not a Keras built-in",))(with_config(
        lambda c: c.update(loss={"module": "os", "class_name": "system", "config": {},
                                 "registered_name": None})))
    add("loss name that is not a built-in", ("not a Keras built-in",))(with_config(
        lambda c: c.update(loss="__import__")))
    add("loss function by unknown name", ("not a Keras built-in",))(with_config(
        lambda c: c.update(loss={"module": "builtins", "class_name": "function",
                                 "config": "exec", "registered_name": "function"})))
    add("huge maxlen", ("maxlen",))(with_config(
        lambda c: c["generator"].update(maxlen=10 ** 12)))
    add("huge latent_dim (no matching weights)", ("wrong shapes", "does not match"))(with_config(
        lambda c: c["model"].update(latent_dim=10 ** 9)))
    add("vocabulary of another size", ("does not match",))(with_config(
        lambda c: c["encoder"].update(characters="abcdefgh")))
    add("vocabulary that is not characters", ("invalid model description",))(with_config(
        lambda c: c["encoder"].update(characters=["ab"])))
    add("missing hyperparameters", ("invalid model description",))(with_config(
        lambda c: c.pop("generator")))
    add("extra hyperparameter", ("invalid model description",))(with_config(
        lambda c: c["generator"].update(callback="os.system")))
    add("maxlen of the wrong type", ("invalid model description",))(with_config(
        lambda c: c["generator"].update(maxlen="32")))

    @add("weights of the wrong shape", ("wrong shapes",))
    def _(path: str) -> None:
        weights = dict(contents.weights)
        weights["decoder_dense"] = [w[:1] for w in weights["decoder_dense"]]
        write_model_file(path, dataclasses.replace(contents, weights=weights))

    @add("a layer missing", ("missing",))
    def _(path: str) -> None:
        weights = {k: v for k, v in contents.weights.items() if k != "encoder_lstm"}
        write_model_file(path, dataclasses.replace(contents, weights=weights))

    @add("an extra layer", ("unexpected layers",))
    def _(path: str) -> None:
        weights = dict(contents.weights, evil=[np.zeros(3, np.float32)])
        write_model_file(path, dataclasses.replace(contents, weights=weights))

    @add("optimizer state of the wrong shape", ("optimizer state",))
    def _(path: str) -> None:
        write_model_file(path, dataclasses.replace(
            contents, optimizer=[np.zeros((2, 2), np.float32)] * len(contents.optimizer)))

    @add("weights with a gap in their numbering", ("numbered",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        with h5py.File(path, "r+") as h5:
            dense = f"{fileformat.WEIGHTS}/decoder_dense"
            h5.move(f"{dense}/1", f"{dense}/7")
        _redigest(path)

    @add("unreadable file (mode 000)", ("cannot be read",))
    def _(path: str) -> None:
        shutil.copyfile(full, path)
        os.chmod(path, 0)

    return [Case(start + number, kind, make, expect)
            for number, (kind, make, expect) in enumerate(cases)]


def _rewrite_config(full: str, path: str, config: bytes) -> None:
    import h5py

    from shorttext_s2s.saving import container as fileformat

    shutil.copyfile(full, path)
    with h5py.File(path, "r+") as h5:
        del h5[fileformat.CONFIG]
        h5[fileformat.CONFIG] = np.frombuffer(config, dtype=np.uint8)
    _redigest(path)


def _redigest(path: str) -> None:
    """Recompute the digest after an edit, so the check under test is not the digest's."""
    import h5py

    from shorttext_s2s.saving import container as fileformat

    with h5py.File(path, "r+") as h5:
        flat: Dict[str, np.ndarray] = {}
        h5.visititems(lambda name, obj: flat.__setitem__(name, obj[()])
                      if isinstance(obj, h5py.Dataset) else None)
        attrs = {key: h5.attrs[key] for key in fileformat.DIGESTED_ATTRS}
        attrs = {key: value.item() if isinstance(value, np.generic) else value
                 for key, value in attrs.items()}
        attrs = {key: value.decode() if isinstance(value, bytes) else value
                 for key, value in attrs.items()}
        h5.attrs[fileformat.ATTR_DIGEST] = np.bytes_(fileformat._digest(attrs, flat).encode())


# --- checking one case ---------------------------------------------------------------------

class Checker:
    """Loads case files and judges the outcome against the original model."""

    def __init__(self, full: str, final: str, workdir: str) -> None:
        from shorttext_s2s import loadCharBasedSeq2SeqGenerator
        from shorttext_s2s.saving.container import read_model_file

        self.workdir = workdir
        self.originals = {path: read_model_file(path) for path in (full, final)}
        self.decoded = loadCharBasedSeq2SeqGenerator(full).decode_batch(PROBES)
        self.full_loads = 0

    def check(self, case: Case) -> Tuple[str, Optional[str]]:
        """Run one case.

        The public loader is ``read_model_file`` followed by a deterministic function of its
        result, so a file that reads as exactly one of the originals needs no further load
        (the first few such files are loaded and decoded anyway, to show it). Every other
        file goes through the public loader.

        Returns:
            ``(outcome, failure)``: outcome is ``"error"``, ``"same model"``, ``"crash"`` or
            ``"skipped"``; failure is ``None`` or what went wrong.
        """
        from shorttext_s2s import CharBasedSeq2SeqGenerator, ModelFileError
        from shorttext_s2s import loadCharBasedSeq2SeqGenerator
        from shorttext_s2s.saving.container import read_model_file

        path = os.path.join(self.workdir, f"case-{case.index}.s2s.h5")
        try:
            case.make(path)
            if case.kind.startswith("unreadable") and os.access(path, os.R_OK):
                return "skipped", None  # root (or a capability) reads whatever the mode says
            try:
                contents = read_model_file(path, kind=CharBasedSeq2SeqGenerator.__name__)
                if any(_same(contents, original) for original in self.originals.values()):
                    touched = _touched_arrays(case, path)
                    if touched:
                        return "same model", touched
                    if self.full_loads >= FULL_LOADS:
                        return "same model", _refused(case)
                loaded = loadCharBasedSeq2SeqGenerator(path)
            except ModelFileError as exc:
                if not str(exc).startswith(path):
                    return "error", f"message does not start with the path: {exc}"
                if case.expect and not any(word in str(exc) for word in case.expect):
                    return "error", f"unexpected reason (wanted {case.expect}): {exc}"
                return "error", None
            except Exception as exc:  # noqa: BLE001 - any other exception is the failure
                return "crash", f"{type(exc).__name__}: {exc}"
            self.full_loads += 1
            if not any(_same(contents, original) for original in self.originals.values()):
                return "same model", "loaded a model different from the saved one"
            if loaded.decode_batch(PROBES) != self.decoded:
                return "same model", "decodes differently from the saved model"
            return "same model", _refused(case)
        finally:
            _remove(path)


def _touched_arrays(case: Case, path: str) -> Optional[str]:
    """Whether a mutation that loads changed bytes of the arrays (it cannot have: digest)."""
    if case.original is None or os.path.getsize(path) != len(case.original):
        return None
    with open(path, "rb") as handle:
        mutated = np.frombuffer(handle.read(), dtype=np.uint8)
    changed = np.flatnonzero(mutated != np.frombuffer(case.original, dtype=np.uint8))
    for start, end in case.data:
        if ((changed >= start) & (changed < end)).any():
            return "changed array bytes, yet loaded"
    return None


def _refused(case: Case) -> Optional[str]:
    return "loaded although it should have been refused" if case.expect else None


def _same(a, b) -> bool:
    def arrays(contents):
        items = {f"w/{k}/{i}": v for k, vs in contents.weights.items() for i, v in enumerate(vs)}
        items.update({f"o/{i}": v for i, v in enumerate(contents.optimizer or [])})
        return items

    left, right = arrays(a), arrays(b)
    return (a.kind == b.kind and a.config == b.config
            and (a.optimizer is None) == (b.optimizer is None) and left.keys() == right.keys()
            and all(left[k].dtype == right[k].dtype and np.array_equal(left[k], right[k])
                    for k in left))


def _remove(path: str) -> None:
    if os.path.islink(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # the unreadable case
        os.unlink(path)
    if os.path.exists(path + ".raw"):  # the external-storage case's raw file
        os.unlink(path + ".raw")


# --- running many ----------------------------------------------------------------------------

def all_cases(full: str, final: str, count: int, seed: int, sweep: bool) -> Iterator[Case]:
    """The special cases, then (if ``sweep``) every truncation length of the compact file,
    then random mutations of both files until ``count`` cases in all."""
    specials = special_cases(full, final, 0)
    yield from specials[:count]
    index = len(specials)
    originals = []
    for path in (full, final):
        with open(path, "rb") as handle:
            originals.append((handle.read(), regions(path)))
    if sweep:
        data = originals[1][0]
        for length in range(len(data)):
            if index >= count:
                return
            yield truncation(index, length, data)
            index += 1
    while index < count:
        data, layout = originals[index % 2]
        yield mutation(index, seed, data, layout)
        index += 1


@dataclasses.dataclass
class Tally:
    """What a run tried and what came of it."""

    tried: int = 0
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    #: Outcomes per damage kind ("flip bit", "truncate", ...; special cases as "special").
    kinds: Dict[str, collections.Counter] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    #: Outcomes per region of the file a random mutation started in.
    regions: Dict[str, collections.Counter] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    #: Outcomes per (damage, region) of the random mutations.
    cells: Dict[Tuple[str, str], collections.Counter] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    failures: List[str] = dataclasses.field(default_factory=list)

    def add(self, case_index: int, kind: str, outcome: str, failure: Optional[str]) -> None:
        self.tried += 1
        self.outcomes[outcome] += 1
        damage, _, region = kind.partition(" @ ")
        if not region and damage != "truncate (sweep)":
            damage = "special file"
        self.kinds[damage][outcome] += 1
        if region:
            self.regions[region][outcome] += 1
            self.cells[(damage, region)][outcome] += 1
        if failure:
            self.failures.append(f"case {case_index} ({kind}): {failure}")

    def summary(self) -> str:
        def counts(counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))

        lines = [f"cases tried: {self.tried}", f"failures: {len(self.failures)}",
                 f"outcomes: {counts(self.outcomes)}", "by damage:"]
        lines += [f"  {kind}: {counts(self.kinds[kind])}" for kind in sorted(self.kinds)]
        lines += ["by region (random mutations):"]
        lines += [f"  {name}: {counts(self.regions[name])}" for name in sorted(self.regions)]
        return "\n".join(lines + self.failures[:50])


def run_in_process(full: str, final: str, count: int, seed: int, sweep: bool,
                   workdir: str) -> Tally:
    """Run the cases in this process (what CI does; a crash would fail the test run)."""
    checker = Checker(full, final, workdir)
    tally = Tally()
    for case in all_cases(full, final, count, seed, sweep):
        outcome, failure = checker.check(case)
        tally.add(case.index, case.kind, outcome, failure)
    return tally


def _worker(args: argparse.Namespace) -> None:
    """Child side of :func:`run_guarded`: runs cases from ``--start``, one JSON line each."""
    checker = Checker(args.full, args.final, args.workdir)
    for case in all_cases(args.full, args.final, args.cases, args.seed, args.sweep):
        if case.index < args.start:
            continue
        print(json.dumps({"start": case.index, "kind": case.kind}), flush=True)
        outcome, failure = checker.check(case)
        print(json.dumps({"done": case.index, "kind": case.kind, "outcome": outcome,
                          "failure": failure}), flush=True)


def run_guarded(full: str, final: str, count: int, seed: int, sweep: bool, workdir: str,
                log: Callable[[str], None] = print) -> Tally:
    """Run the cases in a worker process, restarting it after a crash or a hang."""
    tally = Tally()
    start = 0
    while start < count:
        command = [sys.executable, "-m", "tools.fuzz_loader", "--worker", "--full", full,
                   "--final", final, "--workdir", workdir, "--cases", str(count),
                   "--seed", str(seed), "--start", str(start)] + (["--sweep"] if sweep else [])
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                  cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        current: Optional[Tuple[int, str]] = None
        last = time.monotonic()
        while True:
            ready, _, _ = select.select([worker.stdout], [], [], 5)
            if ready:
                line = worker.stdout.readline()
                if not line:
                    break
                message = json.loads(line)
                last = time.monotonic()
                if "start" in message:
                    current = (message["start"], message["kind"])
                else:
                    tally.add(message["done"], message["kind"], message["outcome"],
                              message["failure"])
                    current = None
                    start = message["done"] + 1
                    if tally.tried % 1000 == 0:
                        log(f"... {tally.tried} cases, {len(tally.failures)} failures")
            elif current is not None and time.monotonic() - last > HANG_SECONDS:
                worker.kill()
                break
        code = worker.wait()
        if current is not None:  # the worker died (or hung) inside this case
            reason = f"worker process ended with {code} (crash or hang)"
            tally.add(current[0], current[1], "crash", reason)
            start = current[0] + 1
        elif code != 0:
            raise RuntimeError(f"fuzz worker failed outside a case (exit {code})")
    return tally


def table(full: str, final: str, workdir: str) -> List[Tuple[str, str]]:
    """Each special case and the message the user gets (the path shown as ``<path>``)."""
    from shorttext_s2s import ModelFileError, loadCharBasedSeq2SeqGenerator

    rows = []
    for case in special_cases(full, final, 0):
        path = os.path.join(workdir, f"table-{case.index}.s2s.h5")
        try:
            case.make(path)
            if case.kind.startswith("unreadable") and os.access(path, os.R_OK):
                rows.append((case.kind, "(not tried: this user reads any file)"))
                continue
            loadCharBasedSeq2SeqGenerator(path)
            rows.append((case.kind, "loaded"))
        except ModelFileError as exc:
            rows.append((case.kind, f"{type(exc).__name__}: "
                                    f"{str(exc).replace(path, '<path>')[:150]}"))
        finally:
            _remove(path)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000, help="how many cases in all")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random mutations")
    parser.add_argument("--sweep", action="store_true",
                        help="include every truncation length of the final (smaller) file")
    parser.add_argument("--in-process", action="store_true",
                        help="no worker process (faster start, but a crash ends the run)")
    parser.add_argument("--table", action="store_true",
                        help="print each special case and the message it gives, then stop")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--full", help=argparse.SUPPRESS)
    parser.add_argument("--final", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir:
        full, final = make_original(workdir)
        if args.table:
            for kind, message in table(full, final, workdir):
                print(f"{kind}\t{message}")
            return 0
        print(f"original files: {os.path.getsize(full)} and {os.path.getsize(final)} bytes")
        runner = run_in_process if args.in_process else run_guarded
        tally = runner(full, final, args.cases, args.seed, args.sweep, workdir)
    print(tally.summary())
    print(f"seconds: {time.monotonic() - began:.0f}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
