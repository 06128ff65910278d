"""The kinds of things the catalog lists: options, entries, recipes, metrics (plain data)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

__all__ = ["Option", "Entry", "Recipe", "Metric"]


@dataclass(frozen=True)
class Option:
    """An option of an entry: its name, default and meaning.

    Attributes:
        name: the keyword argument (``beam_width``); the command line's flag is
            ``--beam-width``.
        default: its value when not given.
        help: what it does, in a few words, for the command line's help.
        kind: what values it takes, as the command line checks them: ``"positive_int"``,
            ``"non_negative_int"``, ``"positive_float"``, ``"non_negative_float"``,
            ``"fraction"`` (0 to 1, 1 excluded), ``"port"``, ``"text"`` or ``"flag"`` (a
            bool).
        metavar: the placeholder of its value in the command line's help.
        command_line: whether the command line offers it.
    """

    name: str
    default: Any
    help: str
    kind: str = "positive_int"
    metavar: str = "N"
    command_line: bool = True

    @property
    def flag(self) -> str:
        """The command line's flag: ``--beam-width`` for ``beam_width``."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Entry:
    """Something the library offers by name: a network, a strategy, an export format.

    Attributes:
        name: what users call it (``"attention"``, ``"beam"``).
        target: the class that implements it, ``"package.module:Class"`` (empty for entries
            that are no class, such as export formats).
        summary: one line on what it is.
        options: its :class:`Option` s, in the order of its constructor.
        recipe: for a network, the training recipe it trains with by default.
    """

    name: str
    target: str
    summary: str
    options: Tuple[Option, ...] = ()
    recipe: Optional[str] = None

    def defaults(self) -> Dict[str, Any]:
        """Each option's default, by name."""
        return {option.name: option.default for option in self.options}

    def option(self, name: str) -> Option:
        """The option called ``name``.

        Raises:
            KeyError: it has none of that name.
        """
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(f"{self.name!r} has no option {name!r}")

    def load(self) -> Any:
        """Import and return the class that implements the entry."""
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Recipe:
    """A training recipe: the optimizer, loss and callbacks a network trains with by default
    (:mod:`shorttext_s2s.training.recipes` builds them).

    Attributes:
        name: ``"keras-example"`` or ``"small-data"``.
        summary: one line on it.
        patience: its early-stopping patience in epochs, on by default with validation pairs.
        decays_with_budget: whether, under a time budget, it lowers its learning rate with
            the time spent rather than on plateaus (and then does not stop early by default).
    """

    name: str
    summary: str
    patience: int
    decays_with_budget: bool = False


@dataclass(frozen=True)
class Metric:
    """A score of decoded outputs against their references
    (:func:`shorttext_s2s.evaluation.score_texts`).

    Attributes:
        name: its key (``"exact_match"``).
        label: how it is written for people (``"exact match"``).
        higher_is_better: whether a higher value is better.
        extra: the extra it needs installed (``"metrics"``: sacrebleu), or None.
    """

    name: str
    label: str
    higher_is_better: bool
    extra: Optional[str] = None
