"""Argument checks, written once: every public constructor and function checks with these.

Integers may be Python or NumPy integers, numbers may also be NumPy floats; ``bool`` is never
taken for a number (``True`` is an ``int`` in Python, but never what a user meant). A value of
the right type out of range raises ``ValueError``, a flag of the wrong type ``TypeError``,
with a message that names the argument, what was expected and what was received, in the
words Keras uses.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

__all__ = ["check_int", "check_bool", "check_number", "check_optional_int"]


def _invalid(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"Received an invalid value for argument `{name}`, expected {expected}, "
                      f"got {value!r}.")


def check_int(value: Any, name: str, minimum: Optional[int] = 1,
              maximum: Optional[int] = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer from ``minimum`` to ``maximum``.

    ``None`` for a bound means no bound.

    Raises:
        ValueError: not an integer (a ``bool``, a float such as 3.7, a string...) or out of
            range.
    """
    if minimum is None:
        expected = "an integer"
    elif maximum is not None:
        expected = f"an integer from {minimum} to {maximum}"
    elif minimum == 1:
        expected = "a positive integer"
    else:
        expected = f"an integer >= {minimum}"
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)):
        raise _invalid(name, expected, value)
    return int(value)


def check_optional_int(value: Any, name: str, minimum: int = 1) -> Optional[int]:
    """:func:`check_int`, letting ``None`` through."""
    if value is None:
        return None
    try:
        return check_int(value, name, minimum)
    except ValueError:
        raise _invalid(name, f"None or an integer >= {minimum}", value) from None


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a ``bool`` if it is one (Python or NumPy).

    Raises:
        TypeError: anything else, including 0, 1 and strings.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {value!r}.")
    return bool(value)


def check_number(value: Any, name: str, minimum: float = 0.0, *, above: bool = False,
                 below: Optional[float] = None) -> float:
    """Return ``value`` as a ``float`` if it is a finite number in range.

    Args:
        value: what was received.
        name: the argument's name, for the message.
        minimum: the lowest value allowed (excluded if ``above``).
        above: the value must be strictly greater than ``minimum``.
        below: if given, the value must be strictly less than this.

    Raises:
        ValueError: not a finite real number (``bool`` excluded) or out of range.
    """
    expected = f"a finite number {'>' if above else '>='} {minimum:g}"
    if below is not None:
        expected += f" and < {below:g}"
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                         np.floating))
            or not math.isfinite(value) or value < minimum or (above and value == minimum)
            or (below is not None and value >= below)):
        raise _invalid(name, expected, value)
    return float(value)
