"""Keras callbacks for training seq2seq models: checkpoints, early stopping, model selection.

Each works with ``keras.Model.fit`` through
:meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs` (``callbacks=[...]``); the
:class:`~shorttext_s2s.training.Trainer` adds them itself from its options.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import keras
import numpy as np

from ._checks import check_int
from .exceptions import PathLike

__all__ = ["CompactCheckpoint", "ValidationScore", "early_stopping_callback",
           "SELECTION_MEASURES", "EpochFigure", "epoch_figure"]

logger = logging.getLogger(__name__)

#: What picks the best epoch, in order of preference: a key of the epoch's logs and whether
#: higher is better. The validation score of the ``"small-data"`` recipe (logged every few
#: epochs) outranks any loss, the validation loss the training loss.
SELECTION_MEASURES: Tuple[Tuple[str, bool], ...] = (
    ("val_chrf", True), ("val_cer", False), ("val_loss", False), ("loss", False))


class EpochFigure(NamedTuple):
    """An epoch's figure for model selection (:func:`epoch_figure`).

    ``rank`` is the measure's place in the measures judged by, ``key`` its key in the logs,
    ``value`` its value, ``score`` the value signed so that higher is better.
    """

    rank: int
    key: str
    value: float
    score: float

    def beats(self, other: Optional["EpochFigure"]) -> bool:
        """Whether this epoch is better than ``other`` (None: no epoch judged yet)."""
        return other is None or self.rank < other.rank or (
            self.rank == other.rank and self.score > other.score)


def epoch_figure(logs: dict, measures: Sequence[Tuple[str, bool]] = SELECTION_MEASURES
                 ) -> Optional[EpochFigure]:
    """The first of ``measures`` in an epoch's ``logs``, or None if it logged none.

    Example:

    >>> epoch_figure({"loss": 2.0, "val_loss": 1.5}).key
    'val_loss'
    >>> epoch_figure({"val_chrf": 30.0}).beats(epoch_figure({"val_loss": 1.0}))
    True
    """
    for rank, (key, higher) in enumerate(measures):
        if key in logs:
            value = float(logs[key])
            return EpochFigure(rank, key, value, value if higher else -value)
    return None


class CompactCheckpoint(keras.callbacks.Callback):
    """Save a model to one file in the library's format at the end of every epoch.

    The file is replaced atomically (an interrupted save keeps the previous epoch's file) and
    records the number of epochs trained, with the optimizer state, so that training can resume:
    load it with :func:`~shorttext_s2s.loadCharBasedSeq2SeqGenerator` and train on with
    ``initial_epoch=generator.epochs_trained`` (or ``train_pairs(..., resume=True)``).

    Args:
        generator: the model being trained: anything with ``save_compact_model`` (a
            :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` or
            :class:`~shorttext_s2s.Seq2SeqWithKeras`).
        path: the file to write.
    """

    def __init__(self, generator: Any, path: PathLike) -> None:
        super().__init__()
        self.generator = generator
        self.path = os.fspath(path)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.generator.save_compact_model(self.path)
        logger.debug("epoch %d: checkpoint written to %s", epoch + 1, self.path)


def early_stopping_callback(patience: int, monitor: str) -> keras.callbacks.EarlyStopping:
    """Early stopping on ``monitor`` after ``patience`` epochs without improvement.

    The weights of the best epoch are restored when training ends, whether it stopped early
    or ran all its epochs.
    """
    patience = check_int(patience, "early_stopping", minimum=0)
    return keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                         restore_best_weights=True)


class ValidationScore(keras.callbacks.Callback):
    """Decode held-out pairs every few epochs, score them, and keep the best weights.

    The score is what a user judges a model by (the decoded text), not the teacher-forced
    loss: greedy decoding of the validation inputs, scored with chrF (``metric="chrf"``,
    needs the ``metrics`` extra) or the character error rate (``"cer"``, lower is better). The
    score is logged as ``val_chrf`` (or ``val_cer``). When training ends the weights of the
    best-scoring epoch are restored, and ``weights_epoch`` of the model says which epoch that
    was.

    The last epoch is always scored, also when another callback stops training.

    Args:
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        encoder_ids: the validation inputs, encoded as the model reads them
            (``generator.encode_pairs(pairs)[0]``).
        target_ids: the validation targets' ids (``generator.encode_pairs(pairs)[2]``).
        every: score after every this many epochs (and after the last). Defaults to 1.
        metric: ``"chrf"`` or ``"cer"``. Defaults to ``"chrf"``.
        patience: stop training after this many epochs without a better score. Defaults to
            None (never stop early).
    """

    def __init__(self, generator: Any, encoder_ids: np.ndarray, target_ids: np.ndarray,
                 every: int = 1, metric: str = "chrf", patience: Optional[int] = None) -> None:
        super().__init__()
        if metric not in ("chrf", "cer"):
            raise ValueError(f"Received an invalid value for argument `metric`, expected "
                             f"'chrf' or 'cer', got {metric!r}.")
        self.generator = generator
        self.encoder_ids = np.asarray(encoder_ids)
        self.targets: List[str] = [generator.encoder.decode_ids(row) for row in target_ids]
        self.every = check_int(every, "every")
        self.metric = metric
        self.patience = None if patience is None else check_int(patience, "patience", 0)
        self.sign = 1.0 if metric == "chrf" else -1.0
        self.best = -math.inf
        self.best_epoch: Optional[int] = None
        self.best_weights: Optional[List[np.ndarray]] = None
        self._unscored: Optional[int] = None  # the last epoch ended, if not scored

    def score(self) -> float:
        """Decode the validation inputs greedily and return the metric."""
        from .decoding import GreedyStrategy, decode_ids
        from .evaluation import score_texts

        encoder = self.generator.encoder
        decoded = decode_ids(self.generator.s2sgenerator.network, self.encoder_ids,
                             GreedyStrategy(), None, encoder.signal_id)
        outputs = [encoder.decode_ids(row[0]) for row in decoded.ids]
        return score_texts(outputs, self.targets, metrics=(self.metric,))[self.metric]

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        last = epoch + 1 >= self.params.get("epochs", epoch + 1)
        if (epoch + 1) % self.every and not last:
            self._unscored = epoch + 1
            return
        self._unscored = None
        value = self._judge(epoch + 1)
        if logs is not None:
            logs[f"val_{self.metric}"] = value
        if self.patience is not None and epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def _judge(self, epoch: int) -> float:
        value = self.score()
        if self.sign * value > self.best:
            self.best, self.best_epoch = self.sign * value, epoch
            self.best_weights = self.model.get_weights()
        logger.info("epoch %d: validation %s %.2f (best %.2f at epoch %d)", epoch,
                    self.metric, value, self.sign * self.best, self.best_epoch)
        return value

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        if self._unscored is not None:  # stopped by another callback between two scorings
            self._judge(self._unscored)
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            self.generator.s2sgenerator.weights_epoch = self.best_epoch
