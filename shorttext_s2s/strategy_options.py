"""The decoding strategies' names and options, known without importing Keras.

The command line and the server check a request against these before the backend is
imported (seconds); :mod:`shorttext_s2s.decoding.registry` holds the classes, and a test
keeps the two in step.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

__all__ = ["STRATEGY_OPTIONS", "MisplacedOption", "strategy_options"]

#: The options each strategy takes, by strategy name.
STRATEGY_OPTIONS: Dict[str, Tuple[str, ...]] = {
    "greedy": (),
    "sample": ("temperature", "top_k"),
    "beam": ("beam_width", "length_penalty", "num_results"),
}


class MisplacedOption(ValueError):
    """An option of another strategy (``option``, which belongs to ``owner``)."""

    def __init__(self, option: str, owner: Optional[str], strategy: str) -> None:
        self.option, self.owner, self.strategy = option, owner, strategy
        where = f"applies to strategy {owner!r}" if owner else "is no strategy's option"
        super().__init__(f"{option} {where}, not {strategy!r}")


def strategy_options(strategy: str, options: Mapping[str, Any]) -> Dict[str, Any]:
    """The options given (not ``None``) that ``strategy`` takes.

    Raises:
        ValueError: an unknown strategy.
        MisplacedOption: an option given that belongs to another strategy.

    Example:

    >>> strategy_options("sample", {"temperature": 0.5, "top_k": None, "beam_width": None})
    {'temperature': 0.5}
    """
    if strategy not in STRATEGY_OPTIONS:
        raise ValueError(f"Received an invalid value for argument `strategy`, expected one of "
                         f"{sorted(STRATEGY_OPTIONS)}, got {strategy!r}.")
    given = {name: value for name, value in options.items() if value is not None}
    for name in given:
        if name not in STRATEGY_OPTIONS[strategy]:
            owner = next((other for other, names in STRATEGY_OPTIONS.items() if name in names),
                         None)
            raise MisplacedOption(name, owner, strategy)
    return given
