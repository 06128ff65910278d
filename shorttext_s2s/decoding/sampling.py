"""Sampling: draw each next character from the model's softmax, with temperature and top-k."""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
from keras import ops

from .. import catalog
from .._checks import check_number, check_optional_int
from .backend import stateless_uniform
from .base import DecodingStrategy

__all__ = ["SamplingStrategy"]

_TINY = float(np.finfo(np.float32).tiny)
_DEFAULTS = catalog.STRATEGIES[catalog.SAMPLE].defaults()


class SamplingStrategy(DecodingStrategy):
    """Draw each character at random from ``softmax(logits / temperature)``.

    Sampling uses the Gumbel-max trick on a stateless random stream keyed by the seed and
    the step, so a given seed gives the same output for the same input and batch layout.

    Args:
        temperature: divides the logits. ``1.0`` (the default) samples from the model's own
            distribution, lower values sharpen it, ``0`` is greedy decoding.
        top_k: if given, sample only among the ``top_k`` most likely characters; ``1`` is
            greedy decoding. Defaults to ``None`` (all characters).

    Raises:
        ValueError: ``temperature`` is negative or not finite, or ``top_k`` is not a positive
            integer.

    Example:

    >>> SamplingStrategy(temperature=0.7, top_k=5).get_config()
    {'temperature': 0.7, 'top_k': 5}
    """

    stochastic = True

    def __init__(self, temperature: float = _DEFAULTS["temperature"],
                 top_k: Optional[int] = _DEFAULTS["top_k"]) -> None:
        self.temperature = check_number(temperature, "temperature")
        self.top_k = check_optional_int(top_k, "top_k")

    def get_config(self) -> Dict[str, Any]:
        """Return ``{"temperature": ..., "top_k": ...}``."""
        return {"temperature": self.temperature, "top_k": self.top_k}

    def get_next_token(self, logits, seed, step):
        """Draw one id per row from the tempered, top-k-restricted softmax."""
        if self.temperature == 0.0 or self.top_k == 1:
            return ops.argmax(logits, axis=-1)
        if self.top_k is not None and self.top_k < logits.shape[-1]:
            kth = ops.top_k(logits, self.top_k)[0][:, -1:]
            logits = ops.where(logits < kth, ops.cast(float("-inf"), logits.dtype), logits)
        uniform = ops.maximum(stateless_uniform(ops.shape(logits), seed, step), _TINY)
        gumbel = -ops.log(-ops.log(uniform))
        return ops.argmax(logits / self.temperature + gumbel, axis=-1)
