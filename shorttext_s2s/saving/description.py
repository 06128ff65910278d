"""What a model file says: the sections of its JSON description, read in the current schema.

The file's JSON description has the sections of :data:`SECTIONS`, each written by one owner
and each value written once. A file may name Keras optimizers, learning-rate schedules and
losses, but only built-in ones holding plain data: Keras imports whatever module a config
names, and a file from elsewhere must not choose what runs.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from .. import catalog
from ..exceptions import ModelFileError, PathLike
from .container import ModelFile

__all__ = ["SECTIONS", "read_description", "builtin_optimizer_config", "builtin_loss"]

#: The sections of a model file's JSON description and what each holds: the one schema.
SECTIONS = {
    "model": "the network's name and constructor arguments (Seq2SeqWithKeras.get_config())",
    "optimizer": "the optimizer as keras.optimizers.serialize() gives it (if compiled)",
    "loss": "the loss: a built-in name or a serialised built-in loss (if compiled)",
    "training": "epochs_trained: the epochs trained so far, for resuming; weights_epoch: the "
                "epoch whose weights the file holds; selection: which epoch model selection "
                "keeps and by what figure (Selection.to_config())",
    "generator": "CharBasedSeq2SeqGenerator's own settings: maxlen, reverse_input",
    "encoder": "the vocabulary (SentenceToCharVecEncoder.get_config())",
}


def read_description(contents: ModelFile, path: PathLike) -> Dict[str, Any]:
    """The file's description in the current schema, checked section by section.

    Files of format version 1 (release 0.1.0) are read as they are meant: they repeated the
    generator's ``latent_dim`` and ``bidirectional`` beside the model's, and stored an unused
    ``final`` flag.

    Raises:
        ModelFileError: an unknown section, a section that is not an object, or (version 1)
            a generator whose copies of the model's settings disagree with the model.
    """
    config = dict(contents.config)
    if contents.version == 1:
        config.pop("final", None)
        generator = dict(config.get("generator") or {})
        model = config.get("model") if isinstance(config.get("model"), dict) else {}
        config["model"] = {"network": catalog.LSTM, **model}  # the only network of 0.1.0
        for key, default in (("latent_dim", None), ("bidirectional", False)):
            if key in generator and generator.pop(key) != model.get(key, default):
                raise ModelFileError(path, "the vocabulary or a setting does not match the "
                                           "stored model")
        if "generator" in config:
            config["generator"] = generator
    if isinstance(config.get("model"), dict) and "network" not in config["model"]:
        # A file that names no network holds the only one 0.1.0 had, whatever the default.
        config["model"] = {"network": catalog.LSTM, **config["model"]}
    unknown = sorted(set(config) - set(SECTIONS))
    if unknown:
        raise ModelFileError(path, f"invalid model description (unknown sections {unknown})")
    for name, value in config.items():
        if name != "loss" and not isinstance(value, dict):
            raise ModelFileError(path, f"invalid model description (the {name!r} section is "
                                       f"not an object)")
    if not isinstance(config.get("model"), dict):
        raise ModelFileError(path, "invalid model description (no 'model' entry)")
    return config


# --- the Keras objects a file may name ------------------------------------------------------

_OPTIMIZERS = frozenset({"Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl",
                         "Lamb", "Lion", "Nadam", "RMSprop", "SGD"})
_SCHEDULES = frozenset({"CosineDecay", "CosineDecayRestarts", "ExponentialDecay",
                        "InverseTimeDecay", "PiecewiseConstantDecay", "PolynomialDecay"})
_LOSSES = frozenset({"BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
                     "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity",
                     "Hinge", "Huber", "KLDivergence", "LogCosh", "MeanAbsoluteError",
                     "MeanAbsolutePercentageError", "MeanSquaredError",
                     "MeanSquaredLogarithmicError", "Poisson", "SquaredHinge"})
_LOSS_NAMES = frozenset({"binary_crossentropy", "binary_focal_crossentropy",
                         "categorical_crossentropy", "categorical_focal_crossentropy",
                         "categorical_hinge", "cosine_similarity", "hinge", "huber",
                         "kl_divergence", "log_cosh", "mean_absolute_error",
                         "mean_absolute_percentage_error", "mean_squared_error",
                         "mean_squared_logarithmic_error", "poisson", "squared_hinge",
                         "mse", "mae", "mape", "msle", "kld"})


def _builtin_object(config: Any, module: str, allowed: frozenset, what: str, path: PathLike,
                    nested: Optional[Dict[str, Callable[[Any, PathLike], Any]]] = None
                    ) -> Dict[str, Any]:
    """Check a serialised Keras object names an allowed built-in and holds only plain data."""
    if (not isinstance(config, dict) or config.get("module") != module
            or config.get("class_name") not in allowed
            or config.get("registered_name") not in (None, config.get("class_name"))
            or not isinstance(config.get("config"), dict)
            or set(config) - {"module", "class_name", "config", "registered_name"}):
        name = config.get("class_name") if isinstance(config, dict) else config
        raise ModelFileError(path, f"the {what} {name!r} is not a Keras built-in this library "
                                   f"loads (allowed: {', '.join(sorted(allowed))})")
    for key, value in config["config"].items():
        if nested and key in nested and isinstance(value, dict):
            nested[key](value, path)
        elif not _plain(value):
            raise ModelFileError(path, f"the {what}'s setting {key!r} is not plain data")
    return config


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, (bool, int, float, str, type(None))) for item in value)
    return isinstance(value, (bool, int, float, str, type(None)))


def _schedule(config: Any, path: PathLike) -> Dict[str, Any]:
    return _builtin_object(config, "keras.optimizers.schedules", _SCHEDULES,
                           "learning-rate schedule", path)


def builtin_optimizer_config(config: Any, path: PathLike) -> Dict[str, Any]:
    """Return a serialised optimizer if it is a Keras built-in holding plain data.

    Raises:
        ModelFileError: anything else.
    """
    return _builtin_object(config, "keras.optimizers", _OPTIMIZERS, "optimizer", path,
                           nested={"learning_rate": _schedule})


def builtin_loss(loss: Any, path: PathLike) -> Any:
    """Return a built-in loss name, or a checked serialised built-in loss (to deserialise).

    Raises:
        ModelFileError: anything else.
    """
    if isinstance(loss, dict) and loss.get("class_name") == "function":
        loss = loss.get("config")  # how Keras serialises a loss function: by its name
    if isinstance(loss, str):
        if loss not in _LOSS_NAMES:
            raise ModelFileError(path, f"the loss {loss!r} is not a Keras built-in this library "
                                       f"loads")
        return loss
    return _builtin_object(loss, "keras.losses", _LOSSES, "loss", path)
