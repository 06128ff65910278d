"""Sampling: draw each next character from the model's softmax, with temperature and top-k."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

import numpy as np
from keras import ops

from .backend import stateless_uniform
from .base import DecodingStrategy

__all__ = ["SamplingStrategy"]

_TINY = float(np.finfo(np.float32).tiny)


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

    name = "sample"
    stochastic = True

    def __init__(self, temperature: float = 1.0, top_k: Optional[int] = None) -> None:
        if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                or not math.isfinite(temperature) or temperature < 0):
            raise ValueError(f"Received an invalid value for argument `temperature`, expected "
                             f"a finite number >= 0, got {temperature!r}.")
        if top_k is not None and (isinstance(top_k, bool)
                                  or not isinstance(top_k, (int, np.integer))
                                  or top_k < 1):
            raise ValueError(f"Received an invalid value for argument `top_k`, expected None "
                             f"or a positive integer, got {top_k!r}.")
        self.temperature = float(temperature)
        self.top_k = None if top_k is None else int(top_k)

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
