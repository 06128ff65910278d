"""Character vocabulary and one-hot encoding of sentences.

Ids 0 and 1 are reserved: :data:`PAD_ID` fills the positions after the end of a sentence (its
one-hot row is all zeros, so the model masks it) and :data:`UNK_ID` stands for every character
not seen when the vocabulary was built, so encoding never fails on new text.
"""

from __future__ import annotations

import logging
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
    """Maps characters to ids and sentences to one-hot matrices.

    The vocabulary is the sorted set of the given characters plus the signal character, after
    the two reserved ids (padding and unknown). Characters outside it encode as the unknown id.

    Args:
        characters: the characters of the vocabulary: any iterable of one-character strings, or
            a string (each of its characters). Order and repeats do not matter.
        signalchar: the character that marks the start and the end of a sequence. It must not
            be used for anything else; ``'\\n'`` (the default) is safe because lines never
            contain it.

    Example:

    >>> encoder = SentenceToCharVecEncoder("abc")
    >>> len(encoder)  # pad, unknown, '\\n', 'a', 'b', 'c'
    6
    >>> encoder.encode_sentences(["ab", "cz"], maxlen=4, endsig=True).tolist()
    [[3, 4, 2, 0], [5, 1, 2, 0]]
    """

    def __init__(self, characters: Iterable[str], signalchar: str = "\n") -> None:
        if not isinstance(signalchar, str) or len(signalchar) != 1:
            raise ValueError(f"Received an invalid value for argument `signalchar`, expected "
                             f"a single character, got {signalchar!r}.")
        chars = set()
        for char in characters:
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(f"Received an invalid value in argument `characters`, "
                                 f"expected single characters, got {char!r}.")
            chars.add(char)
        chars.add(signalchar)
        self.signalchar = signalchar
        self.characters: List[str] = sorted(chars)
        self.dictionary: Dict[str, int] = {
            char: index for index, char in enumerate(self.characters, start=_RESERVED)}
        self.signal_id = self.dictionary[signalchar]
        # Lookup table for the vectorised id -> text direction; reserved ids decode to "".
        self._id_to_char = np.array(["", "\ufffd"] + self.characters, dtype=object)

    def __len__(self) -> int:
        return len(self.characters) + _RESERVED

    def __repr__(self) -> str:
        return (f"SentenceToCharVecEncoder(characters={''.join(self.characters)!r}, "
                f"signalchar={self.signalchar!r})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SentenceToCharVecEncoder)
                and self.characters == other.characters
                and self.signalchar == other.signalchar)

    def char_id(self, char: str) -> int:
        """Return the id of ``char``; :data:`UNK_ID` for characters outside the vocabulary."""
        return self.dictionary.get(char, UNK_ID)

    def encode_ids(self, sent: str, maxlen: int, startsig: bool = False,
                   endsig: bool = False) -> np.ndarray:
        """Encode a sentence as a vector of ``maxlen`` integer ids, padded with :data:`PAD_ID`.

        Args:
            sent: the sentence.
            maxlen: length of the result, signal characters included. Longer sentences are cut
                at the end; the signal characters are always kept.
            startsig: put the signal character first.
            endsig: put the signal character after the sentence.

        Returns:
            An ``int32`` array of shape ``(maxlen,)``.
        """
        _check_text(sent, "sent")
        _check_maxlen(maxlen, int(startsig) + int(endsig))
        room = maxlen - int(startsig) - int(endsig)
        ids = [self.char_id(char) for char in sent[:room]]
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
                         startsig: bool = False, endsig: bool = False) -> np.ndarray:
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

        Returns:
            ``int32`` ids when ``sparse``, else a ``float32`` one-hot tensor.
        """
        if isinstance(sentences, str):
            raise TypeError("`sentences` must be a sequence of strings, got a single str; "
                            "use encode_sentence() for one sentence.")
        ids = np.full((len(sentences), maxlen), PAD_ID, dtype=np.int32)
        for row, sent in enumerate(sentences):
            ids[row] = self.encode_ids(sent, maxlen, startsig, endsig)
        return ids if sparse else self.onehot(ids)

    def encode_sources(self, sentences: Sequence[str], maxlen: int,
                       reverse: bool = False) -> np.ndarray:
        """Encode the inputs of a seq2seq model: ids of each sentence, then the signal.

        Args:
            sentences: the input sentences.
            maxlen: length of each encoded sentence; longer sentences are cut to
                ``maxlen - 1`` characters.
            reverse: read each (cut) sentence backwards, the signal still last. Reversed
                inputs put the first characters of a sentence closest to the decoder, which
                starts by producing the first characters of its answer (Sutskever et al.,
                2014).

        Returns:
            ``int32`` ids of shape ``(len(sentences), maxlen)``.

        Example:

        >>> encoder = SentenceToCharVecEncoder("abc")
        >>> encoder.encode_sources(["abc"], maxlen=5, reverse=True).tolist()
        [[5, 4, 3, 2, 0]]
        """
        ids = self.encode_sentences(sentences, maxlen, endsig=True)
        if reverse:
            # Reverse the ids already cut to maxlen - 1, before the signal.
            for row, length in enumerate((ids != PAD_ID).sum(axis=1) - 1):
                ids[row, :length] = ids[row, :length][::-1]
        return ids

    def encode_pairs(self, pairs: Iterable[Tuple[str, str]], maxlen: int,
                     reverse_input: bool = False, *, name: str = "pairs"
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encode ``(input, target)`` pairs as the ids a seq2seq model trains on.

        Inputs and targets longer than ``maxlen - 1`` characters are cut; how many pairs were
        cut is logged (logger ``shorttext_s2s.encoder``, level WARNING).

        Args:
            pairs: ``(input, target)`` tuples of strings.
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
        sources = [source for source, _ in pairs]
        targets = [target for _, target in pairs]
        room = maxlen - 1
        cut = sum(1 for source, target in pairs if len(source) > room or len(target) > room)
        if cut:
            logger.warning("cut %d of %d pair(s) longer than maxlen - 1 = %d characters",
                           cut, len(pairs), room)
        decoder_input = self.encode_sentences(targets, maxlen, startsig=True)
        # The decoder output is its input shifted one step left, the signal after the (cut)
        # target: derived here rather than encoding every target a second time.
        decoder_output = np.full_like(decoder_input, PAD_ID)
        decoder_output[:, :-1] = decoder_input[:, 1:]
        lengths = (decoder_input != PAD_ID).sum(axis=1) - 1
        decoder_output[np.arange(len(targets)), lengths] = self.signal_id
        return (self.encode_sources(sources, maxlen, reverse=reverse_input),
                decoder_input, decoder_output)

    def onehot(self, ids: np.ndarray) -> np.ndarray:
        """Expand integer ids (any shape) into ``float32`` one-hot vectors on a new last axis.

        :data:`PAD_ID` expands to a zero vector, which is what the model masks.
        """
        return onehot(ids, len(self))

    def decode_ids(self, ids: Iterable[int]) -> str:
        """Turn ids back into text, stopping at the first signal or padding id.

        Unknown ids decode as U+FFFD (the replacement character).
        """
        chars = []
        for index in ids:
            index = int(index)
            if index in (PAD_ID, self.signal_id):
                break
            chars.append(self._id_to_char[index] if 0 <= index < len(self) else "\ufffd")
        return "".join(chars)

    def get_config(self) -> Dict[str, Any]:
        """Return the arguments that rebuild this encoder with ``from_config``."""
        return {"characters": "".join(self.characters), "signalchar": self.signalchar}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "SentenceToCharVecEncoder":
        """Rebuild an encoder from :meth:`get_config`'s output."""
        return cls(config["characters"], signalchar=config["signalchar"])

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
