"""Keras callbacks for training seq2seq models: checkpoints, early stopping, model selection.

Each works with ``keras.Model.fit`` through
:meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs` (``callbacks=[...]``); the
:class:`~shorttext_s2s.training.Trainer` adds them itself from its options.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import keras
import numpy as np

from ._checks import check_int
from .distributed import any_process, is_main_process, process_count
from .exceptions import PathLike, TrainingStopped

__all__ = ["CompactCheckpoint", "ModelSelection", "ValidationScorer", "Selection", "TimeBudget",
           "BudgetDecay", "StopOnSignal",
           "SELECTION_MEASURES", "MEASURE_NAMES", "EpochFigure", "epoch_figure"]

logger = logging.getLogger(__name__)

#: What picks the best epoch, in order of preference: a key of the epoch's logs and whether
#: higher is better. The validation score of the ``"small-data"`` recipe (logged every few
#: epochs) outranks any loss, the validation loss the training loss.
SELECTION_MEASURES: Tuple[Tuple[str, bool], ...] = (
    ("val_chrf", True), ("val_exact_match", True), ("val_cer", False), ("val_loss", False),
    ("loss", False))


class EpochFigure(NamedTuple):
    """An epoch's figure for model selection (:func:`epoch_figure`).

    ``rank`` is the measure's place in the measures judged by, ``key`` its key in the logs,
    ``value`` its value, ``score`` the value signed so that higher is better, ``tie`` the
    negated validation loss that breaks ties (-inf when the measure is a loss itself or there
    is none), as :class:`ModelSelection` judges.
    """

    rank: int
    key: str
    value: float
    score: float
    tie: float = -math.inf

    def beats(self, other: Optional["EpochFigure"]) -> bool:
        """Whether this epoch is better than ``other`` (None: no epoch judged yet)."""
        return other is None or self.rank < other.rank or (
            self.rank == other.rank and (self.score, self.tie) > (other.score, other.tie))


def epoch_figure(logs: dict, measures: Sequence[Tuple[str, bool]] = SELECTION_MEASURES
                 ) -> Optional[EpochFigure]:
    """The first of ``measures`` in an epoch's ``logs``, or None if it logged none.

    Example:

    >>> epoch_figure({"loss": 2.0, "val_loss": 1.5}).key
    'val_loss'
    >>> epoch_figure({"val_chrf": 30.0}).beats(epoch_figure({"val_loss": 1.0}))
    True
    >>> epoch_figure({"val_chrf": 30.0, "val_loss": 0.9}).beats(
    ...     epoch_figure({"val_chrf": 30.0, "val_loss": 1.0}))
    True
    """
    for rank, (key, higher) in enumerate(measures):
        if key in logs:
            value = float(logs[key])
            val_loss = logs.get("val_loss") if key != "val_loss" else None
            return EpochFigure(rank, key, value,
                               *_figure(value, higher, None if val_loss is None else
                                        float(val_loss)))
    return None


def _figure(value: float, higher: bool, val_loss: Optional[float]) -> Tuple[float, float]:
    """The one comparison of model selection: the measure signed so that higher is better,
    then the validation loss, lower better (-inf where there is none to break ties)."""
    return (value if higher else -value), (-math.inf if val_loss is None else -val_loss)


class CompactCheckpoint(keras.callbacks.Callback):
    """Save a model to one file in the library's format at the end of every epoch.

    The file is replaced atomically (an interrupted save keeps the previous epoch's file) and
    records the number of epochs trained, with the optimizer state, so that training can resume:
    load it with :func:`~shorttext_s2s.loadCharBasedSeq2SeqGenerator` and train on with
    ``initial_epoch=generator.epochs_trained`` (or ``train_pairs(..., resume=True)``). In a
    multi-process run (:mod:`shorttext_s2s.distributed`) process 0 alone writes it.

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
        if not is_main_process():
            return  # every process holds the same weights; one file, written by process 0
        self.generator.save_compact_model(self.path)
        logger.debug("epoch %d: checkpoint written to %s", epoch + 1, self.path)


#: How each measure is named in messages.
MEASURE_NAMES = {"val_chrf": "validation chrF", "val_exact_match": "validation exact match",
                 "val_cer": "validation CER", "val_loss": "validation loss",
                 "loss": "training loss"}
#: The measures where a higher value is better.
_HIGHER_IS_BETTER = {key for key, higher in SELECTION_MEASURES if higher}


@dataclass
class Selection:
    """Which epoch's weights model selection keeps, and by what figure.

    Saved in a model file's ``training`` section (:meth:`to_config`), with the weights
    themselves when they are not the file's own (a checkpoint whose last epoch is not the
    best), so that training resumed from a checkpoint goes on judging against the best epoch
    so far.

    Attributes:
        epoch: the epoch (counted from 1) whose weights are kept.
        measure: the key of the measure that judged it (:data:`SELECTION_MEASURES`).
        value: its value of that measure.
        val_loss: its validation loss, which breaks ties of the measure (None when the
            measure is a loss or there was no validation).
        weights: the weights of that epoch (``keras.Model.get_weights()``), or None where
            they are the model's own (a file loaded at that epoch); :class:`ModelSelection`
            takes them when training starts.
        scores: that epoch's validation scores by :class:`ValidationScorer` (``val_chrf``,
            ``val_exact_match``, ``val_ser``...), empty without them.
    """

    epoch: int
    measure: str
    value: float
    val_loss: Optional[float] = None
    weights: Optional[List[np.ndarray]] = field(default=None, repr=False, compare=False)
    scores: Dict[str, float] = field(default_factory=dict)

    def figure(self) -> Tuple[float, float]:
        """What epochs are compared by: the measure, signed so that higher is better, then
        the validation loss, lower better."""
        return _figure(self.value, self.measure in _HIGHER_IS_BETTER, self.val_loss)

    def beats(self, other: Optional["Selection"]) -> bool:
        """Whether this epoch is better than ``other`` (None: no epoch judged yet)."""
        return other is None or self.figure() > other.figure()

    def describe(self) -> str:
        """The figure in words: ``validation chrF 87.31, validation loss 0.5123``."""
        text = f"{MEASURE_NAMES.get(self.measure, self.measure)} {self.value:.4g}"
        if self.val_loss is not None:
            text += f", validation loss {self.val_loss:.4g}"
        return text

    def to_config(self) -> Dict[str, Any]:
        """The JSON description (the weights are stored apart)."""
        config = {"epoch": self.epoch, "measure": self.measure, "value": self.value,
                  "val_loss": self.val_loss}
        if self.scores:
            config["scores"] = dict(self.scores)
        return config

    @classmethod
    def from_config(cls, config: Any) -> "Selection":
        """The inverse of :meth:`to_config`.

        Raises:
            ValueError: not such a description.
        """
        keys = {"epoch", "measure", "value", "val_loss"}
        if not isinstance(config, dict) or not keys <= set(config) <= keys | {"scores"}:
            raise ValueError(f"invalid selection {config!r}")
        epoch, measure, value, val_loss = (config[key] for key in ("epoch", "measure", "value",
                                                                   "val_loss"))
        scores = config.get("scores", {})
        if (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1
                or measure not in MEASURE_NAMES or not _finite(value)
                or not (val_loss is None or _finite(val_loss))
                or not isinstance(scores, dict)
                or not all(isinstance(key, str) and _finite(score)
                           for key, score in scores.items())):
            raise ValueError(f"invalid selection {config!r}")
        return cls(epoch, measure, float(value), None if val_loss is None else float(val_loss),
                   scores={key: float(score) for key, score in scores.items()})


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class ValidationScorer:
    """Decodes held-out pairs greedily and scores the outputs, as users judge a model.

    The score is what a user judges a model by (the decoded text), not the teacher-forced
    loss: chrF (``metric="chrf"``, needs the ``metrics`` extra), the exact match rate
    (``"exact_match"``: the word accuracy) or the character error rate (``"cer"``, lower is
    better), logged by :class:`ModelSelection` as ``val_chrf``, ``val_exact_match`` or
    ``val_cer``, beside the exact match rate and, for outputs of units with a separator,
    the symbol error rate (``val_ser``), which are logged too.

    Args:
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        encoder_ids: the validation inputs, encoded as the model reads them
            (``generator.encode_pairs(pairs)[0]``).
        target_ids: the validation targets' ids (``generator.encode_pairs(pairs)[2]``).
        metric: ``"chrf"``, ``"exact_match"`` or ``"cer"``. Defaults to ``"chrf"``.
    """

    #: The metrics it can select by, each logged as ``val_<metric>``.
    METRICS = ("chrf", "exact_match", "cer")

    def __init__(self, generator: Any, encoder_ids: np.ndarray, target_ids: np.ndarray,
                 metric: str = "chrf") -> None:
        if metric not in self.METRICS:
            raise ValueError(f"Received an invalid value for argument `metric`, expected "
                             f"'chrf', 'exact_match' or 'cer', got {metric!r}.")
        self.generator = generator
        self.encoder_ids = np.asarray(encoder_ids)
        self.targets: List[str] = [generator.encoder.decode_ids(row) for row in target_ids]
        self.metric = metric
        #: The key of the score in an epoch's logs.
        self.key = f"val_{metric}"
        separator = generator.encoder.target_sep
        self._metrics = tuple(dict.fromkeys(
            (metric, "exact_match") + (("ser",) if separator is not None else ())))

    def __call__(self) -> float:
        """Decode the validation inputs greedily and return the metric."""
        return self.scores()[self.key]

    def scores(self) -> Dict[str, float]:
        """Decode the validation inputs greedily and return every score logged, by key."""
        from .decoding import GreedyStrategy, decode_ids
        from .evaluation import score_texts

        encoder = self.generator.encoder
        decoded = decode_ids(self.generator.s2sgenerator.network, self.encoder_ids,
                             GreedyStrategy(), None, encoder.signal_id)
        outputs = [encoder.decode_ids(row[0]) for row in decoded.ids]
        scores = score_texts(outputs, self.targets, metrics=self._metrics,
                             separator=encoder.target_sep)
        return {f"val_{name}": float(scores[name]) for name in self._metrics}

    @property
    def scores_logged(self) -> Tuple[str, ...]:
        """The keys :meth:`scores` returns."""
        return tuple(f"val_{name}" for name in self._metrics)


class ModelSelection(keras.callbacks.Callback):
    """Keep the weights of the best epoch by one measure, and stop when it stops improving.

    The one rule of model selection of the library: epochs are judged by ``measure``
    (the validation chrF or CER that ``scorer`` computes, the validation loss, or the
    training loss), ties broken by the validation loss. When training ends, however it ends,
    the weights of the best epoch are restored, the model's ``weights_epoch`` and
    ``selection`` (a :class:`Selection`) say which epoch that was, and so do
    :attr:`stopped_early` and :meth:`summary`. Training resumed from a checkpoint goes on
    from the selection saved in it.

    Args:
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        measure: the key of an epoch's logs to judge by, one of
            :data:`SELECTION_MEASURES`; with a ``scorer``, the scorer's key.
        scorer: a :class:`ValidationScorer`, called after every ``every`` epochs and after
            the last one (also one that another callback stops training in), its score
            added to the epoch's logs. Defaults to None.
        every: with a ``scorer``, judge every this many epochs. Defaults to 1.
        patience: stop training once this many epochs have passed without a better one.
            Defaults to None (never stop early).
    """

    def __init__(self, generator: Any, measure: str, scorer: Optional[ValidationScorer] = None,
                 every: int = 1, patience: Optional[int] = None) -> None:
        super().__init__()
        if measure not in MEASURE_NAMES or (scorer is not None and scorer.key != measure):
            raise ValueError(f"Received an invalid value for argument `measure`, expected one "
                             f"of {sorted(MEASURE_NAMES)} (the scorer's), got {measure!r}.")
        self.generator = generator
        self.measure = measure
        self.scorer = scorer
        self.every = check_int(every, "every")
        self.patience = None if patience is None else check_int(patience, "patience", 1)
        #: Whether training stopped because ``patience`` epochs passed without a better one.
        self.stopped_early = False
        self._unjudged: Optional[Tuple[int, dict]] = None  # the last epoch, not scored yet

    @property
    def s2s(self) -> Any:
        return self.generator.s2sgenerator

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        self.stopped_early = False
        self._unjudged = None
        selection = self.s2s.selection
        if selection is not None and selection.measure != self.measure:
            logger.info("the selection saved (%s) is not by %s: judging afresh",
                        selection.describe(), MEASURE_NAMES[self.measure])
            self.s2s.selection = None
        elif selection is not None and selection.weights is None:
            # Loaded at its best epoch: the weights are about to change, keep them now.
            selection.weights = self.model.get_weights()

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = logs if logs is not None else {}
        done = epoch + 1
        if self.scorer is not None:
            # The last epoch is scored, also one that a callback before this one stops in.
            last = done >= self.params.get("epochs", done) or self.model.stop_training
            if done % self.every and not last:
                self._unjudged = (done, logs)
                return
            logs.update(self.scorer.scores())
        self._unjudged = None
        self._judge(done, logs)
        best = self.s2s.selection
        if self.patience is not None and best is not None and done - best.epoch >= self.patience:
            self.stopped_early = True
            self.model.stop_training = True

    def _judge(self, epoch: int, logs: dict) -> None:
        if self.measure not in logs:
            return
        val_loss = logs.get("val_loss") if self.measure != "val_loss" else None
        scores = {} if self.scorer is None else {
            key: float(logs[key]) for key in self.scorer.scores_logged if key in logs}
        candidate = Selection(epoch, self.measure, float(logs[self.measure]),
                              None if val_loss is None else float(val_loss), scores=scores)
        if candidate.beats(self.s2s.selection):
            candidate.weights = self.model.get_weights()
            self.s2s.selection = candidate
        logger.info("epoch %d: %s (best: epoch %d)", epoch, candidate.describe(),
                    self.s2s.selection.epoch)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        if self._unjudged is not None:  # stopped by another callback between two scorings
            epoch, epoch_logs = self._unjudged
            epoch_logs.update(self.scorer.scores())
            self._judge(epoch, epoch_logs)
            self._unjudged = None
        self.restore_best()

    def restore_best(self) -> None:
        """Put the weights of the best epoch judged so far into the model."""
        best = self.s2s.selection
        if best is None or best.epoch == self.s2s.weights_epoch:
            return
        if best.weights is None:
            raise RuntimeError(f"the weights of epoch {best.epoch} were not kept")
        self.model.set_weights(best.weights)
        self.s2s.weights_epoch = best.epoch

    def summary(self) -> str:
        """What was kept and why, in one line (empty before an epoch was judged)."""
        best = self.s2s.selection
        if best is None:
            return ""
        text = f"kept the weights of epoch {best.epoch} (the best {best.describe()})"
        if self.stopped_early:
            text += f"; stopped early: {self.patience} epochs without a better one"
        return text


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the first batch boundary after ``seconds`` of training.

    The epoch it stops in ends there: it is validated (and judged by
    :class:`ModelSelection`, which keeps the best epoch's weights) and counted as an epoch,
    as its checkpoint is. The clock starts when training starts (after loading and encoding
    the pairs) and counts validation too.

    Args:
        seconds: the budget, a positive number of seconds.

    Attributes:
        spent: whether the budget ended training.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"Received an invalid value for argument `time_budget`, expected "
                             f"a positive number of seconds, got {seconds!r}.")
        self.seconds = float(seconds)
        self.spent = False
        self._started = self._elapsed = 0.0

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        self.spent = False
        self._started = time.monotonic()
        self._elapsed = 0.0

    def fraction(self) -> float:
        """The share of the budget spent by the end of the last batch (0 before the first)."""
        return min(1.0, self._elapsed / self.seconds)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        elapsed = time.monotonic() - self._started
        if process_count() > 1:
            # The slowest process's clock, in whole milliseconds: every process must stop at
            # the same batch, and decay its learning rate alike.
            elapsed = any_process(math.ceil(elapsed * 1000)) / 1000
        self._elapsed = elapsed
        if not self.spent and elapsed >= self.seconds:
            self.spent = True
            self.model.stop_training = True
            logger.info("time budget of %.0f s spent: training stops after this batch",
                        self.seconds)


class BudgetDecay(keras.callbacks.Callback):
    """Lower the learning rate linearly with the share of a time budget spent.

    Training for a known budget learns most when the learning rate falls to (near) zero as
    the budget ends, rather than on plateaus it may never reach (Li, Yumer & Ramanan,
    "Budgeted Training", ICLR 2020): the rate is ``start * (1 - spent * (1 - final))``, set
    every ``every`` batches, ``start`` being the optimizer's rate when training starts.

    Args:
        budget: the :class:`TimeBudget` training runs under (listed before this callback).
        final: the rate at the end of the budget, as a share of the starting one. Defaults
            to 0.05.
        every: batches between two updates. Defaults to 20.
    """

    def __init__(self, budget: TimeBudget, final: float = 0.05, every: int = 20) -> None:
        super().__init__()
        self.budget = budget
        self.final = float(final)
        self.every = check_int(every, "every")
        self._start: Optional[float] = None

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        self._start = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        if batch % self.every:
            return
        rate = self._start * (1.0 - self.budget.fraction() * (1.0 - self.final))
        # Under JAX, fit() holds the optimizer's state apart during an epoch: write it back
        # first, so that the new rate is read with it at the next batch.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        self.model.optimizer.learning_rate.assign(rate)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        if logs is not None:  # as ReduceLROnPlateau logs it
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class StopOnSignal(keras.callbacks.Callback):
    """Stop training at the end of a batch after SIGINT or SIGTERM, on every process at once.

    Used as a context manager around training, it turns the first of those signals into a
    request: after the batch being trained (or before the next epoch, when the signal came
    during validation) the callback raises :class:`~shorttext_s2s.exceptions.TrainingStopped`,
    so the stop never lands inside the backend's data pipeline and an unfinished epoch is
    never counted as done. In a multi-process run the processes agree after every batch on
    whether any of them was asked, so all stop at the same one. A second signal acts as usual
    (Ctrl-C raises ``KeyboardInterrupt`` at once). Outside the main thread, where Python
    cannot handle signals, it installs nothing.

    Args:
        announce: called with the signal number when one arrives (to tell the user).

    Attributes:
        signum: the signal received by this process, or None.
    """

    #: The signals it turns into a stop request.
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, announce: Optional[Callable[[int], None]] = None) -> None:
        super().__init__()
        self.announce = announce
        self.signum: Optional[int] = None
        self._previous: Dict[int, Any] = {}

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum
        self._restore()
        if self.announce is not None:
            self.announce(signum)

    def _check(self) -> None:
        signum = any_process(self.signum or 0)
        if signum:
            raise TrainingStopped(signum)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        self._check()

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self._check()
