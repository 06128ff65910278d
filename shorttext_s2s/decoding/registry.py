"""Strategy classes by name, as the catalog lists them.

A new decoding strategy is one module of its own and an entry in
:data:`shorttext_s2s.catalog.STRATEGIES` (or :func:`shorttext_s2s.catalog.register`), which
gives its name and options to :func:`get_strategy`, the command line and the server.
"""

from __future__ import annotations

from typing import Any, Union

from .. import catalog
from .base import DecodingStrategy

__all__ = ["STRATEGIES", "get_strategy"]

#: Strategy classes by name.
STRATEGIES = catalog.Classes("strategies")


def get_strategy(name_or_strategy: Union[str, DecodingStrategy],
                 **options: Any) -> DecodingStrategy:
    """Return a decoding strategy from its name and options (or the strategy itself).

    Args:
        name_or_strategy: a name of :data:`shorttext_s2s.catalog.STRATEGIES`: ``"greedy"``,
            ``"sample"`` (options ``temperature``, ``top_k``), ``"beam"`` (options
            ``beam_width``, ``length_penalty``, ``num_results``); or a
            :class:`DecodingStrategy`, returned as is.
        **options: the strategy's constructor arguments.

    Returns:
        The strategy.

    Raises:
        ValueError: unknown name or invalid option value.
        TypeError: unknown option, options given with a strategy object, or a name of the
            wrong type.

    Example:

    >>> get_strategy("sample", temperature=0.5)
    SamplingStrategy(temperature=0.5, top_k=None)
    """
    if isinstance(name_or_strategy, DecodingStrategy):
        if options:
            raise TypeError(f"options {sorted(options)} given with a strategy object; pass "
                            f"them to its constructor or give the strategy's name.")
        return name_or_strategy
    if not isinstance(name_or_strategy, str):
        raise TypeError(f"Received an invalid value for argument `strategy`, expected a name "
                        f"or a DecodingStrategy, got {type(name_or_strategy).__name__}.")
    if name_or_strategy not in catalog.STRATEGIES:
        raise ValueError(f"Received an invalid value for argument `strategy`, expected one of "
                         f"{sorted(catalog.STRATEGIES)}, got {name_or_strategy!r}.")
    return STRATEGIES[name_or_strategy](**options)
