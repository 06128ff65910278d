"""Conversations of the ChatterBot corpus, as training pairs.

The `chatterbot-corpus <https://pypi.org/project/chatterbot-corpus/>`_ package ships short
dialogues as YAML files, one file per topic, under ``chatterbot_corpus/data/<language>/``::

    categories:
    - greetings
    conversations:
    - - Hello
      - Hi
    - - How are you doing?
      - Very well, thanks.

Each utterance of a conversation is answered by the next one, so a conversation of *n*
utterances gives *n - 1* ``(utterance, reply)`` pairs. Install the corpus and PyYAML with the
``demo`` extra: ``pip install 'shorttext-s2s[demo]'``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from .data import conversation_pairs
from .exceptions import InputDataError, PathLike
from .extras import import_extra

__all__ = ["CORPUS_EXTRA", "corpus_dir", "corpus_files", "read_conversations", "corpus_pairs"]

logger = logging.getLogger(__name__)

#: The package extra that installs the corpus and PyYAML.
CORPUS_EXTRA = "demo"


def corpus_dir(language: str = "english") -> Path:
    """Return the directory of the installed corpus's YAML files for ``language``.

    Args:
        language: a subdirectory of ``chatterbot_corpus/data``. Defaults to ``"english"``.

    Returns:
        The directory.

    Raises:
        MissingExtraError: the ``chatterbot-corpus`` package is not installed.
        InputDataError: the corpus has no such language.
    """
    package = import_extra("chatterbot_corpus", CORPUS_EXTRA, "the conversation corpus")
    # The package's __init__ imports nothing but its own data path; locate the data beside it.
    root = Path(os.path.dirname(os.path.abspath(package.__file__))) / "data"
    directory = root / language
    if not directory.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise InputDataError(f"no conversations for language {language!r}; the installed "
                             f"corpus has: {', '.join(known) or 'none'}", str(root))
    return directory


def corpus_files(language: str = "english", topics: Optional[Iterable[str]] = None
                 ) -> List[Path]:
    """List the corpus's YAML files for a language, optionally only some topics.

    Args:
        language: see :func:`corpus_dir`.
        topics: file names without ``.yml`` (``"greetings"``, ``"humor"``...). Defaults to
            every topic.

    Returns:
        The files, sorted by name.

    Raises:
        MissingExtraError: the corpus is not installed.
        InputDataError: the language or one of the topics does not exist.
    """
    directory = corpus_dir(language)
    available = {path.stem: path for path in directory.glob("*.yml")}
    if topics is None:
        return [available[name] for name in sorted(available)]
    files = []
    for topic in topics:
        if topic not in available:
            raise InputDataError(f"no topic {topic!r}; available: "
                                 f"{', '.join(sorted(available))}", str(directory))
        files.append(available[topic])
    return files


def read_conversations(path: PathLike) -> List[List[str]]:
    """Read the ``conversations`` of one corpus YAML file.

    Every scalar is read as text (YAML's ``yes``/``no``/numbers stay as written), and
    utterances are stripped of surrounding whitespace.

    Args:
        path: a YAML file in the corpus's layout.

    Returns:
        The conversations, each a list of utterances.

    Raises:
        MissingExtraError: PyYAML is not installed.
        InputDataError: the file is missing, is not valid YAML (the message names the line), or
            has no ``conversations`` list. Entries that are not lists of utterances are
            skipped with a logged warning.
    """
    yaml = import_extra("yaml", CORPUS_EXTRA, "reading the conversation corpus")
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            # BaseLoader keeps every scalar a string: a reply "No" must not become False.
            document = yaml.load(handle, Loader=yaml.BaseLoader)
    except FileNotFoundError:
        raise InputDataError("no such file", name) from None
    except UnicodeDecodeError as exc:
        raise InputDataError(f"cannot decode the file as UTF-8 ({exc.reason})", name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputDataError(problem, name, None if mark is None else mark.line + 1) from None
    conversations = document.get("conversations") if isinstance(document, dict) else None
    if not isinstance(conversations, list):
        raise InputDataError("expected a mapping with a 'conversations' list", name)
    result, skipped = [], []
    for index, conversation in enumerate(conversations, start=1):
        if isinstance(conversation, list) and all(
                isinstance(utterance, str) for utterance in conversation):
            result.append([utterance.strip() for utterance in conversation])
        else:
            skipped.append(index)
    if skipped:
        # The published corpus itself has such slips (a bare string in trivia.yml); one bad
        # entry should not cost the rest of the file.
        logger.warning("%s: skipped %d entr%s that %s not a list of utterances (number%s %s)",
                       name, len(skipped), "y" if len(skipped) == 1 else "ies",
                       "is" if len(skipped) == 1 else "are", "" if len(skipped) == 1 else "s",
                       ", ".join(map(str, skipped[:10])))
    return result


def corpus_pairs(language: str = "english", topics: Optional[Iterable[str]] = None,
                 max_chars: Optional[int] = None) -> List[Tuple[str, str]]:
    """Collect ``(utterance, reply)`` pairs from the corpus, without duplicates.

    Args:
        language: see :func:`corpus_dir`.
        topics: see :func:`corpus_files`. Defaults to every topic.
        max_chars: if given, keep only pairs whose both sides have at most this many
            characters (short exchanges train much faster).

    Returns:
        The pairs, in file order, each kept once.

    Raises:
        MissingExtraError: the ``demo`` extra is not installed.
        InputDataError: see :func:`corpus_files` and :func:`read_conversations`, or no pair is
            left.

    Example:

    >>> pairs = corpus_pairs(topics=["greetings"])  # doctest: +SKIP
    >>> pairs[0]  # doctest: +SKIP
    ('Hello', 'Hi')
    """
    pairs = {}
    for path in corpus_files(language, topics):
        for conversation in read_conversations(path):
            if sum(1 for utterance in conversation if utterance) < 2:
                continue
            for pair in conversation_pairs(conversation, os.fspath(path)):
                if max_chars is None or max(len(pair[0]), len(pair[1])) <= max_chars:
                    pairs.setdefault(pair, None)
    if not pairs:
        raise InputDataError("no conversation pairs found"
                             + (f" of at most {max_chars} characters" if max_chars else ""),
                             str(corpus_dir(language)))
    logger.info("read %d distinct conversation pairs", len(pairs))
    return list(pairs)
