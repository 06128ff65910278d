"""The encoder–decoder LSTM: training model and inference models sharing one set of weights."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import keras
import numpy as np

from .exceptions import ModelFileError, ModelNotTrainedException, PathLike
from .fileformat import ModelFile, read_model_file, write_model_file

__all__ = ["Seq2SeqWithKeras", "loadSeq2SeqWithKeras", "MODEL_SUFFIX"]

#: Suffix that :meth:`Seq2SeqWithKeras.savemodel` adds to a prefix; the one place it is named.
MODEL_SUFFIX = ".s2s.h5"


def _prefix_path(prefix: PathLike) -> str:
    """The file that ``savemodel(prefix)`` writes and ``loadmodel(prefix)`` reads."""
    return os.fspath(prefix) + MODEL_SUFFIX

ENCODER_LSTM = "encoder_lstm"
ENCODER_LSTM_BACKWARD = "encoder_lstm_backward"
DECODER_LSTM = "decoder_lstm"
DECODER_DENSE = "decoder_dense"


class Seq2SeqWithKeras:
    """Generic sequence-to-sequence encoder–decoder of one-hot vectors, built on Keras LSTMs.

    The encoder LSTM reads the input sequence; its final states initialise the decoder LSTM,
    which is trained with teacher forcing to predict the next vector of the target sequence
    through a softmax ``Dense`` layer. All-zero input vectors are padding, placed after the
    real vectors of a sequence (as the encoders of this library place them): they change
    neither the encoder's final states nor the loss.

    With ``bidirectional=True`` the encoder is two LSTMs of ``latent_dim // 2`` units, one
    reading the input forwards and one backwards, and the decoder starts from their final
    states side by side (still ``latent_dim`` wide). An encoder step costs about half the
    arithmetic, and the two directions can run side by side: on the fra.txt benchmark
    (2-core CPU, latent 256) training went from about 1.75x to 2.1-2.5x the Keras example's
    samples per CPU-second, at the same held-out chrF (see the training guide).

    Args:
        vecsize: size of the one-hot vectors (the vocabulary size), a positive integer.
        latent_dim: number of units of the decoder LSTM (and of a unidirectional encoder), a
            positive integer; even if ``bidirectional``.
        bidirectional: read the input in both directions. Defaults to False, the model of
            shorttext and the Keras example.

    Attributes:
        model: the training model, ``[encoder_input, decoder_input] -> decoder_output``.
        encoder_model: inference model, ``encoder_input -> [h, c]``.
        decoder_model: inference model, ``[decoder_input, h, c] -> [output, h, c]``.
        trained: whether the weights come from training or from a file.

    Example:

    >>> s2s = Seq2SeqWithKeras(vecsize=10, latent_dim=8)
    >>> s2s.prepare_model()
    >>> [tuple(w.shape) for w in s2s.model.get_layer("decoder_dense").get_weights()]
    [(8, 10), (10,)]
    """

    def __init__(self, vecsize: int, latent_dim: int, bidirectional: bool = False) -> None:
        self.vecsize = _positive_int(vecsize, "vecsize")
        self.latent_dim = _positive_int(latent_dim, "latent_dim")
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise TypeError(f"`bidirectional` must be a bool, got {bidirectional!r}.")
        if bidirectional and self.latent_dim % 2:
            raise ValueError(f"Received an invalid value for argument `latent_dim`, expected an "
                             f"even number with `bidirectional=True` (each direction has half "
                             f"the units), got {latent_dim!r}.")
        self.bidirectional = bool(bidirectional)
        self.model: Optional[keras.Model] = None
        self.encoder_model: Optional[keras.Model] = None
        self.decoder_model: Optional[keras.Model] = None
        self.trained = False
        self.compiled = False

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments, the description the model file stores."""
        return {"vecsize": self.vecsize, "latent_dim": self.latent_dim,
                "bidirectional": self.bidirectional}

    def weight_layers(self) -> List[str]:
        """Names of the layers whose weights make the model (what a model file stores)."""
        return list(_weight_shapes(self.vecsize, self.latent_dim, self.bidirectional))

    def prepare_model(self) -> None:
        """Build the training model and the two inference models (weights are shared)."""
        encoder_inputs = keras.Input(shape=(None, self.vecsize), name="encoder_input")
        masked_encoder = keras.layers.Masking(name="encoder_mask")(encoder_inputs)
        if self.bidirectional:
            # Two separate layers rather than keras.layers.Bidirectional: each keeps the
            # LSTM's own weight names, which the model file and the compiled decoder read.
            half = self.latent_dim // 2
            forward = keras.layers.LSTM(half, return_state=True, name=ENCODER_LSTM)
            backward = keras.layers.LSTM(half, return_state=True, go_backwards=True,
                                         name=ENCODER_LSTM_BACKWARD)
            _, forward_h, forward_c = forward(masked_encoder)
            _, backward_h, backward_c = backward(masked_encoder)
            encoder_states = [
                keras.layers.Concatenate(name="encoder_state_h")([forward_h, backward_h]),
                keras.layers.Concatenate(name="encoder_state_c")([forward_c, backward_c])]
        else:
            encoder_lstm = keras.layers.LSTM(self.latent_dim, return_state=True,
                                             name=ENCODER_LSTM)
            _, state_h, state_c = encoder_lstm(masked_encoder)
            encoder_states = [state_h, state_c]

        decoder_inputs = keras.Input(shape=(None, self.vecsize), name="decoder_input")
        masked_decoder = keras.layers.Masking(name="decoder_mask")(decoder_inputs)
        decoder_lstm = keras.layers.LSTM(self.latent_dim, return_sequences=True,
                                         return_state=True, name=DECODER_LSTM)
        decoder_dense = keras.layers.Dense(self.vecsize, activation="softmax",
                                           name=DECODER_DENSE)
        # The training model runs the decoder LSTM on the unmasked input: targets are padded
        # on the right, so padding steps come after every real step and cannot change the
        # outputs of real steps, and the final decoder state is not used. A masked RNN pays
        # `where` ops per step for the states and outputs; leaving them out measured 1.12x
        # more training samples per CPU-second (7,200 fra pairs, latent 256, batch 64,
        # TensorFlow 2.21 CPU: 690 against 615; the same losses to every digit).
        # The padding mask is attached to the softmax output instead, so the loss and
        # `char_accuracy` still average over real positions only, exactly as before.
        decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
        decoder_outputs = _PaddingMask(name="decoder_output_mask")(
            [decoder_dense(decoder_outputs), decoder_inputs])
        self.model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs,
                                 name="seq2seq")

        self.encoder_model = keras.Model(encoder_inputs, encoder_states, name="seq2seq_encoder")
        state_input_h = keras.Input(shape=(self.latent_dim,), name="decoder_state_h")
        state_input_c = keras.Input(shape=(self.latent_dim,), name="decoder_state_c")
        step_outputs, step_h, step_c = decoder_lstm(
            masked_decoder, initial_state=[state_input_h, state_input_c])
        self.decoder_model = keras.Model(
            [decoder_inputs, state_input_h, state_input_c],
            [decoder_dense(step_outputs), step_h, step_c], name="seq2seq_decoder")
        self.compiled = False

    def compile(self, optimizer: Any = "rmsprop", loss: Any = "categorical_crossentropy",
                **kwargs: Any) -> None:
        """Compile the training model (building it first if needed).

        The loss and the metrics skip padding: the decoder's mask (all-zero input rows) reaches
        the output, and Keras averages the loss over the unmasked positions only, so the same
        pairs padded to different lengths give the same loss.

        Args:
            optimizer: a Keras optimizer name or instance. Defaults to ``"rmsprop"``.
            loss: a Keras loss name or instance. Defaults to ``"categorical_crossentropy"``.
            **kwargs: passed on to ``keras.Model.compile``. ``metrics`` defaults to the
                masked per-character accuracy, reported as ``char_accuracy``.
        """
        if self.model is None:
            self.prepare_model()
        kwargs.setdefault("metrics", [keras.metrics.CategoricalAccuracy(name="char_accuracy")])
        self.model.compile(optimizer=optimizer, loss=loss, **kwargs)
        self.compiled = True

    def fit(self, encoder_input: np.ndarray, decoder_input: np.ndarray,
            decoder_output: np.ndarray, batch_size: int = 64, epochs: int = 100,
            **kwargs: Any) -> keras.callbacks.History:
        """Train on one-hot tensors (teacher forcing).

        Args:
            encoder_input: shape ``(samples, input_length, vecsize)``.
            decoder_input: shape ``(samples, target_length, vecsize)``, the targets shifted
                right by one step (starting with the start signal).
            decoder_output: shape ``(samples, target_length, vecsize)``, the targets.
            batch_size: samples per gradient step. Defaults to 64.
            epochs: passes over the data. Defaults to 100.
            **kwargs: passed on to ``keras.Model.fit`` (``validation_split``, ``callbacks``,
                ``verbose``...).

        Returns:
            The Keras ``History``.
        """
        if not self.compiled:
            self.compile()
        history = self.model.fit([encoder_input, decoder_input], decoder_output,
                                 batch_size=batch_size, epochs=epochs, **kwargs)
        self.trained = True
        return history

    # --- persistence -------------------------------------------------------------------

    def to_model_file(self, final: bool = False, kind: Optional[str] = None) -> ModelFile:
        """Describe the model as a :class:`~shorttext_s2s.fileformat.ModelFile`.

        Args:
            final: if true, leave out the optimizer state (enough for inference only).
            kind: the kind recorded in the file. Defaults to this class's name.

        Raises:
            ModelNotTrainedException: the model was neither trained nor loaded.
        """
        if not self.trained or self.model is None:
            raise ModelNotTrainedException()
        weights = {name: [np.asarray(w) for w in self.model.get_layer(name).get_weights()]
                   for name in self.weight_layers()}
        config: Dict[str, Any] = {"model": self.get_config()}
        optimizer_values = None
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config["optimizer"] = keras.optimizers.serialize(optimizer)
            config["loss"] = _loss_name(self.model.loss)
            if not final:
                optimizer_values = [np.asarray(v) for v in optimizer.variables]
        config["final"] = bool(final)
        return ModelFile(kind=kind or type(self).__name__, config=config, weights=weights,
                         optimizer=optimizer_values)

    def restore_model_file(self, contents: ModelFile, path: PathLike = "<model file>") -> None:
        """Load weights (and optimizer state, if present) from a read model file.

        The model must have been created with the file's ``vecsize`` and ``latent_dim``. Every
        shape is checked against them before anything is built, and the optimizer and loss
        may only be Keras built-ins (a file cannot name code to import).

        Raises:
            ModelFileError: the contents do not fit this model or name a non-built-in class.
        """
        expected = _weight_shapes(self.vecsize, self.latent_dim, self.bidirectional)
        for name, shapes in expected.items():
            values = contents.weights.get(name)
            if values is None or [tuple(v.shape) for v in values] != shapes:
                raise ModelFileError(path, f"weights of layer {name!r} are missing or have "
                                           f"the wrong shapes")
        extra = sorted(set(contents.weights) - set(expected))
        if extra:
            raise ModelFileError(path, f"unexpected layers {extra}")
        optimizer = loss = None
        if "optimizer" in contents.config:
            optimizer_config = _builtin_optimizer_config(contents.config["optimizer"], path)
            loss = _builtin_loss(contents.config.get("loss", "categorical_crossentropy"), path)
            try:
                optimizer = keras.optimizers.deserialize(optimizer_config)
                if isinstance(loss, dict):
                    loss = keras.losses.deserialize(loss)
            except (TypeError, ValueError, KeyError) as exc:  # built-in, bad arguments
                raise ModelFileError(path, f"invalid optimizer or loss settings "
                                           f"({type(exc).__name__}: {exc})") from None
        if self.model is None:
            self.prepare_model()
        for name in self.weight_layers():
            self.model.get_layer(name).set_weights(contents.weights[name])
        if optimizer is not None:
            self.compile(optimizer=optimizer, loss=loss)
            if contents.optimizer is not None:
                optimizer.build(self.model.trainable_variables)
                if [tuple(v.shape) for v in optimizer.variables] != [
                        tuple(v.shape) for v in contents.optimizer]:
                    raise ModelFileError(path, "the optimizer state does not match the model")
                for variable, value in zip(optimizer.variables, contents.optimizer):
                    variable.assign(value)
        self.trained = True

    def savemodel(self, prefix: PathLike, final: bool = False) -> str:
        """Save to ``prefix + MODEL_SUFFIX`` (one file); see :meth:`save_compact_model`.

        Returns:
            The path written.
        """
        path = _prefix_path(prefix)
        self.save_compact_model(path, final=final)
        return path

    def loadmodel(self, prefix: PathLike) -> None:
        """Load what :meth:`savemodel` wrote with the same ``prefix``."""
        self.load_compact_model(_prefix_path(prefix))

    def save_compact_model(self, path: PathLike, final: bool = False) -> None:
        """Save weights, hyperparameters and (unless ``final``) optimizer state to one file.

        The file is written beside ``path`` and renamed over it once complete.

        Args:
            path: the file to write.
            final: if true, save only what inference needs.

        Raises:
            ModelNotTrainedException: the model was neither trained nor loaded.
        """
        write_model_file(path, self.to_model_file(final=final))

    def load_compact_model(self, path: PathLike) -> None:
        """Load a file written by :meth:`save_compact_model` into this object.

        Raises:
            ModelFileError: the file is missing, damaged, or of another kind or shape.
        """
        contents = read_model_file(path, kind=type(self).__name__)
        if stored_model_config(contents) != self.get_config():
            raise ModelFileError(path, f"holds a model with {contents.config.get('model')}, "
                                       f"this one has {self.get_config()}")
        self.restore_model_file(contents, path)


