"""The one-file model format: an HDF5 file described entirely by data.

Layout (every name below comes from this module, so writer and reader cannot drift)::

    /                      attrs: format, format_version, kind, config (JSON), digest
    /weights/<layer>/<i>   the layer's i-th weight array
    /optimizer/<i>         the optimizer's i-th variable (absent when saved with final=True)
    /arrays/<name>         further named arrays (e.g. the vocabulary as code points)

``config`` is JSON: hyperparameters, the optimizer's Keras config, the vocabulary. Nothing in
the file is executable and nothing is unpickled. ``digest`` is a SHA-256 over every array
(name, dtype, shape, bytes) and the other attributes, checked on load, so a flipped byte is
reported instead of decoded.

Files are written beside the target and renamed over it only once complete, so an
interrupted save leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional

import numpy as np

from .exceptions import ModelFileError, ModelFileNotFoundError, PathLike

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelFile", "write_model_file", "read_model_file",
           "atomic_path"]

FORMAT_NAME = "shorttext_s2s"
FORMAT_VERSION = 1

_WEIGHTS = "weights"
_OPTIMIZER = "optimizer"
_ARRAYS = "arrays"
_ATTRS = ("format", "format_version", "kind", "config")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass
class ModelFile:
    """The contents of a model file, as plain Python and numpy values.

    Attributes:
        kind: what the file holds (the class name of the saved object).
        config: JSON-compatible description (hyperparameters, vocabulary, optimizer config).
        weights: arrays per layer name, in the layer's ``get_weights()`` order.
        optimizer: the optimizer's variables in order, or ``None`` when saved as final.
        arrays: further named arrays.
    """

    kind: str
    config: Dict[str, Any]
    weights: Dict[str, List[np.ndarray]]
    optimizer: Optional[List[np.ndarray]] = None
    arrays: Dict[str, np.ndarray] = field(default_factory=dict)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Give a temporary path beside ``path``; on success, rename it over ``path``.

    If the block raises (or the process dies), ``path`` keeps its previous content and the
    temporary file is removed (or left as an orphan ``.tmp`` file, never as ``path``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=directory)
    os.close(handle)
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _digest(attrs: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str:
    sha = hashlib.sha256()
    for key in _ATTRS:
        sha.update(f"{key}={attrs[key]}\0".encode("utf-8"))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}:{array.dtype.str}:{array.shape}\0".encode("utf-8"))
        sha.update(array.tobytes())
    return sha.hexdigest()


def _flatten(model: ModelFile) -> Dict[str, np.ndarray]:
    flat: Dict[str, np.ndarray] = {}
    for layer, values in model.weights.items():
        for index, value in enumerate(values):
            flat[f"{_WEIGHTS}/{layer}/{index}"] = np.asarray(value)
    for index, value in enumerate(model.optimizer or []):
        flat[f"{_OPTIMIZER}/{index}"] = np.asarray(value)
    for name, value in model.arrays.items():
        flat[f"{_ARRAYS}/{name}"] = np.asarray(value)
    return flat


def write_model_file(path: PathLike, model: ModelFile) -> None:
    """Write ``model`` to ``path`` atomically (see :func:`atomic_path`)."""
    import h5py

    attrs = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kind": model.kind,
             "config": json.dumps(model.config, sort_keys=True)}
    flat = _flatten(model)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            for key, value in attrs.items():
                h5.attrs[key] = value
            h5.attrs["digest"] = _digest(attrs, flat)
            h5.attrs["has_optimizer"] = model.optimizer is not None
            for name, value in flat.items():
                h5.create_dataset(name, data=value)


def read_model_file(path: PathLike, kind: Optional[str] = None) -> ModelFile:
    """Read and verify a model file.

    Args:
        path: the file.
        kind: if given, the kind the caller expects; another kind is an error.

    Returns:
        The file's contents.

    Raises:
        ModelFileNotFoundError: ``path`` does not exist.
        ModelFileError: anything else: not a file, unreadable, not HDF5, not this format, an
            unknown version, another kind, a missing part, or a digest mismatch (corruption).
    """
    path_str = os.fspath(path)
    if not os.path.exists(path_str):
        raise ModelFileNotFoundError(path_str)
    if os.path.isdir(path_str):
        raise ModelFileError(path_str, "is a directory, expected a model file")
    try:
        with open(path_str, "rb") as handle:
            signature = handle.read(len(_HDF5_SIGNATURE))
    except OSError as exc:
        raise ModelFileError(path_str, f"cannot be read ({exc.strerror or exc})") from None
    if signature != _HDF5_SIGNATURE:
        raise ModelFileError(path_str, "not a shorttext_s2s model file (not an HDF5 file)")
    try:
        return _read_verified(path_str, kind)
    except ModelFileError:
        raise
    except Exception as exc:  # h5py/numpy/json raise many types on damaged files.
        raise ModelFileError(path_str, f"damaged or truncated model file "
                                       f"({type(exc).__name__}: {exc})") from None


def _read_verified(path: str, kind: Optional[str]) -> ModelFile:
    import h5py

    with h5py.File(path, "r") as h5:
        if h5.attrs.get("format") != FORMAT_NAME:
            raise ModelFileError(path, "not a shorttext_s2s model file (an HDF5 file of "
                                       "another layout)")
        version = int(h5.attrs["format_version"])
        if version != FORMAT_VERSION:
            raise ModelFileError(path, f"format version {version} is not supported by this "
                                       f"release (it reads version {FORMAT_VERSION})")
        attrs = {key: h5.attrs[key] for key in _ATTRS}
        attrs = {key: value.decode("utf-8") if isinstance(value, bytes) else value
                 for key, value in attrs.items()}
        if kind is not None and attrs["kind"] != kind:
            raise ModelFileError(path, f"holds a {attrs['kind']}, expected a {kind}")
        flat: Dict[str, np.ndarray] = {}
        h5.visititems(lambda name, obj: flat.__setitem__(name, obj[()])
                      if isinstance(obj, h5py.Dataset) else None)
        stored_digest = h5.attrs["digest"]
        stored_digest = (stored_digest.decode("ascii") if isinstance(stored_digest, bytes)
                         else str(stored_digest))
        has_optimizer = bool(h5.attrs["has_optimizer"])
    if _digest(attrs, flat) != stored_digest:
        raise ModelFileError(path, "corrupted model file: its contents do not match the "
                                   "digest stored when it was saved")
    weights: Dict[str, List[np.ndarray]] = {}
    optimizer: List[np.ndarray] = []
    arrays: Dict[str, np.ndarray] = {}
    for name in sorted(flat, key=_natural_key):
        parts = name.split("/")
        if parts[0] == _WEIGHTS and len(parts) == 3:
            weights.setdefault(parts[1], []).append(flat[name])
        elif parts[0] == _OPTIMIZER and len(parts) == 2:
            optimizer.append(flat[name])
        elif parts[0] == _ARRAYS and len(parts) == 2:
            arrays[parts[1]] = flat[name]
        else:
            raise ModelFileError(path, f"unexpected entry {name!r}")
    return ModelFile(kind=attrs["kind"], config=json.loads(attrs["config"]), weights=weights,
                     optimizer=optimizer if has_optimizer else None, arrays=arrays)


def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in name.split("/"))
