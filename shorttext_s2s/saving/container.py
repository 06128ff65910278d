"""The one-file model format: an HDF5 file described entirely by data.

Layout (every name below is a constant of this module, so writer and reader cannot drift)::

    /                      attrs: format, format_version, kind, has_optimizer, digest
    /config                uint8: the description as UTF-8 JSON (its sections: saving.description)
    /weights/<layer>/<i>   the layer's i-th weight array
    /optimizer/<i>         the optimizer's i-th variable (absent when saved with final=True)
    /selected/<i>          a checkpoint's i-th weight of the best epoch so far, when its
                           weights are not the file's own (``get_weights()`` order)

Version 2 (this release) changed only the description; version 1 files (release 0.1.0) are
read too, with their version in :attr:`ModelFile.version`.

Nothing in the file is executable and nothing is unpickled: the reader accepts only numeric
arrays, stored in the file itself (no links to other files or objects, no virtual datasets,
no compression filters), each no larger than the file, so a hostile file cannot make it read
other files or allocate more memory than the file's own size. ``digest`` is a SHA-256 over
every attribute and array (name, dtype, shape, bytes), checked on load, so accidental damage
(a truncated download, a flipped bit) is reported instead of decoded. It is a checksum, not a
signature: it does not tell who wrote the file.

The JSON is encoded with ``surrogatepass``, so vocabularies holding lone surrogates (such as
``'\\udce9'``, which Python uses for undecodable bytes) round-trip exactly. Files are written
beside the target and renamed over it once complete: an interrupted save changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..catalog import MODEL_FORMAT as FORMAT_NAME
from ..exceptions import ModelFileError, ModelFileNotFoundError, PathLike
from .atomic import atomic_path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "READABLE_VERSIONS", "ModelFile",
           "write_model_file", "read_model_file", "atomic_path", "MAX_ENTRIES"]

#: The version this release writes.
FORMAT_VERSION = 2
#: The versions this release reads.
READABLE_VERSIONS = (1, 2)

# --- the names in the file: the only place they are spelled -------------------------------
ATTR_FORMAT = "format"
ATTR_VERSION = "format_version"
ATTR_KIND = "kind"
ATTR_HAS_OPTIMIZER = "has_optimizer"
ATTR_DIGEST = "digest"
#: Root attributes covered by the digest, in digest order.
DIGESTED_ATTRS = (ATTR_FORMAT, ATTR_VERSION, ATTR_KIND, ATTR_HAS_OPTIMIZER)
CONFIG = "config"
WEIGHTS = "weights"
OPTIMIZER = "optimizer"
SELECTED = "selected"

# --- limits the reader enforces before reading anything large -----------------------------
#: Most datasets a model file may hold (a generator has about 20).
MAX_ENTRIES = 4096
#: Most bytes of one root attribute (they are short names and a hex digest).
_MAX_ATTR_BYTES = 1024
#: Most dimensions of one array.
_MAX_NDIM = 8
#: Array element kinds accepted: bool, signed and unsigned integers, floats.
_NUMERIC_KINDS = "biuf"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_TEXT_ENCODING = ("utf-8", "surrogatepass")


@dataclass
class ModelFile:
    """The contents of a model file, as plain Python and numpy values.

    Attributes:
        kind: what the file holds (the class name of the saved object).
        config: JSON-compatible description (hyperparameters, vocabulary, optimizer config).
        weights: arrays per layer name, in the layer's ``get_weights()`` order.
        optimizer: the optimizer's variables in order, or ``None`` when saved as final.
        selected: the weights of the best epoch so far in ``keras.Model.get_weights()``
            order, where a checkpoint's own weights are those of a later epoch; else None.
        version: the format version the file was written in (:data:`FORMAT_VERSION` for
            contents about to be written).
    """

    kind: str
    config: Dict[str, Any]
    weights: Dict[str, List[np.ndarray]]
    optimizer: Optional[List[np.ndarray]] = None
    version: int = FORMAT_VERSION
    selected: Optional[List[np.ndarray]] = None


def _frame(sha: "hashlib._Hash", data: bytes) -> None:
    # Length-prefixed, so no two different contents hash the same byte stream.
    sha.update(len(data).to_bytes(8, "little"))
    sha.update(data)


def _digest(attrs: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str:
    sha = hashlib.sha256()
    for key in DIGESTED_ATTRS:
        _frame(sha, f"{key}={attrs[key]}".encode(*_TEXT_ENCODING))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        _frame(sha, f"{name}:{array.dtype.str}:{array.shape}".encode(*_TEXT_ENCODING))
        _frame(sha, array.tobytes())
    return sha.hexdigest()


def _flatten(model: ModelFile) -> Dict[str, np.ndarray]:
    config = json.dumps(model.config, sort_keys=True, ensure_ascii=False, allow_nan=False)
    flat: Dict[str, np.ndarray] = {
        CONFIG: np.frombuffer(config.encode(*_TEXT_ENCODING), dtype=np.uint8)}
    for layer, values in model.weights.items():
        for index, value in enumerate(values):
            flat[f"{WEIGHTS}/{layer}/{index}"] = np.asarray(value)
    for index, value in enumerate(model.optimizer or []):
        flat[f"{OPTIMIZER}/{index}"] = np.asarray(value)
    for index, value in enumerate(model.selected or []):
        flat[f"{SELECTED}/{index}"] = np.asarray(value)
    for name, value in flat.items():
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"array {name!r} has dtype {value.dtype}; a model file holds only "
                            f"numeric arrays.")
    return flat


def write_model_file(path: PathLike, model: ModelFile) -> None:
    """Write ``model`` to ``path`` atomically (see :func:`atomic_path`).

    Args:
        path: the file to write; a previous file there is replaced only once the new one is
            complete.
        model: the contents.

    Raises:
        TypeError: an array is not numeric, or the config is not JSON-serialisable.
        ValueError: the config holds NaN or infinity (not valid JSON).
    """
    import h5py

    if model.version not in READABLE_VERSIONS:
        raise ValueError(f"Received an invalid format version {model.version!r}, expected one "
                         f"of {READABLE_VERSIONS}.")
    # The version the contents were described in, so that a file read and written back
    # unchanged keeps meaning what it meant.
    attrs = {ATTR_FORMAT: FORMAT_NAME, ATTR_VERSION: model.version, ATTR_KIND: model.kind,
             ATTR_HAS_OPTIMIZER: model.optimizer is not None}
    flat = _flatten(model)
    digest = _digest(attrs, flat)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            for key, value in dict(attrs, **{ATTR_DIGEST: digest}).items():
                # Strings as fixed-length bytes, kept in the object header: variable-length
                # ones live in HDF5's global heap, whose damaged forms can hang the reader.
                h5.attrs[key] = np.bytes_(value.encode("utf-8")) if isinstance(value, str) \
                    else value
            for name, value in flat.items():
                h5.create_dataset(name, data=value)


def read_model_file(path: PathLike, kind: Optional[str] = None) -> ModelFile:
    """Read and verify a model file.

    Only what this module writes is accepted; everything is checked before it is used.

    Args:
        path: the file.
        kind: if given, the kind the caller expects; another kind is an error.

    Returns:
        The file's contents.

    Raises:
        ModelFileNotFoundError: ``path`` does not exist.
        ModelFileError: anything else: not a file, unreadable, not HDF5, not this format, an
            unknown version, another kind, a missing, unexpected or oversized part, or a
            digest mismatch (corruption). The message starts with the path.
    """
    path_str = os.fspath(path)
    if not os.path.exists(path_str):
        raise ModelFileNotFoundError(path_str)
    if os.path.isdir(path_str):
        raise ModelFileError(path_str, "is a directory, expected a model file")
    if not os.path.isfile(path_str):
        raise ModelFileError(path_str, "is not a regular file, expected a model file")
    try:
        with open(path_str, "rb") as handle:
            signature = handle.read(len(_HDF5_SIGNATURE))
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise ModelFileError(path_str, f"cannot be read ({exc.strerror or exc})") from None
    if signature != _HDF5_SIGNATURE:
        raise ModelFileError(path_str, "not a shorttext_s2s model file (not an HDF5 file)")
    try:
        return _read_verified(path_str, kind, size)
    except ModelFileError:
        raise
    except Exception as exc:  # h5py, numpy and json raise many types on damaged files.
        raise ModelFileError(path_str, f"damaged or truncated model file "
                                       f"({type(exc).__name__}: {exc})") from None


def _read_verified(path: str, kind: Optional[str], size: int) -> ModelFile:
    import h5py

    with h5py.File(path, "r") as h5:
        if _read_attr(path, h5, ATTR_FORMAT, str, required=False) != FORMAT_NAME:
            raise ModelFileError(path, "not a shorttext_s2s model file (an HDF5 file of "
                                       "another layout)")
        version = _read_attr(path, h5, ATTR_VERSION, int)
        if version not in READABLE_VERSIONS:
            raise ModelFileError(path, f"format version {version} is not supported by this "
                                       f"release (it reads versions "
                                       f"{', '.join(map(str, READABLE_VERSIONS))})")
        attrs = {ATTR_FORMAT: FORMAT_NAME, ATTR_VERSION: version,
                 ATTR_KIND: _read_attr(path, h5, ATTR_KIND, str),
                 ATTR_HAS_OPTIMIZER: _read_attr(path, h5, ATTR_HAS_OPTIMIZER, bool)}
        if kind is not None and attrs[ATTR_KIND] != kind:
            raise ModelFileError(path, f"holds a {attrs[ATTR_KIND]}, expected a {kind}")
        stored_digest = _read_attr(path, h5, ATTR_DIGEST, str)
        unknown = sorted(set(h5.attrs.keys()) - set(DIGESTED_ATTRS) - {ATTR_DIGEST})
        if unknown:
            raise ModelFileError(path, f"unexpected attributes {unknown}")
        flat = _read_datasets(path, h5, size)
    if _digest(attrs, flat) != stored_digest:
        raise ModelFileError(path, "corrupted model file: its contents do not match the "
                                   "digest stored when it was saved")
    return _assemble(path, attrs, flat)


def _read_attr(path: str, h5: Any, name: str, expected: type, required: bool = True) -> Any:
    """A small root attribute of the ``expected`` type, its storage checked before reading.

    Returns ``None`` for a missing or mistyped optional attribute.
    """
    if name not in h5.attrs:
        if required:
            raise ModelFileError(path, f"attribute {name!r} is missing")
        return None
    attr_id = h5.attrs.get_id(name)
    # Only fixed-size types are read: a variable-length string would be fetched from the
    # global heap, which a damaged file can make HDF5 loop on forever.
    kinds = {str: "S", int: "iu", bool: "b"}[expected]
    if attr_id.dtype.kind not in kinds or attr_id.shape != ():
        if required:
            raise ModelFileError(path, f"attribute {name!r} has the wrong type")
        return None
    if attr_id.get_storage_size() > _MAX_ATTR_BYTES:
        raise ModelFileError(path, f"attribute {name!r} is too large")
    value = h5.attrs[name]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return value


def _read_datasets(path: str, h5: Any, size: int) -> Dict[str, np.ndarray]:
    """Every dataset, checked for kind and size before its data is read."""
    import h5py

    flat: Dict[str, np.ndarray] = {}
    total = 0
    stack: List[Tuple[str, Any]] = [("", h5)]
    visited = 0
    while stack:
        prefix, group = stack.pop()
        for name in group:
            visited += 1
            if visited > MAX_ENTRIES:
                raise ModelFileError(path, f"more than {MAX_ENTRIES} entries")
            full = f"{prefix}{name}"
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise ModelFileError(path, f"entry {full!r} is a link ({type(link).__name__}); "
                                           f"links are not allowed in a model file")
            item = group[name]
            if isinstance(item, h5py.Group):
                if full.count("/") >= 2:
                    raise ModelFileError(path, f"unexpected group {full!r}")
                stack.append((full + "/", item))
                continue
            if not isinstance(item, h5py.Dataset):
                raise ModelFileError(path, f"unexpected entry {full!r}")
            nbytes = _check_dataset(path, full, item, size)
            total += nbytes
            if total > size:
                raise ModelFileError(path, "the arrays declare more data than the file holds")
            flat[full] = np.asarray(item[()])
    return flat


def _check_dataset(path: str, name: str, dataset: Any, size: int) -> int:
    dtype = dataset.dtype
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.itemsize > 8:
        raise ModelFileError(path, f"array {name!r} has the non-numeric dtype {dtype}")
    if dataset.is_virtual or dataset.external:
        raise ModelFileError(path, f"array {name!r} is stored outside the file")
    if dataset.id.get_create_plist().get_nfilters():
        raise ModelFileError(path, f"array {name!r} is compressed or filtered; model files "
                                   f"store arrays as they are")
    shape = dataset.shape
    if shape is None or len(shape) > _MAX_NDIM:
        raise ModelFileError(path, f"array {name!r} has an invalid shape {shape}")
    nbytes = dtype.itemsize
    for dim in shape:
        nbytes *= int(dim)
    # Unfiltered data lies in the file as it is: an array larger than the file is a lie, and
    # one with less storage than its size would be read as fill values.
    if nbytes > size or dataset.id.get_storage_size() < nbytes:
        raise ModelFileError(path, f"array {name!r} of shape {shape} does not fit in the file")
    return nbytes


def _assemble(path: str, attrs: Mapping[str, Any], flat: Dict[str, np.ndarray]) -> ModelFile:
    if CONFIG not in flat or flat[CONFIG].dtype != np.uint8 or flat[CONFIG].ndim != 1:
        raise ModelFileError(path, "the model description is missing")
    config = json.loads(flat.pop(CONFIG).tobytes().decode(*_TEXT_ENCODING))
    if not isinstance(config, dict):
        raise ModelFileError(path, "the model description is not a JSON object")
    weights: Dict[str, Dict[int, np.ndarray]] = {}
    optimizer: Dict[int, np.ndarray] = {}
    selected: Dict[int, np.ndarray] = {}
    for name, value in flat.items():
        parts = name.split("/")
        if parts[0] == WEIGHTS and len(parts) == 3 and _is_index(parts[2]):
            weights.setdefault(parts[1], {})[int(parts[2])] = value
        elif parts[0] == OPTIMIZER and len(parts) == 2 and _is_index(parts[1]):
            optimizer[int(parts[1])] = value
        elif parts[0] == SELECTED and len(parts) == 2 and _is_index(parts[1]):
            selected[int(parts[1])] = value
        else:
            raise ModelFileError(path, f"unexpected entry {name!r}")
    if optimizer and not attrs[ATTR_HAS_OPTIMIZER]:
        raise ModelFileError(path, "optimizer variables in a file saved without them")
    return ModelFile(kind=attrs[ATTR_KIND], config=config,
                     weights={layer: _in_order(path, f"{WEIGHTS}/{layer}", values)
                              for layer, values in weights.items()},
                     optimizer=(_in_order(path, OPTIMIZER, optimizer)
                                if attrs[ATTR_HAS_OPTIMIZER] else None),
                     version=attrs[ATTR_VERSION],
                     selected=_in_order(path, SELECTED, selected) if selected else None)


def _is_index(text: str) -> bool:
    return text.isdigit() and text.isascii() and (text == "0" or not text.startswith("0"))


def _in_order(path: str, where: str, values: Dict[int, np.ndarray]) -> List[np.ndarray]:
    if sorted(values) != list(range(len(values))):
        raise ModelFileError(path, f"the arrays under {where!r} are not numbered 0..n-1")
    return [values[index] for index in range(len(values))]
