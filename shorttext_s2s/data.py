"""Readers for the texts the library trains on.

Three shapes of input are understood:

* a text source (a path, an open text file, or an iterable of lines) read line by line;
* a conversation: consecutive lines, where each line is answered by the next one;
* a pairs file: one ``source<TAB>target`` pair a line, as in the Anki/Tatoeba files (a third,
  tab-separated attribution column is accepted and ignored), or any tab-separated layout with
  its columns named, a features column among them (the SIGMORPHON task's
  ``lemma<TAB>form<TAB>tags``).

Every reader reports bad input as :class:`~shorttext_s2s.exceptions.InputDataError` naming the
file and the 1-based line.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .exceptions import InputDataError, InputWarning

__all__ = ["TextSource", "source_name", "iter_lines", "read_lines", "read_pairs", "parse_pairs",
           "check_columns", "conversation_pairs", "check_pairs"]

logger = logging.getLogger(__name__)

TextSource = Union[str, "os.PathLike[str]", io.TextIOBase, Iterable[str]]


def source_name(source: object) -> str:
    """Name of a text source for messages: its path, its ``name`` attribute, or ``<input>``."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", None) or "<input>"


def iter_lines(source: TextSource, encoding: Optional[str] = None) -> Iterator[str]:
    """Yield the lines of a text source without their line endings.

    Args:
        source: a path (``str`` or ``os.PathLike``) to a text file, an open text file, or any
            iterable of strings (each taken as one line). A ``str`` is always a path, never
            the text itself: pass ``text.splitlines()`` to read a string.
        encoding: encoding of a file given by path. Defaults to UTF-8.

    Yields:
        Each line, with ``\\n``/``\\r\\n`` removed, and the first without a byte order mark
        (U+FEFF, which some editors put at the start of UTF-8 files).

    Raises:
        InputDataError: the path does not exist or is not a file, the bytes cannot be decoded
            with ``encoding`` (the message names the line), or an item is not a string.
    """
    if isinstance(source, bytes):
        raise InputDataError("expected a path, an open text file or an iterable of lines, "
                             "got bytes; decode them first")
    if isinstance(source, (str, os.PathLike)):
        yield from _iter_file_lines(os.fspath(source), encoding or "utf-8")
        return
    name = source_name(source)
    try:
        iterator = iter(source)
    except TypeError:
        raise InputDataError(f"expected a path, an open text file or an iterable of lines, "
                             f"got {type(source).__name__}") from None
    lineno = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            # An open text file decodes a chunk of lines ahead: the bad byte's line is the
            # one under way plus the line ends before it in the chunk that failed.
            ahead = exc.object[:exc.start].count(b"\n") if isinstance(
                exc.object, (bytes, bytearray)) else 0
            raise InputDataError(f"cannot decode byte {exc.object[exc.start:exc.start + 1]!r} "
                                 f"as {exc.encoding}", name, lineno + 1 + ahead) from None
        lineno += 1
        if isinstance(item, bytes):
            raise InputDataError("got bytes where text was expected; open the file in text "
                                 "mode or pass an encoding", name, lineno)
        if not isinstance(item, str):
            raise InputDataError(f"expected a string, got {type(item).__name__}", name, lineno)
        yield _without_bom(item, lineno).rstrip("\r\n")


def _iter_file_lines(path: str, encoding: str) -> Iterator[str]:
    if not os.path.exists(path):
        raise InputDataError("no such file", path)
    if os.path.isdir(path):
        raise InputDataError("is a directory, expected a text file", path)
    try:
        # Bytes are decoded line by line so that an undecodable byte is reported with its line.
        with open(path, "rb") as handle:
            for lineno, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise InputDataError(
                        f"cannot decode byte {raw[exc.start:exc.start + 1]!r} at column "
                        f"{exc.start + 1} as {encoding}", path, lineno) from None
                except LookupError:
                    raise InputDataError(f"unknown encoding {encoding!r}", path) from None
                yield _without_bom(text, lineno).rstrip("\r\n")
    except PermissionError:
        raise InputDataError("permission denied", path) from None


