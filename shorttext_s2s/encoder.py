"""The encoder: texts into the ids and one-hot vectors a model reads, by a vocabulary.

The vocabulary itself (units, tags, ids, and ids back into text) is
:class:`~shorttext_s2s.vocabulary.Vocabulary`, which :class:`SentenceToCharVecEncoder`
extends with the encoding of sentences, sources and pairs.
"""

from __future__ import annotations

import logging
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np

from .data import TextSource, check_pairs, iter_lines, source_name
from .exceptions import InputDataError
from .vocabulary import (MAX_SEQUENCE_LENGTH, PAD_ID, UNK_ID, Vocabulary, check_maxlen,
                         check_separators, check_text, split_units, onehot)

__all__ = ["SentenceToCharVecEncoder", "initSentenceToCharVecEncoder", "onehot", "PAD_ID",
           "UNK_ID", "MAX_SEQUENCE_LENGTH"]

logger = logging.getLogger(__name__)


class SentenceToCharVecEncoder(Vocabulary):
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

    def maxlen_for(self, pairs: Iterable[Sequence[str]]) -> int:
        """The shortest ``maxlen`` that cuts none of ``pairs`` (``(input, target[,
        features])``): their longest input (with its tags) or target, plus the signal.

        Example:

        >>> SentenceToCharVecEncoder("abc").maxlen_for([("ab", "c"), ("a", "abc")])
        4
        """
        return max(max(self.source_length(pair[0], pair[2] if len(pair) > 2 else None),
                       self.target_length(pair[1])) for pair in check_pairs(pairs)) + 1

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
        check_text(sent, "sent")
        check_maxlen(maxlen, int(startsig) + int(endsig))
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
        check_maxlen(maxlen, 1)
        if features is not None and len(features) != len(sentences):
            raise ValueError(f"`features` must give the tags of each of the "
                             f"{len(sentences)} sentences, got {len(features)}.")
        room = maxlen - 1
        ids = np.full((len(sentences), maxlen), PAD_ID, dtype=np.int32)
        for row, sent in enumerate(sentences):
            check_text(sent, "sentences")
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
        check_maxlen(maxlen, 2)
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
        check_separators(signalchar, source_sep, target_sep, features_sep)
        units, tags = set(), set()
        for pair in check_pairs(pairs):
            units.update(split_units(pair[0], source_sep))
            units.update(split_units(pair[1], target_sep))
            if len(pair) > 2:
                tags.update(split_units(pair[2], features_sep))
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
            check_text(text, "texts")
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