def loadSeq2SeqWithKeras(path: PathLike, compact: bool = True) -> Seq2SeqWithKeras:
    """Load a :class:`Seq2SeqWithKeras` saved by ``save_compact_model`` (or ``savemodel``).

    Args:
        path: the file (``compact=True``) or the prefix given to ``savemodel``.
        compact: whether ``path`` is a compact file rather than a prefix.

    Returns:
        The trained model.
    """
    path = os.fspath(path) if compact else _prefix_path(path)
    contents = read_model_file(path, kind=Seq2SeqWithKeras.__name__)
    try:
        s2s = Seq2SeqWithKeras(**stored_model_config(contents))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(path, f"invalid model description ({exc})") from None
    s2s.restore_model_file(contents, path)
    return s2s


def stored_model_config(contents: ModelFile) -> Any:
    """The model description a file holds, with the defaults of settings added since.

    Files written before ``bidirectional`` existed hold unidirectional models.
    """
    config = contents.config.get("model")
    if isinstance(config, dict):
        return {"bidirectional": False, **config}
    return config


class _PaddingMask(keras.layers.Layer):
    """Pass ``[values, padded_input]`` through as ``values``, masked where the input is padding.

    A padding step is an all-zero input vector, as for ``keras.layers.Masking``.
    """

    def call(self, inputs: List[Any]) -> Any:
        return inputs[0]

    def compute_mask(self, inputs: List[Any], previous_mask: Any = None) -> Any:
        return keras.ops.any(keras.ops.not_equal(inputs[1], 0), axis=-1)

    def compute_output_shape(self, input_shape: List[tuple]) -> tuple:
        return input_shape[0]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer, got {value!r}.")
    return int(value)


