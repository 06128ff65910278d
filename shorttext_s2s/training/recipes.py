"""Training recipes: the optimizer, loss and callbacks a model is trained with by default.

``"keras-example"`` is the recipe of the Keras character-level example and shorttext, the
default of the ``"lstm"`` network: RMSprop, categorical cross-entropy, and model selection on
the validation loss. ``"small-data"`` is the default of the other networks, for a few
thousand to a few hundred thousand pairs:

* Adam with a learning rate of 0.002 and the gradient norm clipped at 1;
* categorical cross-entropy with label smoothing 0.1;
* the learning rate halved after 2 epochs without a better validation loss (down to 1e-5);
* with features, and validation inputs with tags outside the vocabulary, each tag of a
  training input read as unknown as often as the validation inputs' tags are unknown
  (:func:`default_feature_dropout`), so that the unknown id means "a tag I cannot read"
  rather than an embedding that was never trained;
* model selection on what users judge: every ``validation_every`` epochs the validation
  inputs are decoded (greedy) and scored, by the word accuracy (exact match) where the
  targets are units with a separator (phonemes), else by chrF (with the ``metrics`` extra;
  the character error rate without it).

Both select models by one rule (:mod:`shorttext_s2s.training.selection`): with validation
pairs, the epoch with the best measure, ties broken by the validation loss, is the one whose
weights are kept, and early stopping is on by default, with the recipe's patience; without
validation pairs, the training loss judges, and only an ``early_stopping`` asked for stops
training. Under a time budget the ``"small-data"`` recipe lowers its learning rate with the
time spent and does not stop early by default.

Dropout is the network's (see :class:`~shorttext_s2s.networks.AttentionNetwork`); feature
dropout is the training batches' (:class:`~shorttext_s2s.training.batches.PairBatches`).
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Sequence

import keras
import numpy as np

from .. import catalog
from ..catalog import check_recipe
from .callbacks import BudgetDecay, TimeBudget
from .selection import ModelSelection, ValidationScorer, selection_measure

__all__ = ["MAX_FEATURE_DROPOUT", "check_recipe", "default_optimizer", "default_loss",
           "default_feature_dropout", "recipe_callbacks"]

#: The highest rate :func:`default_feature_dropout` gives: past it, too few tags of a
#: training input are left to learn from.
MAX_FEATURE_DROPOUT = 0.5


def default_optimizer(recipe: str) -> Any:
    """A new optimizer of ``recipe`` (an optimizer has state: one per model)."""
    if check_recipe(recipe) == catalog.KERAS_EXAMPLE:
        return "rmsprop"
    return keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0)


def default_loss(recipe: str) -> Any:
    """The loss of ``recipe``."""
    if check_recipe(recipe) == catalog.KERAS_EXAMPLE:
        return "categorical_crossentropy"
    return keras.losses.CategoricalCrossentropy(label_smoothing=0.1)


def default_feature_dropout(recipe: str, known_tags: Iterable[str],
                            validation_tags: Iterable[Sequence[str]]) -> float:
    """How often a training input's tag is read as unknown when ``feature_dropout`` is not
    given (see :class:`~shorttext_s2s.training.batches.PairBatches`).

    For ``"small-data"``, the share of the validation inputs' tags that are not in the
    vocabulary (at most :data:`MAX_FEATURE_DROPOUT`); 0 for ``"keras-example"``. Such tags
    encode as the unknown id, which a model trained on known tags only reads through an
    embedding that was never trained; dropping known tags, though, costs where all are
    known. The rate therefore follows how often the model will meet an unknown tag (0.14 for
    Ludian, 0.005 for Old English; the figures that chose it are on the networks page of the
    documentation).

    Args:
        recipe: the recipe's name.
        known_tags: the tags of the vocabulary (``SentenceToCharVecEncoder.feature_ids``).
        validation_tags: the tags of each validation input.
    """
    if check_recipe(recipe) != catalog.SMALL_DATA:
        return 0.0
    known = set(known_tags)
    validation = [tag for tags in validation_tags for tag in tags]
    if not validation:
        return 0.0
    unknown = sum(tag not in known for tag in validation) / len(validation)
    return min(unknown, MAX_FEATURE_DROPOUT)


def recipe_callbacks(recipe: str, generator: Any, validation_ids: Optional[List[np.ndarray]],
                     patience: Optional[int], validation_every: int = 2,
                     budget: Optional[TimeBudget] = None) -> List[keras.callbacks.Callback]:
    """The callbacks ``recipe`` trains with, its model selection last.

    Args:
        recipe: the recipe's name.
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        validation_ids: the validation pairs' ids (``encode_pairs``), or None.
        patience: stop after this many epochs without a better one, or None (never).
        validation_every: for ``"small-data"``: decode and score the validation pairs after
            every this many epochs.
        budget: the time budget training runs under, if any: ``"small-data"`` then lowers
            its learning rate with the time spent
            (:class:`~shorttext_s2s.training.callbacks.BudgetDecay`) rather than on plateaus.
    """
    measure = selection_measure(check_recipe(recipe), validation_ids is not None,
                                units=generator.encoder.target_sep is not None)
    callbacks: List[keras.callbacks.Callback] = []
    if budget is not None and catalog.RECIPES[recipe].decays_with_budget:
        callbacks.append(BudgetDecay(budget))
    elif recipe == catalog.SMALL_DATA:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if validation_ids is not None else "loss", factor=0.5,
            patience=2, min_lr=1e-5, verbose=0))
    scorer = None
    metric = measure[len("val_"):]
    if metric in catalog.METRICS:
        scorer = ValidationScorer(generator, validation_ids[0], validation_ids[2],
                                  metric=metric)
    callbacks.append(ModelSelection(generator, measure, scorer=scorer,
                                    every=validation_every if scorer else 1,
                                    patience=patience, budget=budget))
    return callbacks
