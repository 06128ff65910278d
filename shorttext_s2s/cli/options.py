"""The option groups several commands share, and the flags made from catalog entries."""

from __future__ import annotations

import argparse
from typing import Any, Dict, Iterable, List, Tuple

from .. import catalog
from .types import KINDS, non_negative_int, positive_int

__all__ = ["add_catalog_options", "add_strategy_options", "add_column_options",
           "add_verbose_option", "strategy_choices_help"]


def add_catalog_options(group: Any, entries: Iterable[catalog.Entry], *,
                        defaults: bool = True) -> None:
    """One flag for each option of ``entries`` the command line offers, its help naming the
    entries that take it and their defaults (``--layers``: ``attention: stacked LSTM layers
    (default: 1); transformer: Transformer blocks (default: 2)``). An option not given is
    None, so that each entry gets its own default."""
    seen: Dict[str, List[Tuple[str, catalog.Option]]] = {}
    for entry in entries:
        for option in entry.options:
            if option.command_line:
                seen.setdefault(option.name, []).append((entry.name, option))
    for name, owners in seen.items():
        first = owners[0][1]
        helps = []
        for owner, option in owners:
            shown = f"{owner}: {option.help.removeprefix(owner + ': ')}"
            if defaults and option.default is not None and option.kind != "flag":
                shown += f" (default: {option.default:g})" if isinstance(
                    option.default, float) else f" (default: {option.default})"
            helps.append(shown)
        if first.kind == "flag":
            group.add_argument(first.flag, action="store_true", default=None,
                               help="; ".join(helps))
        else:
            group.add_argument(first.flag, type=KINDS[first.kind], metavar=first.metavar,
                               help="; ".join(helps))


def strategy_choices_help() -> str:
    """The strategies in words, for ``--strategy``'s help: ``greedy (the most likely next
    unit), sample (...)``."""
    return ", ".join(f"{name} ({entry.summary})" for name, entry in catalog.STRATEGIES.items())


def add_strategy_options(parser: argparse.ArgumentParser,
                         default: str = catalog.DEFAULT_STRATEGY) -> None:
    """``--strategy``, each strategy's options and ``--seed``."""
    group = parser.add_argument_group("decoding strategy")
    group.add_argument("--strategy", choices=list(catalog.STRATEGIES), default=default,
                       help=f"how each next unit is chosen: {strategy_choices_help()} "
                            f"(default: {default})")
    add_catalog_options(group, catalog.STRATEGIES.values())
    group.add_argument("--seed", type=non_negative_int,
                       help="random seed, for reproducible sampling")


def add_column_options(parser: argparse.ArgumentParser, target: bool = True) -> None:
    """The columns of a tab-separated file, named by the user (nothing is guessed)."""
    group = parser.add_argument_group(
        "columns", "which tab-separated columns to read, counted from 1; a line without one "
                   "of them is refused with its number")
    group.add_argument("--source-column", type=positive_int, metavar="N",
                       help="the input's column (default: 1)")
    if target:
        group.add_argument("--target-column", type=positive_int, metavar="N",
                           help="the target's column (default: 2)")
    group.add_argument("--features-column", type=positive_int, metavar="N",
                       help="the column of the input's features, tags separated by the "
                            "model's features separator (';' unless trained otherwise), e.g. "
                            "3 for the SIGMORPHON files lemma<TAB>form<TAB>tags (default: no "
                            "features)")


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """``--verbose``, which every command has."""
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also show the log of the backend (TensorFlow, XLA) and the "
                             "library's informational messages")
