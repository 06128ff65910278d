"""The vocabulary: how texts become ids and ids become text.

A text is a sequence of units: its characters by default, or, with a separator, the pieces
between separators (``"G R AE N D"`` with ``target_sep=" "`` is five phonemes). Each side has
its own separator, and an input may carry features (tags such as UniMorph's ``V;PST``) that
the encoder reads after the source's units, each tag one unit of its own.

Ids 0 and 1 are reserved: :data:`PAD_ID` fills the positions after the end of a sentence (its
one-hot row is all zeros, so the model masks it) and :data:`UNK_ID` stands for every unit not
seen when the vocabulary was built, so encoding never fails on new text.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ._checks import check_int
from .data import TextSource, check_pairs, iter_lines, source_name
from .exceptions import InputDataError

__all__ = ["SentenceToCharVecEncoder", "initSentenceToCharVecEncoder", "onehot", "PAD_ID",
           "UNK_ID", "MAX_SEQUENCE_LENGTH"]

PAD_ID = 0
UNK_ID = 1
_RESERVED = 2
#: Longest sequence (``maxlen``) a model may have, checked when a model is made and when a
#: file is loaded: arrays of that length are allocated to encode and decode, so neither a
#: typo nor a file from elsewhere may choose it freely. (65,536 characters is far beyond use.)
MAX_SEQUENCE_LENGTH = 1 << 16

logger = logging.getLogger(__name__)


class SentenceToCharVecEncoder:
    """Maps units (characters by default) to ids and sentences to one-hot matrices.

    The vocabulary is the sorted set of the given units plus the signal character, after the
    two reserved ids (padding and unknown), then the sorted feature tags. Units outside it
    encode as the unknown id.

    Args:
        characters: the units of the vocabulary: any iterable of strings, or a string (each
            of its characters). Without separators every unit is one character; with one, a
            unit may be longer (a phoneme ``"AH"``). Order and repeats do not matter.
        signalchar: the character that marks the start and the end of a sequence. It must not
            be used for anything else; ``'\\n'`` (the default) is safe because lines never
            contain it.
        source_sep: what separates the units of an input. Defaults to None: each character
            is a unit.
        target_sep: what separates the units of an output (``" "`` for phonemes written
            ``"G R AE N D"``); decoded outputs are joined with it. Defaults to None:
            characters.
        features: the feature tags an input may carry (``["N", "ACC", "PL"]``), each a unit
            of its own, distinct from the source's units even when spelt alike. Defaults to
            none.
        features_sep: what separates the tags of an input's features. Defaults to ``";"``
            (UniMorph's ``N;ACC;PL``).

    Example:

    >>> encoder = SentenceToCharVecEncoder("abc")
    >>> len(encoder)  # pad, unknown, '\\n', 'a', 'b', 'c'
    6
    >>> encoder.encode_sentences(["ab", "cz"], maxlen=4, endsig=True).tolist()
    [[3, 4, 2, 0], [5, 1, 2, 0]]
    >>> phonemes = SentenceToCharVecEncoder(["AH", "B"], target_sep=" ")
    >>> phonemes.decode_ids(phonemes.encode_ids("AH B", maxlen=4, side="target"))
    'AH B'
    """

    def __init__(self, characters: Iterable[str], signalchar: str = "\n", *,
                 source_sep: Optional[str] = None, target_sep: Optional[str] = None,
                 features: Iterable[str] = (), features_sep: str = ";") -> None:
        if not isinstance(signalchar, str) or len(signalchar) != 1:
            raise ValueError(f"Received an invalid value for argument `signalchar`, expected "
                             f"a single character, got {signalchar!r}.")
        _check_separators(signalchar, source_sep, target_sep, features_sep)
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
            char: index for index, char in enumerate(self.characters, start=_RESERVED)}
        self.feature_ids: Dict[str, int] = {
            tag: index for index, tag in enumerate(self.features, start=self.first_feature_id)}
        self.signal_id = self.dictionary[signalchar]
        # Lookup table for the id -> text direction; reserved ids and tags decode to "".
        self._id_to_char = np.array(["", "\ufffd"] + self.characters + [""] * len(self.features),
                                    dtype=object)

    def __len__(self) -> int:
        return len(self.characters) + len(self.features) + _RESERVED

    def __repr__(self) -> str:
        options = "".join(f", {name}={value!r}" for name, value in self._options().items())
        units = ("".join(self.characters) if self.single_characters else self.characters)
        return f"SentenceToCharVecEncoder(characters={units!r}, signalchar={self.signalchar!r}" \
               f"{options})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SentenceToCharVecEncoder)
                and self.get_config() == other.get_config())

    @property
    def single_characters(self) -> bool:
        """Whether every unit is one character, read without separators and with no
        features: the encoder of the Keras example and of every file before units."""
        return not self._options() and all(len(unit) == 1 for unit in self.characters)

    @property
    def first_feature_id(self) -> int:
        """The id of the first feature tag: every id from it up is a tag, every id below it
        a unit or a reserved id (the tags' ids follow the units')."""
        return _RESERVED + len(self.characters)

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

    # --- units -----------------------------------------------------------------------------

    def source_units(self, text: str) -> List[str]:
        """The units of an input text: its characters, or its pieces between ``source_sep``
        (empty pieces, from repeated separators, are dropped)."""
        return _split(text, self.source_sep)

    def target_units(self, text: str) -> List[str]:
        """The units of an output text; see :meth:`source_units`."""
        return _split(text, self.target_sep)

    def feature_units(self, features: Optional[str]) -> List[str]:
        """The tags of an input's features (``"N;ACC;PL"`` -> ``["N", "ACC", "PL"]``); none
        for None or ``""``."""
        return _split(features, self.features_sep) if features else []

    def source_length(self, text: str, features: Optional[str] = None) -> int:
        """How many positions an input takes in the encoder: its units and its tags."""
        return len(self.source_units(text)) + len(self.feature_units(features))

    def target_length(self, text: str) -> int:
        """How many units an output has (the end signal not counted)."""
        return len(self.target_units(text))

    def maxlen_for(self, pairs: Iterable[Sequence[str]]) -> int:
        """The shortest ``maxlen`` that cuts none of ``pairs`` (``(input, target[,
        features])``): their longest input (with its tags) or target, plus the signal.

        Example:

        >>> SentenceToCharVecEncoder("abc").maxlen_for([("ab", "c"), ("a", "abc")])
        4
        """
        return max(max(self.source_length(pair[0], pair[2] if len(pair) > 2 else None),
                       self.target_length(pair[1])) for pair in check_pairs(pairs)) + 1

    def char_id(self, char: str) -> int:
        """Return the id of a unit; :data:`UNK_ID` for units outside the vocabulary."""
        return self.dictionary.get(char, UNK_ID)

    def encode_ids(self, sent: str, maxlen: int, startsig: bool = False,
                   endsig: bool = False, *, side: str = "source") -> np.ndarray:
        """Encode a sentence as a vector of ``maxlen`` integer ids, padded with :data:`PAD_ID`.

        Args:
            sent: the sentence.
            maxlen: length of the result, signal characters included. Longer sentences are cut
                at the end; the signal characters are always kept.
            startsig: put the signal character first.
            endsig: put the signal character after the sentence.
            side: ``"source"`` or ``"target"``: whose separator splits the sentence into
                units. Defaults to ``"source"``.

        Returns:
            An ``int32`` array of shape ``(maxlen,)``.
        """
        _check_text(sent, "sent")
        _check_maxlen(maxlen, int(startsig) + int(endsig))
        room = maxlen - int(startsig) - int(endsig)
        ids = [self.char_id(char) for char in self._units(sent, side)[:room]]
        if startsig:
            ids.insert(0, self.signal_id)
        if endsig:
            ids.append(self.signal_id)
        out = np.full((maxlen,), PAD_ID, dtype=np.int32)
        out[:len(ids)] = ids
        return out

    def encode_sentence(self, sent: str, maxlen: int, startsig: bool = False,
                        endsig: bool = False) -> np.ndarray:
        """Encode a sentence as a one-hot matrix.

        Args:
            sent: the sentence.
            maxlen: number of rows; see :meth:`encode_ids` for truncation.
            startsig: put the signal character first.
            endsig: put the signal character after the sentence.

        Returns:
            A ``float32`` array of shape ``(maxlen, len(self))``; padding rows are all zero.
        """
        return self.onehot(self.encode_ids(sent, maxlen, startsig, endsig))

    def encode_sentences(self, sentences: Sequence[str], maxlen: int, sparse: bool = True,
                         startsig: bool = False, endsig: bool = False, *,
                         side: str = "source") -> np.ndarray:
        """Encode several sentences.

        Args:
            sentences: the sentences.
            maxlen: length of each encoded sentence; see :meth:`encode_ids`.
            sparse: if true (the default), return the ids, shape ``(len(sentences), maxlen)``,
                the compact form of the one-hot tensor (``len(self)`` times smaller). If false,
                return the dense one-hot tensor of shape
                ``(len(sentences), maxlen, len(self))``.
            startsig: put the signal character first.
            endsig: put the signal character after each sentence.
            side: whose units; see :meth:`encode_ids`.

        Returns:
            ``int32`` ids when ``sparse``, else a ``float32`` one-hot tensor.
        """
        if isinstance(sentences, str):
            raise TypeError("`sentences` must be a sequence of strings, got a single str; "
                            "use encode_sentence() for one sentence.")
        ids = np.full((len(sentences), maxlen), PAD_ID, dtype=np.int32)
        for row, sent in enumerate(sentences):
            ids[row] = self.encode_ids(sent, maxlen, startsig, endsig, side=side)
        return ids if sparse else self.onehot(ids)

    def encode_sources(self, sentences: Sequence[str], maxlen: int,
                       reverse: bool = False,
                       features: Optional[Sequence[Optional[str]]] = None) -> np.ndarray:
        """Encode the inputs of a seq2seq model: the units of each sentence, its tags, then
        the signal.

        Args:
            sentences: the input sentences.
            maxlen: length of each encoded input; longer inputs are cut to ``maxlen - 1``
                positions, the sentence's end first, then its last tags.
            reverse: read each (cut) sentence backwards, its tags and the signal still after
                it. Reversed inputs put the first characters of a sentence closest to the
                decoder, which starts by producing the first characters of its answer
                (Sutskever et al., 2014).
            features: each sentence's tags (``"N;ACC;PL"``, or None for none), as many as
                sentences. Defaults to None: no tags.

        Returns:
            ``int32`` ids of shape ``(len(sentences), maxlen)``.

        Example:

        >>> encoder = SentenceToCharVecEncoder("abc")
        >>> encoder.encode_sources(["abc"], maxlen=5, reverse=True).tolist()
        [[5, 4, 3, 2, 0]]
        """
        if isinstance(sentences, str):
            raise TypeError("`sentences` must be a sequence of strings, got a single str.")
        _check_maxlen(maxlen, 1)
        if features is not None and len(features) != len(sentences):
            raise ValueError(f"`features` must give the tags of each of the "
                             f"{len(sentences)} sentences, got {len(features)}.")
        room = maxlen - 1
        ids = np.full((len(sentences), maxlen), PAD_ID, dtype=np.int32)
        for row, sent in enumerate(sentences):
            _check_text(sent, "sentences")
            tags = self.feature_units(features[row]) if features is not None else []
            units = self.source_units(sent)[:max(0, room - len(tags))]
            if reverse:
                units.reverse()
            row_ids = ([self.char_id(unit) for unit in units]
                       + [self.feature_ids.get(tag, UNK_ID) for tag in tags])[:room]
            row_ids.append(self.signal_id)
            ids[row, :len(row_ids)] = row_ids
        return ids

    def encode_pairs(self, pairs: Iterable[Sequence[str]], maxlen: int,
                     reverse_input: bool = False, *, name: str = "pairs"
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode ``(input, target)`` pairs as the ids a seq2seq model trains on.

        Inputs and targets longer than ``maxlen - 1`` units are cut; how many pairs were cut
        is logged (logger ``shorttext_s2s.encoder``, level WARNING).

        Args:
            pairs: ``(input, target)`` or ``(input, target, features)`` tuples of strings.
            maxlen: length of each encoded sentence, the signal character included.
            reverse_input: read the inputs backwards; see :meth:`encode_sources`.
            name: what to call ``pairs`` in error messages.

        Returns:
            Three ``int32`` arrays of shape ``(len(pairs), maxlen)``: the encoder input (the
            input followed by the signal), the decoder input (the signal followed by the
            target) and the decoder output (the target followed by the signal).

        Raises:
            InputDataError: no pairs, or an item that is not a pair of strings.

        Example:

        >>> encoder = SentenceToCharVecEncoder("abc")
        >>> [ids.tolist() for ids in encoder.encode_pairs([("ab", "c")], maxlen=3)]
        [[[3, 4, 2]], [[2, 5, 0]], [[5, 2, 0]]]
        """
        pairs = check_pairs(pairs, name)
        _check_maxlen(maxlen, 2)
        sources = [pair[0] for pair in pairs]
        targets = [pair[1] for pair in pairs]
        features = [pair[2] for pair in pairs] if any(len(p) > 2 for p in pairs) else None
        room = maxlen - 1
        cut = sum(1 for pair in pairs
                  if self.source_length(pair[0], pair[2] if len(pair) > 2 else None) > room
                  or self.target_length(pair[1]) > room)
        if cut:
            logger.warning("cut %d of %d pair(s) longer than maxlen - 1 = %d units",
                           cut, len(pairs), room)
        decoder_input = self.encode_sentences(targets, maxlen, startsig=True, side="target")
        # The decoder output is its input shifted one step left, the signal after the (cut)
        # target: derived here rather than encoding every target a second time.
        decoder_output = np.full_like(decoder_input, PAD_ID)
        decoder_output[:, :-1] = decoder_input[:, 1:]
        lengths = (decoder_input != PAD_ID).sum(axis=1) - 1
        decoder_output[np.arange(len(targets)), lengths] = self.signal_id
        return (self.encode_sources(sources, maxlen, reverse=reverse_input, features=features),
                decoder_input, decoder_output)

    def onehot(self, ids: np.ndarray) -> np.ndarray:
        """Expand integer ids (any shape) into ``float32`` one-hot vectors on a new last axis.

        :data:`PAD_ID` expands to a zero vector, which is what the model masks.
        """
        return onehot(ids, len(self))

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

        >>> SentenceToCharVecEncoder("ab").decode_candidates(
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
    def from_config(cls, config: Dict[str, Any]) -> "SentenceToCharVecEncoder":
        """Rebuild an encoder from :meth:`get_config`'s output."""
        options = {key: config[key] for key in ("source_sep", "target_sep", "features",
                                                "features_sep") if key in config}
        return cls(config["characters"], signalchar=config["signalchar"], **options)

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[str]], signalchar: str = "\n", *,
                   source_sep: Optional[str] = None, target_sep: Optional[str] = None,
                   features_sep: str = ";") -> "SentenceToCharVecEncoder":
        """Build the vocabulary of ``(input, target)`` or ``(input, target, features)``
        pairs: the units of both sides, and the tags of the features.

        Raises:
            InputDataError: no pairs, an item that is not two or three strings, or no units
                at all.

        Example:

        >>> encoder = SentenceToCharVecEncoder.from_pairs(
        ...     [("sing", "sang", "V;PST")], features_sep=";")
        >>> encoder.characters[1:], encoder.features
        (['a', 'g', 'i', 'n', 's'], ['PST', 'V'])
        """
        _check_separators(signalchar, source_sep, target_sep, features_sep)
        units, tags = set(), set()
        for pair in check_pairs(pairs):
            units.update(_split(pair[0], source_sep))
            units.update(_split(pair[1], target_sep))
            if len(pair) > 2:
                tags.update(_split(pair[2], features_sep))
        units.discard(signalchar)
        if not units:
            raise InputDataError("no units to build a vocabulary from: the texts are empty")
        return cls(units, signalchar, source_sep=source_sep, target_sep=target_sep,
                   features=tags, features_sep=features_sep)

    @classmethod
    def from_texts(cls, texts: Iterable[str], signalchar: str = "\n", *,
                   source: Optional[str] = None) -> "SentenceToCharVecEncoder":
        """Build the vocabulary of every character in ``texts`` (strings, e.g. sentences).

        ``source`` names where the texts come from (a file), for the error below.

        Raises:
            InputDataError: the texts have no characters at all (no texts, or empty ones).
        """
        chars = set()
        for text in texts:
            _check_text(text, "texts")
            chars.update(text)
        if not chars:
            raise InputDataError("no characters to build a vocabulary from: the texts are "
                                 "empty or there are none", source)
        return cls(chars, signalchar=signalchar)