def _without_bom(line: str, lineno: int) -> str:
    return line[1:] if lineno == 1 and line.startswith("\ufeff") else line


def read_lines(source: TextSource, encoding: Optional[str] = None) -> List[str]:
    """Read all lines of a text source; see :func:`iter_lines` for the accepted forms."""
    return list(iter_lines(source, encoding))


def parse_pairs(lines: Iterable[str], source: str = "<input>", *, source_column: int = 1,
                target_column: int = 2, features_column: Optional[int] = None
                ) -> List[Tuple[str, ...]]:
    """Parse tab-separated lines into ``(source, target)`` pairs, or ``(source, target,
    features)`` triples when a features column is named.

    With the default columns a line is ``source<TAB>target[<TAB>attribution]`` (the
    Anki/Tatoeba layout: a third column is an attribution and is ignored; a fourth is refused
    as most likely a tab inside a sentence). Naming a column (1-based) reads any layout with
    at least that many columns, e.g. the SIGMORPHON shared task's ``lemma<TAB>form<TAB>tags``
    with ``features_column=3``. Blank lines are skipped and counted in the log; pairs whose
    source or target is empty are kept, with one :class:`~shorttext_s2s.exceptions.InputWarning`
    naming how many and the first line.

    Args:
        lines: the lines, without line endings.
        source: name used in error messages.
        source_column, target_column: the columns of the input and of the target (1-based).
            Default to 1 and 2.
        features_column: the column of the input's features (tags), if any. Defaults to none.

    Returns:
        The pairs (or triples), in order.

    Raises:
        InputDataError: a non-blank line lacks a named column (the message names the line
            and the column), has more than three columns with the default layout, or no pair
            was found; ValueError: invalid or repeated column numbers.
    """
    columns = check_columns(source_column, target_column, features_column)
    names = ["source", "target", "features"]
    default_layout = columns == [1, 2]
    needed = max(columns)
    pairs: List[Tuple[str, ...]] = []
    blank = 0
    empty: List[int] = []  # the lines whose source or target is empty
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            blank += 1
            continue
        fields = line.split("\t")
        if len(fields) < needed:
            if default_layout:
                raise InputDataError("expected 'source<TAB>target', found no tab", source,
                                     lineno)
            missing = [f"{name} (column {column})" for name, column in zip(names, columns)
                       if column > len(fields)]
            raise InputDataError(
                f"no {' and no '.join(missing)}: the line has {len(fields)} tab-separated "
                f"column{'s' if len(fields) > 1 else ''}", source, lineno)
        if default_layout and len(fields) > 3:
            # A fourth column is no known layout: most likely a tab inside a sentence or the
            # wrong file, which would otherwise train on misaligned pairs.
            raise InputDataError(f"expected 2 or 3 tab-separated columns "
                                 f"(source, target, attribution), found {len(fields)}",
                                 source, lineno)
        pairs.append(tuple(fields[column - 1] for column in columns))
        if not (pairs[-1][0].strip() and pairs[-1][1].strip()):
            empty.append(lineno)
    if blank:
        logger.info("%s: skipped %d blank line(s)", source, blank)
    if empty:
        # Kept, as written: an empty target teaches the model to answer nothing, which a
        # user may mean; but far more often it is a column out of place.
        warnings.warn(f"{source}: {len(empty)} pair(s) with an empty source or target, the "
                      f"first at line {empty[0]}", InputWarning, stacklevel=2)
    if not pairs:
        raise InputDataError("no sentence pairs found", source)
    return pairs


