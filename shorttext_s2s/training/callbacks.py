"""Keras callbacks for training seq2seq models: checkpoints, time budgets, clean stops.

Each works with ``keras.Model.fit`` through
:meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs` (``callbacks=[...]``); the
:class:`~shorttext_s2s.training.Trainer` adds them itself from its options. Model selection,
the callback that keeps the best epoch, is :mod:`shorttext_s2s.training.selection`.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from typing import Any, Callable, Dict, Optional

import keras

from .._checks import check_int
from ..exceptions import PathLike, TrainingStopped
from .distributed import any_process, is_main_process, process_count

__all__ = ["CompactCheckpoint", "TimeBudget", "BudgetDecay", "StopOnSignal"]

logger = logging.getLogger(__name__)


class CompactCheckpoint(keras.callbacks.Callback):
    """Save a model to one file in the library's format at the end of every epoch.

    The file is replaced atomically (an interrupted save keeps the previous epoch's file) and
    records the number of epochs trained, with the optimizer state, so that training can resume:
    load it with :func:`~shorttext_s2s.loadCharBasedSeq2SeqGenerator` and train on with
    ``initial_epoch=generator.epochs_trained`` (or ``train_pairs(..., resume=True)``). In a
    multi-process run (:mod:`shorttext_s2s.training.distributed`) process 0 alone writes it.

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


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the first batch boundary after ``seconds`` of training.

    The epoch it stops in ends there: it is validated (and judged by
    :class:`~shorttext_s2s.training.selection.ModelSelection`, which keeps the best epoch's
    weights) and counted as an epoch, as its checkpoint is. The clock starts when training
    starts (after loading and encoding the pairs) and counts validation too.

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
