"""The vocabulary: which units and tags a model knows, their ids, and ids back to text.

A text is a sequence of units: its characters by default, or, with a separator, the pieces
between separators (``"G R AE N D"`` with ``target_sep=" "`` is five phonemes). Each side has
its own separator, and an input may carry features (tags such as UniMorph's ``V;PST``) that
the encoder reads after the source's units, each tag one unit of its own.

Ids 0 and 1 are reserved: :data:`PAD_ID` fills the positions after the end of a sentence (its
one-hot row is all zeros, so the model masks it) and :data:`UNK_ID` stands for every unit not
seen when the vocabulary was built, so encoding never fails on new text. Turning texts into
arrays is :class:`~shorttext_s2s.encoder.SentenceToCharVecEncoder`'s.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, TypeVar

import numpy as np

from ._checks import check_int

__all__ = ["Vocabulary", "onehot", "PAD_ID", "UNK_ID", "RESERVED", "MAX_SEQUENCE_LENGTH",
           "check_text", "split_units", "check_separators", "check_maxlen"]

PAD_ID = 0
UNK_ID = 1
#: How many ids are reserved (padding and unknown) before the units'.
RESERVED = 2
#: Longest sequence (``maxlen``) a model may have, checked when a model is made and when a
#: file is loaded: arrays of that length are allocated to encode and decode, so neither a
#: typo nor a file from elsewhere may choose it freely. (65,536 characters is far beyond use.)
MAX_SEQUENCE_LENGTH = 1 << 16

V = TypeVar("V", bound="Vocabulary")


class Vocabulary:
    """The units and tags of a model and their ids; the base of
    :class:`~shorttext_s2s.encoder.SentenceToCharVecEncoder`, whose documentation gives the
    arguments.

    The vocabulary is the sorted set of the given units plus the signal character, after the
    two reserved ids (padding and unknown), then the sorted feature tags. Units outside it
    have the unknown id.
    """

    def __init__(self, characters: Iterable[str], signalchar: str = "\n", *,
                 source_sep: Optional[str] = None, target_sep: Optional[str] = None,
                 features: Iterable[str] = (), features_sep: str = ";") -> None:
        if not isinstance(signalchar, str) or len(signalchar) != 1:
            raise ValueError(f"Received an invalid value for argument `signalchar`, expected "
                             f"a single character, got {signalchar!r}.")
        check_separators(signalchar, source_sep, target_sep, features_sep)
        self.signalchar = signalchar
        self.source_sep = source_sep
        self.target_sep = target_sep
        self.features_sep = features_sep
        longer = source_sep is not None or target_sep is not None
        units = _checked_units(characters, "characters", signalchar, longer)
        units.add(signalchar)
        #: The units, sorted (characters unless a separator is set).
        self.characters: List[str] = sorted(units)
        #: The feature tags, sorted; their ids follow the units'.
        self.features: List[str] = sorted(_checked_units(features, "features", signalchar,
                                                         True))
        self.dictionary: Dict[str, int] = {
            char: index for index, char in enumerate(self.characters, start=RESERVED)}
        self.feature_ids: Dict[str, int] = {
            tag: index for index, tag in enumerate(self.features, start=self.first_feature_id)}
        self.signal_id = self.dictionary[signalchar]
        # The id -> text direction, an array for decoding a row at a time.
        self._id_to_char = np.array(self.id_to_unit, dtype=object)

    def __len__(self) -> int:
        return len(self.characters) + len(self.features) + RESERVED

    def __repr__(self) -> str:
        options = "".join(f", {name}={value!r}" for name, value in self._options().items())
        units = ("".join(self.characters) if self.single_characters else self.characters)
        return f"{type(self).__name__}(characters={units!r}, signalchar={self.signalchar!r}" \
               f"{options})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.get_config() == other.get_config()

    @property
    def single_characters(self) -> bool:
        """Whether every unit is one character, read without separators and with no
        features: the encoder of the Keras example and of every file before units."""
        return not self._options() and all(len(unit) == 1 for unit in self.characters)

    @property
    def first_feature_id(self) -> int:
        """The id of the first feature tag: every id from it up is a tag, every id below it
        a unit or a reserved id (the tags' ids follow the units')."""
        return RESERVED + len(self.characters)

    def _units(self, text: str, side: str) -> List[str]:
        if side == "source":
            return self.source_units(text)
        if side == "target":
            return self.target_units(text)
        raise ValueError(f"Received an invalid value for argument `side`, expected 'source' "
                         f"or 'target', got {side!r}.")

    def _options(self) -> Dict[str, Any]:
        """The settings that differ from a plain character encoder's."""
        options: Dict[str, Any] = {}
        if self.source_sep is not None:
            options["source_sep"] = self.source_sep
        if self.target_sep is not None:
            options["target_sep"] = self.target_sep
        if self.features:
            options["features"] = list(self.features)
        if self.features_sep != ";":
            options["features_sep"] = self.features_sep
        return options

    @property
    def id_to_unit(self) -> List[str]:
        """The text of each id, by id: ``""`` for padding and for the tags (which are no
        text), U+FFFD for the unknown id, and each unit, the signal character included, its
        own; for units, the inverse of :attr:`dictionary`.

        Example:

        >>> Vocabulary("ab").id_to_unit
        ['', '\\ufffd', '\\n', 'a', 'b']
        """
        return ["", "\ufffd"] + self.characters + [""] * len(self.features)

    # --- units -----------------------------------------------------------------------------

    def source_units(self, text: str) -> List[str]:
        """The units of an input text: its characters, or its pieces between ``source_sep``
        (empty pieces, from repeated separators, are dropped)."""
        return split_units(text, self.source_sep)

    def target_units(self, text: str) -> List[str]:
        """The units of an output text; see :meth:`source_units`."""
        return split_units(text, self.target_sep)

    def feature_units(self, features: Optional[str]) -> List[str]:
        """The tags of an input's features (``"N;ACC;PL"`` -> ``["N", "ACC", "PL"]``); none
        for None or ``""``."""
        return split_units(features, self.features_sep) if features else []

    def source_length(self, text: str, features: Optional[str] = None) -> int:
        """How many positions an input takes in the encoder: its units and its tags."""
        return len(self.source_units(text)) + len(self.feature_units(features))

    def target_length(self, text: str) -> int:
        """How many units an output has (the end signal not counted)."""
        return len(self.target_units(text))

    def char_id(self, char: str) -> int:
        """Return the id of a unit; :data:`UNK_ID` for units outside the vocabulary."""
        return self.dictionary.get(char, UNK_ID)

    def decode_ids(self, ids: Iterable[int]) -> str:
        """Turn output ids back into text, stopping at the first signal or padding id; the
        units are joined with ``target_sep``.

        Unknown ids decode as U+FFFD (the replacement character); tags, which are no text,
        as nothing.
        """
        chars = []
        for index in ids:
            index = int(index)
            if index in (PAD_ID, self.signal_id):
                break
            unit = self._id_to_char[index] if 0 <= index < len(self) else "\ufffd"
            if unit:
                chars.append(unit)
        return (self.target_sep or "").join(chars)

    def decode_candidates(self, ids: Iterable[Iterable[int]], log_probs: Iterable[float],
                          limit: Optional[int] = None) -> List[Tuple[str, float]]:
        """One input's decoded candidates, best first, as texts: the possible ones (finite
        log-probability), each text once, at most ``limit`` of them.

        Example:

        >>> Vocabulary("ab").decode_candidates(
        ...     [[3, 4], [3, 4], [4]], [-0.5, -0.7, float("-inf")])
        [('ab', -0.5)]
        """
        found: List[Tuple[str, float]] = []
        for row, log_prob in zip(ids, log_probs):
            text = self.decode_ids(row)
            if math.isfinite(log_prob) and all(text != seen for seen, _ in found):
                found.append((text, float(log_prob)))
                if len(found) == limit:
                    break
        return found

    def get_config(self) -> Dict[str, Any]:
        """Return the arguments that rebuild this encoder with ``from_config``.

        A character encoder's is ``{"characters": "...", "signalchar": "\\n"}``, as in every
        file before units; one with separators or features lists its units and adds its
        settings.
        """
        if self.single_characters:
            return {"characters": "".join(self.characters), "signalchar": self.signalchar}
        return {"characters": list(self.characters), "signalchar": self.signalchar,
                **self._options()}

    @classmethod
    def from_config(cls: Type[V], config: Dict[str, Any]) -> V:
        """Rebuild an encoder from :meth:`get_config`'s output."""
        options = {key: config[key] for key in ("source_sep", "target_sep", "features",
                                                "features_sep") if key in config}
        return cls(config["characters"], signalchar=config["signalchar"], **options)


