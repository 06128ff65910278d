"""Strategy classes by name: where a new decoding strategy is registered.

Its name and options are also listed, without Keras, in
:data:`shorttext_s2s.strategy_options.STRATEGY_OPTIONS` (for the command line and the server
to check requests early); ``tests/test_decoding.py`` keeps the two in step.
"""

from __future__ import annotations

from typing import Any, Dict, Type, Union

from .base import DecodingStrategy
from .beam import BeamSearchStrategy
from .greedy import GreedyStrategy
from .sampling import SamplingStrategy

__all__ = ["STRATEGIES", "get_strategy"]

#: Strategy classes by name.
STRATEGIES: Dict[str, Type[DecodingStrategy]] = {
    GreedyStrategy.name: GreedyStrategy,
    SamplingStrategy.name: SamplingStrategy,
    BeamSearchStrategy.name: BeamSearchStrategy,
}


def get_strategy(name_or_strategy: Union[str, DecodingStrategy],
                 **options: Any) -> DecodingStrategy:
    """Return a decoding strategy from its name and options (or the strategy itself).

    Args:
        name_or_strategy: ``"greedy"``, ``"sample"`` (options ``temperature``, ``top_k``),
            ``"beam"`` (options ``beam_width``, ``length_penalty``, ``num_results``), or a
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
    try:
        cls = STRATEGIES[name_or_strategy]
    except KeyError:
        raise ValueError(f"Received an invalid value for argument `strategy`, expected one of "
                         f"{sorted(STRATEGIES)}, got {name_or_strategy!r}.") from None
    return cls(**options)
