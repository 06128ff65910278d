"""The sequence-to-sequence model: a network's Keras models, compiled, trained and saved."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import keras
import numpy as np

from . import catalog
from ._checks import check_int
from .exceptions import ModelFileError, ModelNotTrainedException, PathLike
from .networks import get_network
from .saving.compact import CompactIOMachine, load_compact
from .saving.container import ModelFile
from .saving.description import builtin_loss, builtin_optimizer_config, read_description
from .training.batches import PairBatches, fit_arguments
from .training.metrics import CharAccuracy
from .training.recipes import default_loss, default_optimizer
from .training.selection import Selection

__all__ = ["Seq2SeqWithKeras", "loadSeq2SeqWithKeras"]


class Seq2SeqWithKeras(CompactIOMachine):
    """Generic sequence-to-sequence encoder–decoder of one-hot vectors, built on Keras.

    The encoder reads the input sequence and the decoder is trained with teacher forcing to
    predict the next vector of the target sequence through a softmax. All-zero input vectors
    are padding, placed after the real vectors of a sequence (as the encoders of this library
    place them): they change neither the encoding nor the loss. The network is chosen by
    name (:data:`~shorttext_s2s.networks.NETWORKS`).

    Args:
        vecsize: size of the one-hot vectors (the vocabulary size), a positive integer.
        latent_dim: number of units of the decoder (the transformer's width), a positive
            integer.
        network: ``"attention"`` (the default:
            :class:`~shorttext_s2s.networks.AttentionNetwork`, a bidirectional encoder and a
            decoder attending to all its outputs), ``"lstm"``
            (:class:`~shorttext_s2s.networks.LSTMNetwork`: an encoder LSTM whose final states
            start the decoder LSTM, as in the Keras example and shorttext) or
            ``"transformer"``
            (:class:`~shorttext_s2s.networks.TransformerNetwork`: a small encoder–decoder
            Transformer).
        **options: the network's own options: ``bidirectional`` for ``"lstm"`` (two encoder
            LSTMs of ``latent_dim // 2`` units, forwards and backwards; default False);
            ``embedding_dim``, ``layers``, ``dropout`` and ``context_layers`` for
            ``"attention"``; ``layers``, ``heads``, ``feedforward_dim`` and ``dropout`` for
            ``"transformer"``.

    Attributes:
        network: the :class:`~shorttext_s2s.networks.Network` the models are built from.
        model: the training model, ``[encoder_input, decoder_input] -> decoder_output``.
        encoder_model: the LSTM network's inference model, ``encoder_input -> [h, c]``
            (``None`` for networks without one).
        decoder_model: the LSTM network's inference model, ``[decoder_input, h, c] ->
            [output, h, c]`` (``None`` for networks without one).
        trained: whether the weights come from training (one epoch at least) or from a file.
        epochs_trained: epochs trained so far (saved in the model file, for resuming).

    Example:

    >>> s2s = Seq2SeqWithKeras(vecsize=10, latent_dim=8)
    >>> s2s.prepare_model()
    >>> [tuple(w.shape) for w in s2s.model.get_layer("decoder_dense").get_weights()]
    [(8, 10), (10,)]
    """

    def __init__(self, vecsize: int, latent_dim: int, *, network: str = catalog.DEFAULT_NETWORK,
                 **options: Any) -> None:
        self.network = get_network(network, vecsize, latent_dim, **options)
        #: The sizes, as checked by the network.
        self.vecsize, self.latent_dim = self.network.vecsize, self.network.latent_dim
        self.model: Optional[keras.Model] = None
        self.encoder_model: Optional[keras.Model] = None
        self.decoder_model: Optional[keras.Model] = None
        self.trained = False
        self.compiled = False
        self.epochs_trained = 0
        #: The epoch whose weights the model holds (the best one after early stopping).
        self.weights_epoch = 0
        #: Which epoch model selection keeps and by what figure
        #: (:class:`~shorttext_s2s.training.selection.Selection`), or None before one was judged.
        self.selection: Optional[Selection] = None

    @property
    def network_name(self) -> str:
        """The name of the network (``"attention"``...), as files and the catalog know it."""
        return self.network.name

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments, the description the model file stores."""
        return {"network": self.network_name, **self.network.get_config()}

    def weight_layers(self) -> List[str]:
        """Names of the layers whose weights make the model (what a model file stores)."""
        return list(self.network.weight_shapes())

    def prepare_model(self) -> None:
        """Build the training model and the inference models (weights are shared)."""
        self.model, self.encoder_model, self.decoder_model = self.network.build()
        self.compiled = False

    def compile(self, optimizer: Any = None, loss: Any = None, **kwargs: Any) -> None:
        """Compile the training model (building it first if needed).

        The loss and the metrics skip padding: the decoder's padding mask reaches the output,
        and Keras averages the loss over the unmasked positions only, so the same pairs
        padded to different lengths give the same loss.

        Args:
            optimizer: a Keras optimizer name or instance. Defaults to the network's recipe's
                (:mod:`shorttext_s2s.training.recipes`): Adam with gradient clipping for
                ``"attention"`` and ``"transformer"``, ``"rmsprop"`` for ``"lstm"``.
            loss: a Keras loss name or instance. Defaults to the recipe's: cross-entropy with
                label smoothing, or ``"categorical_crossentropy"`` for ``"lstm"``.
            **kwargs: passed on to ``keras.Model.compile``. ``metrics`` defaults to
                :class:`~shorttext_s2s.training.metrics.CharAccuracy`, the accuracy over
                real characters, reported as ``char_accuracy``.
        """
        if self.model is None:
            self.prepare_model()
        if optimizer is None:
            optimizer = default_optimizer(self.network.recipe)
        if loss is None:
            loss = default_loss(self.network.recipe)
        kwargs.setdefault("metrics", [CharAccuracy()])
        self.model.compile(optimizer=optimizer, loss=loss, **kwargs)
        self.compiled = True

    def rebuild(self, optimizer: Any = None, loss: Any = None) -> None:
        """Build and compile the models again in the current scope, keeping the weights.

        Variables are mirrored across devices only if created under a distribution's scope:
        training calls this inside it. A compiled model keeps its optimizer's settings, state
        (moments, step count: a resumed run goes on as it would have) and loss; ``optimizer``
        and ``loss`` are used otherwise (defaults: the recipe's).
        """
        weights = self.model.get_weights() if (self.model is not None and self.trained) else None
        state = None
        if self.compiled and self.model.optimizer is not None:
            optimizer, loss = self.model.optimizer, self.model.loss
            if optimizer.built:
                state = [np.asarray(v) for v in optimizer.variables]
        if isinstance(optimizer, keras.optimizers.Optimizer):
            # An optimizer creates variables when constructed: make a copy under the scope.
            optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        self.prepare_model()
        if weights is not None:
            self.model.set_weights(weights)
        self.compile(optimizer=optimizer, loss=loss)
        if state is not None:
            self.model.optimizer.build(self.model.trainable_variables)
            for variable, value in zip(self.model.optimizer.variables, state):
                variable.assign(value)

    def set_weights(self, weights: Sequence[np.ndarray], epoch: Optional[int] = None) -> None:
        """Set the training model's weights (``keras.Model.set_weights``); it is then trained.

        For weights kept from an earlier epoch, or made elsewhere (converted from another
        model, chosen by hand in a test); the model is built first if needed.

        Args:
            weights: as ``keras.Model.get_weights()`` returns them.
            epoch: the epoch they are the weights of, if any: ``epochs_trained`` and
                ``weights_epoch`` become it (training resumed from a file saved now starts
                after it).
        """
        if self.model is None:
            self.prepare_model()
        self.model.set_weights(weights)
        self.trained = True
        if epoch is not None:
            self.epochs_trained = self.weights_epoch = check_int(epoch, "epoch", minimum=0)

    def fit(self, encoder_input: np.ndarray, decoder_input: np.ndarray,
            decoder_output: np.ndarray, batch_size: int = 64, epochs: int = 100,
            **kwargs: Any) -> keras.callbacks.History:
        """Train on one-hot tensors (teacher forcing), as the seed API does.

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
        return self._fit([encoder_input, decoder_input], decoder_output,
                         batch_size=batch_size, epochs=epochs, **kwargs)

    def fit_batches(self, batches: PairBatches, epochs: int = 100,
                    validation: Optional[PairBatches] = None,
                    callbacks: Sequence[keras.callbacks.Callback] = (),
                    **kwargs: Any) -> keras.callbacks.History:
        """Train on length-bucketed batches of ids (what :class:`~shorttext_s2s.training.Trainer`
        does).

        Args:
            batches: the training :class:`~shorttext_s2s.training.batches.PairBatches`.
            epochs: index of the last epoch to run, as in Keras. Defaults to 100.
            validation: batches of held-out pairs, scored after every epoch.
            callbacks: Keras callbacks.
            **kwargs: passed on to ``keras.Model.fit`` (``initial_epoch``, ``verbose``).

        Returns:
            The Keras ``History``.
        """
        return self._fit(epochs=epochs, shuffle=False, callbacks=list(callbacks),
                         **fit_arguments(batches, validation), **kwargs)

    def _fit(self, *args: Any, callbacks: Sequence[keras.callbacks.Callback] = (),
             **kwargs: Any) -> keras.callbacks.History:
        if not self.compiled:
            self.compile()
        # First, so that the other callbacks (checkpoints, evaluation) see a trained model.
        progress = _EpochsTrained(self)
        return self.model.fit(*args, callbacks=[progress, *callbacks], **kwargs)

    # --- persistence: the two hooks of CompactIOMachine -----------------------------------

    def to_model_file(self, final: bool = False) -> ModelFile:
        """Describe the model as a :class:`~shorttext_s2s.saving.container.ModelFile`.

        Args:
            final: if true, leave out the optimizer state (enough for inference only).

        Raises:
            ModelNotTrainedException: the model was neither trained nor loaded.
        """
        if not self.trained or self.model is None:
            raise ModelNotTrainedException()
        weights = {name: [np.asarray(w) for w in self.model.get_layer(name).get_weights()]
                   for name in self.weight_layers()}
        training: Dict[str, Any] = {"epochs_trained": int(self.epochs_trained),
                                    "weights_epoch": int(self.weights_epoch)}
        selected = None
        if self.selection is not None:
            training["selection"] = self.selection.to_config()
            if self.selection.epoch != self.weights_epoch and not final:
                # A checkpoint past its best epoch: resuming must be able to go back to it.
                selected = [np.asarray(w) for w in self.selection.weights]
        config: Dict[str, Any] = {"model": self.get_config(), "training": training}
        optimizer_values = None
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            config["optimizer"] = keras.optimizers.serialize(optimizer)
            loss = self.model.loss
            config["loss"] = loss if isinstance(loss, str) else keras.losses.serialize(loss)
            if not final:
                optimizer_values = [np.asarray(v) for v in optimizer.variables]
        return ModelFile(kind=type(self).__name__, config=config, weights=weights,
                         optimizer=optimizer_values, selected=selected)

    @classmethod
    def from_model_file(cls, contents: ModelFile, path: str) -> "Seq2SeqWithKeras":
        """Build the model a read file describes, with its weights and optimizer state."""
        description = read_description(contents, path)
        try:
            s2s = cls(**description["model"])
        except (TypeError, ValueError) as exc:
            raise ModelFileError(path, f"invalid model description ({exc})") from None
        s2s.restore(contents, path)
        return s2s

    def restore(self, contents: ModelFile, path: PathLike = "<model file>") -> None:
        """Load weights, optimizer state and epochs trained from a read model file.

        The model must have the file's configuration. Every shape is checked before anything
        is built, and the optimizer and loss may only be Keras built-ins (a file cannot name
        code to import).

        Raises:
            ModelFileError: the contents do not fit this model or name a non-built-in class.
        """
        description = read_description(contents, path)
        expected = self.network.weight_shapes()
        for name, shapes in expected.items():
            values = contents.weights.get(name)
            if values is None or [tuple(v.shape) for v in values] != shapes:
                raise ModelFileError(path, f"weights of layer {name!r} are missing or have "
                                           f"the wrong shapes")
        extra = sorted(set(contents.weights) - set(expected))
        if extra:
            raise ModelFileError(path, f"unexpected layers {extra}")
        training = description.get("training", {})
        unknown = sorted(set(training) - {"epochs_trained", "weights_epoch", "selection"})
        if unknown:
            raise ModelFileError(path, f"invalid model description (unknown training "
                                       f"settings {unknown})")
        epochs = training.get("epochs_trained", 0)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ModelFileError(path, f"invalid model description (epochs_trained {epochs!r})")
        # Files written before it was recorded hold the weights of their last epoch.
        weights_epoch = training.get("weights_epoch", epochs)
        if isinstance(weights_epoch, bool) or not isinstance(weights_epoch, int) \
                or not 0 <= weights_epoch <= epochs:
            raise ModelFileError(path, f"invalid model description (weights_epoch "
                                       f"{weights_epoch!r})")
        selection = None
        if "selection" in training:
            try:
                selection = Selection.from_config(training["selection"])
            except ValueError as exc:
                raise ModelFileError(path, f"invalid model description ({exc})") from None
            if selection.epoch > epochs or (selection.epoch != weights_epoch
                                            and contents.selected is None):
                # Saved final, or its selected weights lost: what it holds is all there is.
                selection = None
        if contents.selected is not None and selection is None:
            raise ModelFileError(path, "selected weights without a selection")
        optimizer = loss = None
        if "optimizer" in description:
            optimizer_config = builtin_optimizer_config(description["optimizer"], path)
            loss = builtin_loss(description.get("loss", "categorical_crossentropy"), path)
            try:
                optimizer = keras.optimizers.deserialize(optimizer_config)
                if isinstance(loss, dict):
                    loss = keras.losses.deserialize(loss)
            except (TypeError, ValueError, KeyError) as exc:  # built-in, bad arguments
                raise ModelFileError(path, f"invalid optimizer or loss settings "
                                           f"({type(exc).__name__}: {exc})") from None
        if self.model is None:
            self.prepare_model()
        for name in expected:
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
        if contents.selected is not None:
            selection.weights = self._checked_weights(contents.selected, path)
        self.trained = True
        self.epochs_trained, self.weights_epoch = epochs, weights_epoch
        self.selection = selection

    def _checked_weights(self, weights: Sequence[np.ndarray], path: PathLike
                         ) -> List[np.ndarray]:
        expected = [tuple(w.shape) for w in self.model.weights]
        if [tuple(w.shape) for w in weights] != expected:
            raise ModelFileError(path, "the selected weights do not match the model")
        return list(weights)

    def _replace_with(self, loaded: "Seq2SeqWithKeras", path: str) -> None:
        # Loading into a model of another shape is refused: the object was made for a shape.
        if loaded.get_config() != self.get_config():
            raise ModelFileError(path, f"holds a model with {loaded.get_config()}, this one "
                                       f"has {self.get_config()}")
        super()._replace_with(loaded, path)


def loadSeq2SeqWithKeras(path: PathLike, compact: bool = True) -> Seq2SeqWithKeras:
    """Load a :class:`Seq2SeqWithKeras` saved by ``save_compact_model`` (or ``savemodel``).

    Args:
        path: the file (``compact=True``) or the prefix given to ``savemodel``.
        compact: whether ``path`` is a compact file rather than a prefix.

    Returns:
        The trained model.

    Raises:
        ModelFileError: the file is missing, damaged or not a model of this kind.
    """
    return load_compact(Seq2SeqWithKeras, path, compact)


class _EpochsTrained(keras.callbacks.Callback):
    """Counts finished epochs into the model: after one, it is trained (can save, decode)."""

    def __init__(self, s2s: Seq2SeqWithKeras) -> None:
        super().__init__()
        self.s2s = s2s

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.s2s.trained = True
        self.s2s.epochs_trained = self.s2s.weights_epoch = epoch + 1