def check_columns(source_column: int = 1, target_column: int = 2,
                  features_column: Optional[int] = None) -> List[int]:
    """The columns :func:`parse_pairs` reads, checked: numbers from 1, all different.

    Raises:
        ValueError: a column that is not such a number, or two the same.
    """
    columns = [source_column, target_column] + (
        [features_column] if features_column is not None else [])
    for name, column in zip(("source", "target", "features"), columns):
        if not isinstance(column, int) or isinstance(column, bool) or column < 1:
            raise ValueError(f"Received an invalid value for argument `{name}_column`, "
                             f"expected a column number from 1, got {column!r}.")
    if len(set(columns)) != len(columns):
        raise ValueError(f"the source, target and features columns must differ, got "
                         f"{columns}")
    return columns


def read_pairs(source: TextSource, encoding: Optional[str] = None,
               limit: Optional[int] = None, *, source_column: int = 1,
               target_column: int = 2, features_column: Optional[int] = None
               ) -> List[Tuple[str, ...]]:
    """Read a tab-separated pairs file (the Anki/Tatoeba layout, or columns named).

    Args:
        source: a path, an open text file or an iterable of lines.
        encoding: encoding of a file given by path. Defaults to UTF-8.
        limit: keep only the first ``limit`` pairs, as the Keras example's ``num_samples``.
        source_column, target_column, features_column: see :func:`parse_pairs`.

    Returns:
        ``(source, target)`` pairs, or ``(source, target, features)`` with a features
        column.

    Raises:
        InputDataError: see :func:`iter_lines` and :func:`parse_pairs`.

    Example:

    >>> read_pairs(["sing\\tsang\\tV;PST"], features_column=3)
    [('sing', 'sang', 'V;PST')]
    """
    lines: Iterable[str] = iter_lines(source, encoding)
    if limit is not None:
        lines = _first_pair_lines(lines, limit)
    return parse_pairs(lines, source_name(source), source_column=source_column,
                       target_column=target_column, features_column=features_column)


def _first_pair_lines(lines: Iterable[str], limit: int) -> Iterator[str]:
    kept = 0
    for line in lines:
        if kept >= limit:
            return
        if line.strip():
            kept += 1
        yield line


def conversation_pairs(lines: Sequence[str], source: str = "<input>") -> List[Tuple[str, str]]:
    """Turn consecutive lines into ``(line, next line)`` pairs, the conversational model.

    Blank lines are skipped (and counted in the log) before pairing.

    Raises:
        InputDataError: fewer than two non-blank lines.
    """
    kept = [line for line in lines if line.strip()]
    if len(kept) < len(lines):
        logger.info("%s: skipped %d blank line(s)", source, len(lines) - len(kept))
    if len(kept) < 2:
        raise InputDataError(f"a conversation needs at least two non-blank lines, got "
                             f"{len(kept)}", source)
    return list(zip(kept[:-1], kept[1:]))


def check_pairs(pairs: Iterable[Sequence[str]], name: str = "pairs") -> List[Tuple[str, ...]]:
    """Return ``pairs`` as a list of tuples, each checked to be two strings (input, target)
    or three (input, target, features).

    Args:
        pairs: any iterable of two- or three-string tuples or lists.
        name: what to call ``pairs`` in error messages.

    Raises:
        InputDataError: no pairs, a single string, or an item that is not two or three
            strings (the message gives its index).
    """
    if isinstance(pairs, (str, bytes)):
        raise InputDataError(f"`{name}` must be (input, target) pairs, got a single "
                             f"{type(pairs).__name__}; read a pairs file with "
                             f"shorttext_s2s.data.read_pairs()")
    checked = []
    for index, pair in enumerate(pairs):
        if (not isinstance(pair, (tuple, list)) or len(pair) not in (2, 3)
                or not all(isinstance(text, str) for text in pair)):
            raise InputDataError(f"{name}[{index}] is not a pair of strings (or a pair and "
                                 f"its features): {pair!r:.80}")
        checked.append(tuple(pair))
    if not checked:
        raise InputDataError(f"no pairs given in `{name}`")
    return checked
