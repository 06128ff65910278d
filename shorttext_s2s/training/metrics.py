"""The metric training reports: the share of real characters the model ranks first."""

from __future__ import annotations

from typing import Any, Dict

import keras

__all__ = ["CharAccuracy"]


class CharAccuracy(keras.metrics.Mean):
    """Share of the targets' real characters that the model ranks first, padding left out.

    Counted over every real character seen since the last reset (an epoch in ``fit``), so
    that the figure depends neither on how pairs are grouped into batches nor on how far
    each batch is padded. Padding targets are all-zero vectors (see
    :func:`~shorttext_s2s.encoder.onehot`) and are recognised from the targets themselves:
    Keras's own accuracy weighs each batch by its padded length, and under JAX it does not
    see the padding mask during ``fit`` at all.

    Example:

    >>> metric = CharAccuracy()
    >>> _ = metric.update_state([[[0., 1.], [1., 0.], [0., 0.]]],
    ...                         [[[0.2, 0.8], [0.3, 0.7], [0.9, 0.1]]])
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name: str = "char_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch: ``(pairs, steps, vocabulary)`` one-hot targets and model outputs.

        ``sample_weight``, if given, weighs each pair ``(pairs,)`` or each character
        ``(pairs, steps)``.
        """
        ops = keras.ops
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        matches = ops.cast(ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1)),
                           self.dtype)
        weights = ops.cast(ops.any(ops.not_equal(y_true, 0), axis=-1), self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            if len(sample_weight.shape) == 1:
                sample_weight = ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
        # One value per character, so that Mean adds them up as they are (it would first
        # average each pair's values over its padded length).
        return super().update_state(ops.reshape(matches, (-1,)),
                                    sample_weight=ops.reshape(weights, (-1,)))

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments."""
        return {"name": self.name, "dtype": self.dtype}