def check_text(value: object, name: str) -> None:
    """Raise ``TypeError`` naming ``name`` unless ``value`` is a ``str``."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, got {type(value).__name__}.")


def split_units(text: str, sep: Optional[str]) -> List[str]:
    """The units of ``text``: its characters (``sep`` None), or its non-empty pieces between
    ``sep``."""
    check_text(text, "text")
    if sep is None:
        return list(text)
    return [unit for unit in text.split(sep) if unit]


def check_separators(signalchar: str, source_sep: Optional[str], target_sep: Optional[str],
                      features_sep: str) -> None:
    """Raise ``ValueError`` naming the separator that cannot be one."""
    # Tags have ids of their own, so only the texts' separators must keep clear of the signal.
    for name, sep in (("source_sep", source_sep), ("target_sep", target_sep)):
        if sep is not None and (not isinstance(sep, str) or not sep or signalchar in sep):
            raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                             f"non-empty string without the signal character, got {sep!r}.")
    if not isinstance(features_sep, str) or not features_sep:
        raise ValueError(f"Received an invalid value for argument `features_sep`, expected a "
                         f"non-empty string, got {features_sep!r}.")


def _checked_units(units: Iterable[str], name: str, signalchar: str, longer: bool) -> set:
    """The set of ``units``, each checked: a string, one character unless ``longer``."""
    if isinstance(units, str):
        units = list(units)
    checked = set()
    for unit in units:
        if not isinstance(unit, str) or not unit or (not longer and len(unit) != 1) or (
                len(unit) > 1 and signalchar in unit):
            kind = "non-empty strings without the signal character" if longer else \
                "single characters"
            raise ValueError(f"Received an invalid value in argument `{name}`, expected "
                             f"{kind}, got {unit!r}.")
        checked.add(unit)
    return checked


def onehot(ids: Any, size: int) -> np.ndarray:
    """Expand integer ids (any shape) into ``float32`` one-hot vectors of ``size`` on a new axis.

    :data:`PAD_ID` expands to a zero vector, which is what the model masks.

    Example:

    >>> onehot([2, 0], 3).tolist()
    [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    ids = np.asarray(ids)
    out = np.zeros(ids.shape + (size,), dtype=np.float32)
    np.put_along_axis(out, ids[..., None].astype(np.intp), 1.0, axis=-1)
    out[..., PAD_ID] = 0.0
    return out


def check_maxlen(maxlen: object, minimum: int) -> None:
    """Raise unless ``maxlen`` is an integer from ``minimum`` (at least 1) to
    :data:`MAX_SEQUENCE_LENGTH`."""
    check_int(maxlen, "maxlen", max(1, minimum), MAX_SEQUENCE_LENGTH)