def _weight_shapes(vecsize: int, latent_dim: int,
                   bidirectional: bool) -> Dict[str, List[tuple]]:
    """The shapes of each layer's ``get_weights()``, known without building the model."""
    def lstm(units: int) -> List[tuple]:
        gates = 4 * units  # an LSTM's input, forget, cell and output gates side by side
        return [(vecsize, gates), (units, gates), (gates,)]

    if bidirectional:
        shapes = {ENCODER_LSTM: lstm(latent_dim // 2), ENCODER_LSTM_BACKWARD: lstm(latent_dim // 2)}
    else:
        shapes = {ENCODER_LSTM: lstm(latent_dim)}
    shapes.update({DECODER_LSTM: lstm(latent_dim),
                   DECODER_DENSE: [(latent_dim, vecsize), (vecsize,)]})
    return shapes


# Built-ins a model file may name. A Keras config names a module and a class, and Keras
# imports what it names; a file from elsewhere must not choose what runs, so only these pass.
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


def _builtin_object(config: Any, module: str, allowed: frozenset, what: str,
                    path: PathLike, nested: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
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


def _builtin_optimizer_config(config: Any, path: PathLike) -> Dict[str, Any]:
    schedule = lambda value, where: _builtin_object(  # noqa: E731
        value, "keras.optimizers.schedules", _SCHEDULES, "learning-rate schedule", where)
    return _builtin_object(config, "keras.optimizers", _OPTIMIZERS, "optimizer", path,
                           nested={"learning_rate": schedule})


def _builtin_loss(loss: Any, path: PathLike) -> Any:
    """A built-in loss name, or a checked serialised built-in loss (still to deserialise)."""
    if isinstance(loss, dict) and loss.get("class_name") == "function":
        loss = loss.get("config")  # how Keras serialises a loss function: by its name
    if isinstance(loss, str):
        if loss not in _LOSS_NAMES:
            raise ModelFileError(path, f"the loss {loss!r} is not a Keras built-in this library "
                                       f"loads")
        return loss
    return _builtin_object(loss, "keras.losses", _LOSSES, "loss", path)


def _loss_name(loss: Any) -> Any:
    if isinstance(loss, str):
        return loss
    return keras.losses.serialize(loss)
