"""Training: the :class:`Trainer` that runs a generator's training, and its callbacks.

The trainer owns what a training run needs besides the model: encoding and splitting the
pairs, length-bucketed batches (:mod:`shorttext_s2s.training.batches`), checkpoints and resuming,
early stopping, and training across devices. The model's own
:meth:`~shorttext_s2s.Seq2SeqWithKeras.fit_batches` runs the epochs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Any, Iterable, Iterator, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from .._checks import check_bool, check_int, check_number, check_optional_int
from ..exceptions import PathLike
from .batches import PairBatches
from .callbacks import CompactCheckpoint, StopOnSignal, TimeBudget
from .distributed import (is_main_process, process_count, process_index, shared_seed,
                          spans_processes)
from .recipes import (check_recipe, default_feature_dropout, default_loss, default_optimizer,
                      recipe_callbacks)
from .selection import default_patience, default_validation_share, measure_words

__all__ = ["Trainer", "distribution_scope", "replica_count"]

logger = logging.getLogger(__name__)

Pairs = Iterable[Tuple[str, str]]


class Trainer:
    """Trains a :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` on ``(input, target)`` pairs.

    Pairs are kept as integer ids and expanded to one-hot vectors one batch at a time; each
    batch holds pairs of similar length and is padded only to its longest one. Padding is
    masked: it changes neither the loss nor the ``char_accuracy`` metric.
    :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.train_pairs` makes one and runs it.

    Args:
        batch_size: pairs per gradient step. Defaults to 64.
        validation_data: held-out ``(input, target)`` pairs; their loss and accuracy are
            reported each epoch as ``val_loss`` and ``val_char_accuracy``.
        validation_split: fraction (0 to 1) of the pairs held out for validation instead,
            drawn at random (with ``seed``, or 0 without: the same pairs when training
            resumes). Ignored when ``validation_data`` is given. Defaults to ``"auto"``: a
            share sized from the data
            (:func:`~shorttext_s2s.training.selection.default_validation_share`: none under
            2,000 pairs, else about 1,000 pairs, from 1 % to 10 %); 0 holds none out.
        callbacks: further Keras callbacks.
        early_stopping: a patience in epochs: stop when the recipe's measure has not improved
            for that many epochs (:mod:`shorttext_s2s.training.selection`: the validation chrF
            for ``"small-data"``, or its word accuracy for targets of units with a separator,
            the validation loss for ``"keras-example"``, the training loss without validation
            pairs). ``"auto"`` (the default) is the recipe's
            :data:`~shorttext_s2s.training.selection.PATIENCE` with validation pairs, off
            without them and, for ``"small-data"``, off under a ``time_budget``
            (:func:`~shorttext_s2s.training.selection.default_patience`); 0 or None turn it
            off. Whether or not it stops early, training ends with the weights of the best epoch
            by that measure (ties broken by the validation loss).
        recipe: the training recipe (:mod:`shorttext_s2s.training.recipes`):
            ``"keras-example"`` or ``"small-data"``. Defaults to the network's
            (``"keras-example"`` for ``"lstm"``).
        validation_every: with the ``"small-data"`` recipe, decode and score the validation
            pairs every this many epochs. Defaults to 2.
        checkpoint: a file written at the end of every epoch in the library's format
            (atomically, with the optimizer state and the number of epochs trained).
        resume: if true and ``checkpoint`` exists, load it into the generator first and
            continue from the epoch it reached (``initial_epoch`` is then ignored).
        verbose: Keras progress output: ``"auto"`` (the default: progress bars on a terminal,
            one line per epoch otherwise, as in a log file), 0 (silent), 1 (progress bars) or 2
            (one line per epoch). Unless 0, the measure that selects the best epoch is printed
            before the first epoch and the epoch kept after the last.
        distribution: train across devices: a ``tf.distribute`` strategy on TensorFlow
            (``MirroredStrategy``, ``MultiWorkerMirroredStrategy``) or a
            ``keras.distribution.DataParallel`` on JAX, over the devices of one process or of
            several (:func:`shorttext_s2s.training.distributed.initialize`). ``batch_size`` is the
            global batch, split across the devices. Across processes, each feeds its slice
            of every batch, process 0 alone writes ``checkpoint`` and prints progress, and
            SIGINT or SIGTERM on any process raises
            :class:`~shorttext_s2s.exceptions.TrainingStopped` on all of them after the same
            batch. Defaults to None (one device).
        seed: seed of the batch shuffling (and of the feature dropout), for reproducible
            runs. Defaults to None.
        time_budget: stop training at the first batch boundary after this many seconds
            (:class:`~shorttext_s2s.training.callbacks.TimeBudget`): the epoch it stops in is
            validated and judged, and training ends with the best epoch's weights, as after
            the last epoch. Defaults to None (no limit but ``epochs``).
        length_step: batch lengths are rounded up to a multiple of this, trading a little
            padding for fewer compiled shapes. Defaults to 1 on TensorFlow (its training step
            takes any length without recompiling) and, on other backends (JAX compiles once
            per shape), to the network's ``compiled_length_step``: 16 for ``"attention"`` and
            ``"transformer"`` (with 4, the attention network spent most of a 5-minute budget
            compiling on fra.txt), 4 for ``"lstm"`` (with 16 it trained 17 % slower once
            compiled).
        feature_dropout: the probability with which each feature tag of a training input is
            read as unknown (replaced by ``UNK_ID``), drawn anew every epoch, so that the model
            learns to read a tag it never saw. From 0 to 1 (excluded); ignored for pairs
            without features. Defaults to the recipe's
            (:func:`~shorttext_s2s.training.recipes.default_feature_dropout`: for ``"small-data"``,
            the share of the validation inputs' tags that are not in the vocabulary; 0 for
            ``"keras-example"``), said on the first line of the training's output.

    Raises:
        ValueError: an invalid option (the message names it).
    """

    def __init__(self, batch_size: int = 64, *, validation_data: Optional[Pairs] = None,
                 validation_split: Union[float, str] = "auto",
                 callbacks: Optional[Sequence[keras.callbacks.Callback]] = None,
                 early_stopping: Union[int, str, None] = "auto",
                 checkpoint: Optional[PathLike] = None,
                 resume: bool = False, verbose: Any = "auto", distribution: Any = None,
                 seed: Optional[int] = None, length_step: Optional[int] = None,
                 recipe: Optional[str] = None, validation_every: int = 2,
                 time_budget: Optional[float] = None,
                 feature_dropout: Optional[float] = None) -> None:
        self.batch_size = check_int(batch_size, "batch_size")
        self.validation_data = validation_data
        if validation_split != "auto":
            validation_split = check_number(validation_split, "validation_split", below=1.0)
        self.validation_split = validation_split
        self.callbacks = list(callbacks or [])
        if early_stopping != "auto":
            early_stopping = check_optional_int(early_stopping, "early_stopping", minimum=0)
        self.early_stopping = early_stopping
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.resume = check_bool(resume, "resume")
        if verbose == "auto":
            verbose = 1 if sys.stdout.isatty() else 2
        self.verbose = verbose
        self.distribution = distribution
        self.replicas = replica_count(distribution)
        self.seed = check_optional_int(seed, "seed", minimum=0)
        self.length_step = (None if length_step is None
                            else check_int(length_step, "length_step"))
        self.recipe = None if recipe is None else check_recipe(recipe)
        self.validation_every = check_int(validation_every, "validation_every")
        self.time_budget = None if time_budget is None else TimeBudget(time_budget)
        self.feature_dropout = (None if feature_dropout is None else
                                check_number(feature_dropout, "feature_dropout", below=1.0))

    def train(self, generator: Any, pairs: Pairs, epochs: int = 100, initial_epoch: int = 0,
              optimizer: Any = None, loss: Any = None) -> keras.callbacks.History:
        """Train ``generator`` on ``pairs`` up to epoch ``epochs`` (Keras's meaning).

        Args:
            generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` to train.
            pairs: ``(input text, target text)`` tuples.
            epochs: index of the last epoch to run, as in Keras: with ``initial_epoch=10`` and
                ``epochs=15``, five epochs run. Defaults to 100.
            initial_epoch: epoch to start at, for resuming by hand. Defaults to 0.
            optimizer: used when the model is not compiled yet. Defaults to the recipe's.
            loss: used when the model is not compiled yet. Defaults to the recipe's.

        Returns:
            The Keras ``History``, with three attributes added: ``selection``, the
            :class:`~shorttext_s2s.training.selection.Selection` that says which epoch's
            weights the model ended with and by what figure (also the model's ``selection``;
            its ``weights_epoch`` is that epoch), ``stopped_early``, whether early stopping
            ended training, and ``budget_spent``, whether ``time_budget`` did.

        Raises:
            InputDataError: no pairs, or an item that is not a pair of strings.
            ValueError: ``validation_split`` leaves no training or no validation pairs.
            TrainingStopped: a multi-process run was asked to stop (SIGINT or SIGTERM on any
                of its processes); the generator holds the weights of the batch it stopped at.
        """
        epochs = check_int(epochs, "epochs", minimum=0)
        initial_epoch = check_int(initial_epoch, "initial_epoch", minimum=0)
        if self.resume and self.checkpoint is not None and os.path.exists(self.checkpoint):
            generator.load_compact_model(self.checkpoint)
            initial_epoch = generator.epochs_trained
            logger.info("resuming from %s at epoch %d", self.checkpoint, initial_epoch)
        pairs = list(pairs)
        ids = generator.encode_pairs(pairs)
        validation_ids, validation_pairs, held_out = None, [], ""
        split = self.validation_split
        if split == "auto":
            split = default_validation_share(len(ids[0]))
        if self.validation_data is not None:
            validation_pairs = list(self.validation_data)
            validation_ids = generator.encode_pairs(validation_pairs, name="validation_data")
        elif split:
            count = len(ids[0])
            held = int(count * split + 1e-9)  # 2 / 24 * 24 is 1.999... in floats
            if held < 1 or held >= count:
                raise ValueError(f"Received an invalid value for argument `validation_split`, "
                                 f"{split!r} of {count} pairs leaves no training or no "
                                 f"validation pairs.")
            if self.validation_split == "auto":
                held_out = f" on {held:,} pairs held out ({split:.3g} of {count:,})"
            # At random: pairs files are often sorted (fra.txt by length), so their tail is
            # no sample of the rest.
            order = np.random.default_rng(self.seed or 0).permutation(count)
            ids, validation_ids = ([part[order[held:]] for part in ids],
                                   [part[order[:held]] for part in ids])
            validation_pairs = [pairs[i] for i in order[:held]]
            logger.info("validation_split: %d pair(s) for training, %d held out",
                        count - held, held)

        s2s = generator.seq2seq
        if initial_epoch == 0:
            s2s.selection = None  # a run of its own: earlier epochs are not its to compare
        recipe = self.recipe or s2s.network.recipe
        if not s2s.compiled or self.distribution is not None:
            # Only a model still to be compiled (or rebuilt) takes them: an optimizer is state.
            optimizer = default_optimizer(recipe) if optimizer is None else optimizer
            loss = default_loss(recipe) if loss is None else loss
        processes = spans_processes(self.distribution)
        verbose = self.verbose if is_main_process() else 0
        seed = shared_seed(self.seed) if processes else self.seed
        if processes and self.distribution.auto_shard_dataset:
            # Keras would shard only a tf.data pipeline: each process takes its slice of
            # every batch from PairBatches instead.
            self.distribution.auto_shard_dataset = False
        with distribution_scope(self.distribution):
            if self.distribution is not None:
                s2s.rebuild(optimizer, loss)
            elif not s2s.compiled:
                s2s.compile(optimizer=optimizer, loss=loss)
            length_step = self.length_step_for(s2s.network)
            feature_dropout = self._feature_dropout(generator.encoder, recipe,
                                                    validation_pairs)
            shard = (process_index(), process_count()) if processes else (0, 1)
            batches = self._batches(ids, len(generator.encoder), length_step, shard,
                                    shuffle=True, seed=seed,
                                    feature_dropout=feature_dropout,
                                    first_feature_id=generator.encoder.first_feature_id)
            batches.set_epoch(initial_epoch)
            validation = (None if validation_ids is None else
                          self._batches(validation_ids, len(generator.encoder), length_step,
                                        shard, shuffle=False))
            patience = self.early_stopping
            if patience == "auto":
                patience = default_patience(recipe, validation_ids is not None,
                                            self.time_budget is not None)
            # The budget first: the epoch it ends is then validated and judged as any other.
            budget = [] if self.time_budget is None else [self.time_budget]
            callbacks = budget + list(self.callbacks) + recipe_callbacks(
                recipe, generator, validation_ids, patience or None, self.validation_every,
                self.time_budget)
            selection = callbacks[-1]
            stop = None
            if processes and not any(isinstance(c, StopOnSignal) for c in callbacks):
                # A signal to one process must stop them all at the same batch.
                stop = StopOnSignal()
                callbacks.insert(0, stop)
            self._say(verbose, f"model selection: {measure_words(selection.measure)}{held_out}"
                      + (f"; early stopping after {patience} epochs without a better one"
                         if patience else "")
                      + (f"; time budget {_duration(self.time_budget.seconds)}"
                         if self.time_budget else "")
                      + (f"; feature dropout {feature_dropout:.3g}" if feature_dropout else ""))
            if self.checkpoint is not None:
                callbacks.append(CompactCheckpoint(generator, self.checkpoint))
            with stop or contextlib.nullcontext():
                history = s2s.fit_batches(batches, epochs=epochs, validation=validation,
                                          callbacks=callbacks, initial_epoch=initial_epoch,
                                          verbose=verbose)
        history.selection = s2s.selection
        history.stopped_early = selection.stopped_early
        history.budget_spent = self.time_budget is not None and self.time_budget.spent
        if history.epoch:
            summary = selection.summary()
            if history.budget_spent:
                summary += (f"; the time budget of {_duration(self.time_budget.seconds)} ended "
                            f"training during epoch {history.epoch[-1] + 1}")
            self._say(verbose, summary)
            logger.info("training ended after epoch %d; %s", history.epoch[-1] + 1, summary)
        return history

    @staticmethod
    def _say(verbose: Any, message: str) -> None:
        """A line of the training's own, where Keras prints its progress (unless silent)."""
        if verbose and message:
            print(message, file=sys.stdout, flush=True)

    def _feature_dropout(self, encoder: Any, recipe: str,
                         validation_pairs: Sequence[Sequence[str]]) -> float:
        """The rate of feature dropout of the training batches: 0 without tags."""
        if not encoder.features:
            return 0.0
        if self.feature_dropout is not None:
            return self.feature_dropout
        return default_feature_dropout(
            recipe, encoder.feature_ids,
            [encoder.feature_units(pair[2]) if len(pair) > 2 else []
             for pair in validation_pairs])

    def length_step_for(self, network: Any) -> int:
        """The length step batches for ``network`` are padded with (see ``length_step``)."""
        if self.length_step is not None:
            return self.length_step
        return 1 if keras.backend.backend() == "tensorflow" else network.compiled_length_step

    def _batches(self, ids: Sequence[np.ndarray], vocab_size: int, length_step: int,
                 shard: Tuple[int, int], shuffle: bool, seed: Optional[int] = None,
                 **options: Any) -> PairBatches:
        return PairBatches(*ids, vocab_size, batch_size=self.batch_size, shuffle=shuffle,
                           seed=seed, length_step=length_step, multiple_of=self.replicas,
                           shard=shard, **options)


def _duration(seconds: float) -> str:
    """``90`` -> ``1m30s``, as ``--time-budget`` takes it."""
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (rest, "s"))
             if value]
    return "".join(parts) or f"{seconds:g}s"


def replica_count(distribution: Any) -> int:
    """Number of devices a batch is split across under ``distribution`` (1 for None)."""
    if distribution is None:
        return 1
    if hasattr(distribution, "num_replicas_in_sync"):  # tf.distribute.Strategy
        return int(distribution.num_replicas_in_sync)
    mesh = getattr(distribution, "device_mesh", None)  # keras.distribution.Distribution
    if mesh is not None:
        return int(mesh.shape[0])
    raise TypeError(f"`distribution` must be a tf.distribute.Strategy or a "
                    f"keras.distribution.Distribution, got {type(distribution).__name__}.")


@contextlib.contextmanager
def distribution_scope(distribution: Any) -> Iterator[None]:
    """Enter the scope under which a model is built and trained across devices.

    Args:
        distribution: ``None`` (one device), a ``tf.distribute.Strategy`` (TensorFlow backend:
            ``MirroredStrategy``, ``MultiWorkerMirroredStrategy``...) or a
            ``keras.distribution.Distribution`` (JAX backend: ``DataParallel``).

    Raises:
        TypeError: ``distribution`` is neither.
        ValueError: a ``tf.distribute`` strategy under a backend other than TensorFlow.
    """
    if distribution is None:
        yield
        return
    replica_count(distribution)  # validates the type
    if hasattr(distribution, "num_replicas_in_sync"):
        if keras.backend.backend() != "tensorflow":
            raise ValueError(f"A tf.distribute strategy needs the TensorFlow backend, the "
                             f"backend is {keras.backend.backend()!r}; use "
                             f"keras.distribution.DataParallel instead.")
        with distribution.scope():
            yield
    else:
        with distribution.scope():
            yield
