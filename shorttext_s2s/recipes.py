"""Training recipes: the optimizer, loss and callbacks a model is trained with by default.

``"keras-example"`` is the recipe of the Keras character-level example and shorttext, the
default of the ``"lstm"`` network: RMSprop, categorical cross-entropy, and (when asked)
early stopping on the validation loss. ``"small-data"`` is the default of the other networks,
for a few thousand to a few hundred thousand pairs:

* Adam with a learning rate of 0.002 and the gradient norm clipped at 1;
* categorical cross-entropy with label smoothing 0.1;
* the learning rate halved after 2 epochs without a better validation loss (down to 1e-5);
* model selection on what users judge: every ``validation_every`` epochs the validation
  inputs are decoded (greedy) and scored with chrF (with the ``metrics`` extra; the
  character error rate without it); the best epoch's weights are kept, and early stopping
  counts epochs without a better score.

Dropout is the network's (see :class:`~shorttext_s2s.networks.AttentionNetwork`).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any, List, Optional

import keras
import numpy as np

from .callbacks import ValidationScore, early_stopping_callback

__all__ = ["RECIPES", "check_recipe", "default_optimizer", "default_loss", "recipe_callbacks"]

logger = logging.getLogger(__name__)

#: The recipes by name.
RECIPES = ("keras-example", "small-data")


def check_recipe(recipe: Any) -> str:
    """Return ``recipe`` if it names a recipe.

    Raises:
        ValueError: it does not.
    """
    if recipe not in RECIPES:
        raise ValueError(f"Received an invalid value for argument `recipe`, expected one of "
                         f"{list(RECIPES)}, got {recipe!r}.")
    return recipe


def default_optimizer(recipe: str) -> Any:
    """A new optimizer of ``recipe`` (an optimizer has state: one per model)."""
    if check_recipe(recipe) == "keras-example":
        return "rmsprop"
    return keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0)


def default_loss(recipe: str) -> Any:
    """The loss of ``recipe``."""
    if check_recipe(recipe) == "keras-example":
        return "categorical_crossentropy"
    return keras.losses.CategoricalCrossentropy(label_smoothing=0.1)


def recipe_callbacks(recipe: str, generator: Any, validation_ids: Optional[List[np.ndarray]],
                     early_stopping: Optional[int],
                     validation_every: int = 2) -> List[keras.callbacks.Callback]:
    """The callbacks ``recipe`` trains with.

    Args:
        recipe: the recipe's name.
        generator: the :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` being trained.
        validation_ids: the validation pairs' ids (``encode_pairs``), or None.
        early_stopping: a patience in epochs, or None.
        validation_every: for ``"small-data"``: decode and score the validation pairs after
            every this many epochs.
    """
    monitor = "val_loss" if validation_ids is not None else "loss"
    if check_recipe(recipe) == "keras-example":
        return [] if early_stopping is None else [early_stopping_callback(early_stopping,
                                                                          monitor)]
    callbacks: List[keras.callbacks.Callback] = [keras.callbacks.ReduceLROnPlateau(
        monitor=monitor, factor=0.5, patience=2, min_lr=1e-5, verbose=0)]
    if validation_ids is not None:
        metric = "chrf" if importlib.util.find_spec("sacrebleu") else "cer"
        if metric == "cer":
            logger.info("model selection on the validation character error rate: chrF needs "
                        "the metrics extra (pip install \"shorttext-s2s[metrics]\")")
        callbacks.append(ValidationScore(generator, validation_ids[0], validation_ids[2],
                                         every=validation_every, metric=metric,
                                         patience=early_stopping))
    elif early_stopping is not None:
        callbacks.append(early_stopping_callback(early_stopping, monitor))
    return callbacks
