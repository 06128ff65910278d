"""What a model will not read of its inputs as given, said to the user once per call."""

from __future__ import annotations

import warnings
from typing import List, Optional, Sequence

from .exceptions import InputWarning
from .vocabulary import Vocabulary

__all__ = ["input_notes", "warn_about"]


def input_notes(vocabulary: Vocabulary, maxlen: int, texts: Sequence[str],
                features: Optional[Sequence[Optional[str]]] = None) -> List[Optional[str]]:
    """What a model of ``vocabulary`` and ``maxlen`` will not read as given in each text, or
    None where it reads it all.

    A text is noted when it is empty (the model answers the start signal alone), when it
    has units (characters) or tags the model never saw (each read as the unknown id),
    or when it is longer than the ``maxlen - 1`` units the model reads (the rest is cut).

    Example:

    >>> input_notes(Vocabulary("Hi."), 20, ["Hi.", "", "Hi\\u2603"])
    [None, 'empty', "characters the model never saw: '\\u2603'"]
    """
    limit = maxlen - 1
    what = "characters" if vocabulary.source_sep is None else "units"
    notes: List[Optional[str]] = []
    for index, text in enumerate(texts):
        tags = vocabulary.feature_units(features[index]) if features is not None else []
        units = vocabulary.source_units(text)
        if not units and not tags:
            notes.append("empty")
            continue
        parts = [_unseen(what, [unit for unit in units[:limit]
                                if unit not in vocabulary.dictionary]),
                 _unseen("tags", [tag for tag in tags if tag not in vocabulary.feature_ids])]
        if len(units) + len(tags) > limit:
            parts.append(f"{len(units) + len(tags)} {what}"
                         f"{' and tags' if tags else ''}, cut to the {limit} the model "
                         f"reads")
        notes.append("; ".join(part for part in parts if part) or None)
    return notes


def warn_about(texts: Sequence[str], notes: Sequence[Optional[str]], stacklevel: int = 3
               ) -> None:
    """One :class:`~shorttext_s2s.exceptions.InputWarning` for the texts of a call that
    are not read as given (up to three named), none if all are; ``stacklevel`` as for
    ``warnings.warn`` (3: the caller of the method that calls this)."""
    noted = [(text, note) for text, note in zip(texts, notes) if note]
    if not noted:
        return
    named = "; ".join(f"{text[:40]!r}{'...' if len(text) > 40 else ''}: {note}"
                      for text, note in noted[:3])
    more = f"; and {len(noted) - 3} more" if len(noted) > 3 else ""
    warnings.warn(f"{len(noted)} of {len(texts)} input(s) not read as given: {named}{more}",
                  InputWarning, stacklevel=stacklevel)


def _unseen(what: str, units: Sequence[str]) -> Optional[str]:
    """``"characters the model never saw: 'x', 'y'"``, or None for none."""
    unseen = sorted(set(units))
    if not unseen:
        return None
    shown = ", ".join(repr(unit) for unit in unseen[:5])
    return (f"{what} the model never saw: {shown}"
            + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""))