def initSentenceToCharVecEncoder(textfile: TextSource, encoding: Optional[str] = None,
                                 signalchar: str = "\n") -> SentenceToCharVecEncoder:
    """Build a :class:`SentenceToCharVecEncoder` from the characters of a text.

    Args:
        textfile: a path (``str`` or ``os.PathLike``), an open text file, or an iterable of
            lines. A ``str`` is always taken as a path.
        encoding: encoding of a file given by path. Defaults to UTF-8.
        signalchar: the start/end signal character. Defaults to ``'\\n'``.

    Returns:
        The encoder.

    Raises:
        InputDataError: the file is missing, cannot be decoded (the message names the line),
            or has no characters at all.
    """
    return SentenceToCharVecEncoder.from_texts(iter_lines(textfile, encoding), signalchar,
                                               source=source_name(textfile))


def _check_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, got {type(value).__name__}.")


def _split(text: str, sep: Optional[str]) -> List[str]:
    _check_text(text, "text")
    if sep is None:
        return list(text)
    return [unit for unit in text.split(sep) if unit]


def _check_separators(signalchar: str, source_sep: Optional[str], target_sep: Optional[str],
                      features_sep: str) -> None:
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


def _check_maxlen(maxlen: object, minimum: int) -> None:
    check_int(maxlen, "maxlen", max(1, minimum), MAX_SEQUENCE_LENGTH)
