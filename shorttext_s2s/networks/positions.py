"""Sinusoidal position encodings, for networks that read a sequence all at once.

A network without recurrence (the Transformer, :mod:`.transformer`) sees its inputs as a
set; adding these encodings to the embeddings tells it where each character stands. They
are a fixed function of the position, so a model has no longest length built in.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

__all__ = ["SinusoidalPositions", "sinusoidal_positions"]


def sinusoidal_positions(positions: Any, width: int) -> Any:
    """Sinusoidal encodings of ``positions``: ``sin`` of each frequency, then ``cos``.

    The frequencies are ``10000 ** (-2 i / width)`` for ``i`` below ``ceil(width / 2)``
    (Vaswani et al., 2017), the sines and the cosines side by side rather than interleaved
    (the same information; a different order of the features), cut to ``width`` features.

    Args:
        positions: ``float32`` positions, any shape.
        width: features per position, a positive integer.

    Returns:
        ``float32`` ``positions.shape + (width,)``.

    Example:

    >>> from keras import ops
    >>> [round(float(v), 3) for v in sinusoidal_positions(ops.convert_to_tensor([1.0]), 4)[0]]
    [0.841, 0.01, 0.54, 1.0]
    """
    half = (width + 1) // 2
    frequencies = ops.exp(ops.arange(half, dtype="float32")
                          * ops.cast(-2.0 * math.log(10000.0) / width, "float32"))
    angles = ops.multiply(ops.expand_dims(ops.cast(positions, "float32"), -1), frequencies)
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)[..., :width]


class SinusoidalPositions(keras.layers.Layer):
    """Scale embeddings by ``sqrt(width)`` and add :func:`sinusoidal_positions`.

    The scale, as in Vaswani et al. (2017), keeps the embeddings from being drowned by the
    encodings (features in ``[-1, 1]``) in wide models: Glorot-initialised embeddings shrink
    as ``1 / sqrt(width)``.

    Call arguments:
        inputs: ``(batch, steps, width)`` embeddings.

    Returns:
        ``(batch, steps, width)``: ``inputs * sqrt(width) + encodings of 0 .. steps - 1``.
    """

    def call(self, inputs: Any) -> Any:
        width = inputs.shape[-1]
        positions = ops.arange(ops.shape(inputs)[1], dtype="float32")
        return ops.add(ops.multiply(inputs, math.sqrt(width)),
                       sinusoidal_positions(positions, width)[None])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape
