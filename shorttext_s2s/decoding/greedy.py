"""Greedy decoding: the most likely next character at every step."""

from __future__ import annotations

from keras import ops

from .base import DecodingStrategy

__all__ = ["GreedyStrategy"]


class GreedyStrategy(DecodingStrategy):
    """Take the most likely character at each step (argmax), as the Keras example does.

    Deterministic; the seed is ignored.

    Example:

    >>> GreedyStrategy().get_config()
    {}
    """

    compactable = True

    def get_next_token(self, logits, seed, step):
        """Return the argmax of each row's logits (the same argmax as of the softmax)."""
        return ops.argmax(logits, axis=-1)
