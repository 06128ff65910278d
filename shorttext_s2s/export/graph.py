"""The decoding loop an export holds: a strategy's loop on a generator's network."""

from __future__ import annotations

from typing import Any

from ..decoding import DecodingStrategy

__all__ = ["decoding_loop"]


def decoding_loop(generator: Any, strategy: DecodingStrategy, weights: Any) -> Any:
    """``input_ids -> (ids, log_probs, lengths)``: the strategy's loop on the generator's
    network, with the weights ``weights()`` gives where it is traced (deterministic
    strategies: the seed is unused)."""
    import tensorflow as tf

    network = generator.network
    num_steps, signal_id = generator.maxlen - 1, generator.encoder.signal_id

    def loop(input_ids):
        return strategy.generate(network, weights(), input_ids, tf.zeros((2,), tf.int32),
                                 num_steps, signal_id)

    return loop
