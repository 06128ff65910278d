"""Model selection: which epoch's weights training keeps, judged how, and when it stops.

One rule, whatever the recipe: epochs are judged by :func:`selection_measure`, ties broken by
the validation loss; the best epoch's weights are restored when training ends; early
stopping (:func:`default_patience`) stops after so many epochs without a better one. The
epoch kept is recorded in the model file (:class:`Selection`), so that resumed training goes
on judging against it; :class:`ValidationScorer` decodes and scores the validation pairs.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import keras
import numpy as np

from .. import catalog
from .._checks import check_int
from ..decoding import GreedyStrategy, decode_ids
from ..evaluation import score_texts

__all__ = ["MEASURES", "MEASURE_NAMES", "PATIENCE", "Selection", "ValidationScorer",
           "ModelSelection", "selection_measure", "default_patience",
           "default_validation_share", "measure_words"]

logger = logging.getLogger(__name__)

#: What can pick the best epoch, in order of preference: a key of the epoch's logs and whether
#: higher is better. A score of the decoded validation outputs outranks any loss.
MEASURES: Tuple[Tuple[str, bool], ...] = tuple(
    (f"val_{name}", catalog.METRICS[name].higher_is_better)
    for name in ("chrf", "exact_match", "cer")) + (("val_loss", False), ("loss", False))
#: How each measure is named in messages.
MEASURE_NAMES: Dict[str, str] = {
    **{f"val_{name}": f"validation {metric.label}" for name, metric in catalog.METRICS.items()},
    "val_loss": "validation loss", "loss": "training loss"}
#: Each recipe's early-stopping patience in epochs (:func:`default_patience`).
PATIENCE: Dict[str, int] = {name: recipe.patience for name, recipe in catalog.RECIPES.items()}
_RANK = {key: rank for rank, (key, _) in enumerate(MEASURES)}
_HIGHER_IS_BETTER = {key for key, higher in MEASURES if higher}


def selection_measure(recipe: str, validation: bool, units: bool = False) -> str:
    """The key of the measure that selects the best epoch.

    For ``"small-data"`` with validation pairs: ``"val_exact_match"`` (the word accuracy)
    when the targets are units with a separator (``units``: phonemes, whose outputs are
    judged whole), else ``"val_chrf"`` (``"val_cer"`` when sacrebleu, the ``metrics``
    extra, is not installed). ``"val_loss"`` for ``"keras-example"`` with validation pairs,
    ``"loss"`` without.

    Example:

    >>> selection_measure("small-data", validation=True, units=True)
    'val_exact_match'
    >>> selection_measure("keras-example", validation=True)
    'val_loss'
    """
    catalog.check_recipe(recipe)
    if not validation:
        return "loss"
    if recipe == catalog.KERAS_EXAMPLE:
        return "val_loss"
    if units:
        # chrF also scores the separators and the letters of each unit's name, and near the
        # best epochs it and the word accuracy disagree (performance.rst, G2P at 3,600 s).
        return "val_exact_match"
    return "val_chrf" if importlib.util.find_spec("sacrebleu") else "val_cer"


def default_patience(recipe: str, validation: bool, budgeted: bool) -> Optional[int]:
    """The early-stopping patience ``early_stopping="auto"`` means, or None (no early stop).

    The recipe's :data:`PATIENCE` with validation pairs, except for a recipe that lowers its
    learning rate with the time spent (``"small-data"``) under a time budget
    (:class:`~shorttext_s2s.training.callbacks.BudgetDecay`): its last epochs, at the lowest
    rates, gain most, so a plateau halfway is no reason to stop (on CMUdict at 3,600 s,
    patience stopped a run at 2,411 s, its rate still a third of the starting one).
    """
    catalog.check_recipe(recipe)
    if not validation or (budgeted and catalog.RECIPES[recipe].decays_with_budget):
        return None
    return PATIENCE[recipe]


def default_validation_share(count: int) -> float:
    """The share of ``count`` pairs held out for model selection when the user gives neither
    validation pairs nor a ``validation_split``.

    0 (none) below :data:`~shorttext_s2s.catalog.MIN_VALIDATION_PAIRS` pairs (the training
    loss then judges the epochs), else :data:`~shorttext_s2s.catalog.VALIDATION_PAIRS`
    pairs' worth, between the shares of :data:`~shorttext_s2s.catalog.VALIDATION_SHARES`
    (1 % and 10 %): 1 % of CMUdict's 114,037 training pairs is 1,140 pairs, as many as the
    G2P benchmark's validation words; a 40-pair file keeps all 40 for training.

    Example:

    >>> [default_validation_share(count) for count in (40, 2000, 20000, 114037)]
    [0.0, 0.1, 0.05, 0.01]
    """
    if count < catalog.MIN_VALIDATION_PAIRS:
        return 0.0
    lowest, highest = catalog.VALIDATION_SHARES
    return min(highest, max(lowest, catalog.VALIDATION_PAIRS / count))


def measure_words(measure: str) -> str:
    """The selection measure in words, for the start-of-training line; the validation CER is
    chosen only for want of sacrebleu (:func:`selection_measure`), so it says so."""
    words = MEASURE_NAMES[measure]
    if measure == "val_cer":
        words += " (sacrebleu not installed: pip install \"shorttext-s2s[metrics]\" for chrF)"
    return words


@dataclass
class Selection:
    """Which epoch's weights model selection keeps, and by what figure.

    Saved in a model file's ``training`` section (:meth:`to_config`), with the weights when
    they are not the file's own (a checkpoint past its best epoch), so that resumed training
    goes on judging against the best epoch so far.

    Attributes:
        epoch: the epoch (counted from 1) whose weights are kept.
        measure: the key of the measure that judged it (one of :data:`MEASURES`).
        value: its value of that measure.
        val_loss: its validation loss, which breaks ties of the measure (None when the
            measure is a loss or there was no validation).
        weights: that epoch's ``keras.Model.get_weights()``, or None where they are the
            model's own (a file loaded at that epoch) until training starts.
        scores: that epoch's validation scores by :class:`ValidationScorer` (``val_chrf``,
            ``val_exact_match``, ``val_ser``...), empty without them.
    """

    epoch: int
    measure: str
    value: float
    val_loss: Optional[float] = None
    weights: Optional[List[np.ndarray]] = field(default=None, repr=False, compare=False)
    scores: Dict[str, float] = field(default_factory=dict)

    def figure(self) -> Tuple[int, float, float]:
        """What epochs are compared by, higher better: the measure's rank in :data:`MEASURES`
        (negated: a validation score outranks any loss), the measure signed so that higher
        is better, then the validation loss, lower better (-inf where there is none)."""
        return (-_RANK[self.measure], self.value if self.measure in _HIGHER_IS_BETTER
                else -self.value, -math.inf if self.val_loss is None else -self.val_loss)

    def beats(self, other: Optional["Selection"]) -> bool:
        """Whether this epoch is better than ``other`` (None: no epoch judged yet).

        Example:

        >>> Selection.from_logs(2, {"val_chrf": 30.0, "val_loss": 0.9}).beats(
        ...     Selection.from_logs(1, {"val_chrf": 30.0, "val_loss": 1.0}))
        True
        """
        return other is None or self.figure() > other.figure()

    @classmethod
    def from_logs(cls, epoch: int, logs: Mapping[str, Any],
                  measures: Sequence[str] = tuple(key for key, _ in MEASURES)
                  ) -> Optional["Selection"]:
        """The figure of an epoch by the first of ``measures`` its ``logs`` have (None if
        they have none), its validation loss breaking ties (see :meth:`beats`)."""
        for measure in measures:
            if measure in logs:
                val_loss = logs.get("val_loss") if measure != "val_loss" else None
                return cls(epoch, measure, float(logs[measure]),
                           None if val_loss is None else float(val_loss))
        return None

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
                or measure not in _RANK or not _finite(value)
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

    The score is one of :data:`shorttext_s2s.catalog.METRICS` of the decoded text (chrF, the
    word accuracy ``"exact_match"``, the character error rate ``"cer"``...), not the
    teacher-forced loss, logged by :class:`ModelSelection` as ``val_<metric>`` beside the
    exact match rate and, for outputs of units with a separator, ``val_ser``.

    Args:
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        encoder_ids: the validation inputs, encoded as the model reads them
            (``generator.encode_pairs(pairs)[0]``).
        target_ids: the validation targets' ids (``generator.encode_pairs(pairs)[2]``).
        metric: a metric's name. Defaults to ``"chrf"``.
    """

    def __init__(self, generator: Any, encoder_ids: np.ndarray, target_ids: np.ndarray,
                 metric: str = "chrf") -> None:
        if metric not in catalog.METRICS:
            raise ValueError(f"Received an invalid value for argument `metric`, expected one "
                             f"of {list(catalog.METRICS)}, got {metric!r}.")
        self.generator = generator
        self.encoder_ids = np.asarray(encoder_ids)
        self.targets: List[str] = [generator.encoder.decode_ids(row) for row in target_ids]
        self.metric = metric
        #: The key of the score in an epoch's logs.
        self.key = f"val_{metric}"
        separator = generator.encoder.target_sep
        self._metrics = tuple(dict.fromkeys(
            (metric, "exact_match") + (("ser",) if separator is not None else ())))

    def scores(self) -> Dict[str, float]:
        """Decode the validation inputs greedily and return every score logged, by key."""
        encoder = self.generator.encoder
        decoded = decode_ids(self.generator.network, self.encoder_ids,
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

    Epochs are judged by ``measure`` (a score ``scorer`` computes, the validation loss, or
    the training loss), ties broken by the validation loss. When training ends, however it
    ends, the best epoch's weights are restored; the model's ``weights_epoch`` and
    ``selection`` (a :class:`Selection`), :attr:`stopped_early` and :meth:`summary` say which
    and why. Resumed training goes on from the selection saved in the checkpoint. An epoch a
    time budget cut short is not judged by its training loss, the mean of a few batches,
    unless it is the only one (its validation figures cover the whole validation set).

    Args:
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        measure: the key of an epoch's logs to judge by, one of
            :data:`MEASURES`; with a ``scorer``, the scorer's key.
        scorer: a :class:`ValidationScorer`, called after every ``every`` epochs and after
            the last one (also one that another callback stops training in), its score
            added to the epoch's logs. Defaults to None.
        every: with a ``scorer``, judge every this many epochs. Defaults to 1.
        patience: stop training once this many epochs have passed without a better one.
            Defaults to None (never stop early).
        budget: the :class:`~shorttext_s2s.training.callbacks.TimeBudget` training runs
            under, which says which epoch it cut. Defaults to None.
    """

    def __init__(self, generator: Any, measure: str, scorer: Optional[ValidationScorer] = None,
                 every: int = 1, patience: Optional[int] = None, budget: Any = None) -> None:
        super().__init__()
        if measure not in _RANK or (scorer is not None and scorer.key != measure):
            raise ValueError(f"Received an invalid value for argument `measure`, expected one "
                             f"of {sorted(_RANK)} (the scorer's), got {measure!r}.")
        self.generator = generator
        self.measure = measure
        self.scorer = scorer
        self.every = check_int(every, "every")
        self.patience = None if patience is None else check_int(patience, "patience", 1)
        self.budget = budget
        #: Whether training stopped because ``patience`` epochs passed without a better one.
        self.stopped_early = False
        self._unjudged: Optional[Tuple[int, dict]] = None  # the last epoch, not scored yet
        self._batches = 0

    @property
    def s2s(self) -> Any:
        """The :class:`~shorttext_s2s.model.Seq2SeqWithKeras` being trained."""
        return self.generator.seq2seq

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

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        self._batches = batch + 1  # of the epoch under way

    def _cut(self) -> bool:
        """Whether the time budget ended the epoch that just ended before its last batch."""
        steps = self.params.get("steps") if self.params else None
        return bool(self.budget is not None and self.budget.spent and steps
                    and self._batches < steps)

    def _judge(self, epoch: int, logs: dict) -> None:
        if self.measure not in logs:
            return
        if self.measure == "loss" and self._cut() and self.s2s.selection is not None:
            logger.info("epoch %d: not judged: the time budget cut it after %d of %d batches, "
                        "whose training loss is no figure of the epoch", epoch, self._batches,
                        self.params["steps"])
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

