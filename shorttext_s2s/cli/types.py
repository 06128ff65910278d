"""The command line's argument types: each value checked at the door, with a message that
says what was expected."""

from __future__ import annotations

import argparse
import re
from typing import Any, Callable, Dict

from .. import catalog
from ..vocabulary import MAX_SEQUENCE_LENGTH

__all__ = ["number", "positive_int", "non_negative_int", "positive_float",
           "non_negative_float", "duration", "fraction", "even_positive_int", "maxlen", "port",
           "strategy_list", "KINDS"]


def number(convert: Any, lowest: float, inclusive: bool, expected: str) -> Any:
    """An argparse type: ``convert`` the text and require a finite value above ``lowest``."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        in_range = value is not None and (value >= lowest if inclusive else value > lowest)
        if not in_range or value == float("inf"):  # NaN fails both comparisons
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


positive_int = number(int, 1, True, "a positive integer")
non_negative_int = number(int, 0, True, "an integer >= 0")
positive_float = number(float, 0, False, "a positive number")
non_negative_float = number(float, 0, True, "a number >= 0")


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def duration(text: str) -> float:
    """Seconds from ``900``, ``900s``, ``15m``, ``1h30m`` or ``1.5h``."""
    match = _DURATION.fullmatch(text.strip())
    if text.strip() and match and any(match.groups()):
        hours, minutes, seconds = (float(part or 0) for part in match.groups())
        total = 3600 * hours + 60 * minutes + seconds
        if total > 0:
            return total
    raise argparse.ArgumentTypeError(f"expected a positive duration such as 900, 900s, 15m "
                                     f"or 1h30m, got {text!r}")


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def even_positive_int(text: str) -> int:
    value = positive_int(text)
    if value % 2:
        raise argparse.ArgumentTypeError(f"expected an even positive integer (the attention "
                                         f"network's encoder has half the units each way), "
                                         f"got {text!r}")
    return value


def maxlen(text: str) -> int:
    # The loader's own limit: a model trained above it could be saved but never loaded again.
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2 (one character and the "
                                         f"end signal), got {text!r}")
    if value > MAX_SEQUENCE_LENGTH:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SEQUENCE_LENGTH}, the longest "
                                         f"maxlen a model file may have, got {text!r}")
    return value


def port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def strategy_list(text: str) -> tuple:
    if text == "none":
        return ()
    names = tuple(name.strip() for name in text.split(","))
    unknown = [name for name in names if name not in catalog.STRATEGIES]
    if unknown:
        raise argparse.ArgumentTypeError(f"expected 'none' or names among "
                                         f"{', '.join(catalog.STRATEGIES)}, got {text!r}")
    return names


#: The argument type of each kind of catalog option (:attr:`shorttext_s2s.catalog.Option.kind`).
KINDS: Dict[str, Callable[[str], Any]] = {
    "positive_int": positive_int, "non_negative_int": non_negative_int,
    "positive_float": positive_float, "non_negative_float": non_negative_float,
    "fraction": fraction, "port": port, "text": str,
}
