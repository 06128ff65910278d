"""What every network gives the library: its Keras models, its weights, and inference steps.

A network is built once into Keras layers (trained with ``keras.Model.fit``, saved by layer
name) and mirrored by pure functions of its weights for compiled decoding: ``encode`` reads
a batch of inputs, ``step`` feeds one id per row and returns the next-id logits. The decoding
strategies (:mod:`shorttext_s2s.decoding`) run any network through these two functions, so a
new network touches no strategy, and a new strategy no network.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Dict, Hashable, List, NamedTuple, Optional, Tuple

import keras
from keras import ops

from .. import catalog

__all__ = ["Network", "BuiltModels", "PaddingMask", "local_value"]


class BuiltModels(NamedTuple):
    """The Keras models a network builds; they share one set of weights.

    Attributes:
        model: the training model, ``[encoder_input, decoder_input] -> decoder_output``
            (one-hot vectors in, softmax out, teacher forcing).
        encoder_model: an inference model of the encoder, or ``None`` if the network has none.
        decoder_model: an inference model of one decoder step, or ``None``.
    """

    model: keras.Model
    encoder_model: Optional[keras.Model] = None
    decoder_model: Optional[keras.Model] = None


class Network:
    """Base of the networks: a description (``get_config``), Keras layers, inference functions.

    A subclass implements every method below and has an entry in
    :data:`shorttext_s2s.catalog.NETWORKS`, which gives its name, its options with their
    defaults, and its default recipe. Inference functions
    take the weights as *arguments* (never as captured variables), so one compiled decoding
    function serves every model of the same configuration and stays valid while a model
    trains further. ``context`` is what the encoder leaves for every decoder step and never
    changes (e.g. attention memory; ``()`` when there is none); ``state`` is what a step
    updates. Both are tuples of tensors whose first axis is the batch row, so a strategy can
    repeat rows (beam search) and reorder them without knowing what they hold.

    Attributes:
        name: the name the network is known by in files and on the command line.
        recipe: the training recipe it is trained with by default.
    """

    name = catalog.CatalogName("networks")

    @property
    def recipe(self) -> str:
        """The training recipe this network is trained with by default (see
        :class:`~shorttext_s2s.training.Trainer`): its catalog entry's."""
        return catalog.NETWORKS[self.name].recipe

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> Any:
        if isinstance(other, str):
            # generator.network was the network's name until release 0.2.0.
            warnings.warn("comparing a network with a str is deprecated: compare "
                          "`network_name` (the old `generator.network` was the name)",
                          DeprecationWarning, stacklevel=2)
            return self.name == other
        return NotImplemented

    __hash__ = object.__hash__

    #: Where each batch shape compiles (JAX), training pads batch lengths to a multiple of
    #: this by default (see :class:`~shorttext_s2s.training.Trainer`'s ``length_step``):
    #: fewer shapes to compile against more padding to compute.
    compiled_length_step: ClassVar[int] = 16

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments (what a model file stores)."""
        raise NotImplementedError

    def cache_key(self) -> Hashable:
        """What decides a compiled decoding function's shapes: the name and the configuration."""
        return (self.name,) + tuple(sorted(self.get_config().items()))

    def weight_shapes(self) -> Dict[str, List[Tuple[int, ...]]]:
        """The shapes of each weight layer's ``get_weights()``, by layer name, before building.

        A model file is checked against these before anything is built from it.
        """
        raise NotImplementedError

    def build(self) -> BuiltModels:
        """Create the layers and return the Keras models made of them."""
        raise NotImplementedError

    def inference_weights(self) -> Any:
        """The current weights of the built layers as backend tensors (a tuple or NamedTuple)."""
        raise NotImplementedError

    @staticmethod
    def weight_value(variable: Any) -> Any:
        """A variable's current value for :meth:`inference_weights`: in a multi-process run,
        this process's copy (decoding runs on each process alone)."""
        return local_value(ops.convert_to_tensor(variable))

    def built_layers(self) -> Dict[str, keras.layers.Layer]:
        """The layers :meth:`build` made, by name (the names of :meth:`weight_shapes`).

        Raises:
            RuntimeError: :meth:`build` was not called yet.
        """
        layers = getattr(self, "_layers", None)
        if not layers:
            raise RuntimeError("the network is not built yet; call build() first.")
        return layers

    def encode(self, weights: Any, input_ids: Any, num_steps: Optional[int] = None
               ) -> Tuple[Tuple[Any, ...], Tuple[Any, ...]]:
        """Read a batch of inputs.

        Args:
            weights: what :meth:`inference_weights` returned.
            input_ids: ``int32`` ``(batch, length)``: text, signal, then padding.
            num_steps: the most times :meth:`step` will run on the state returned (the
                decoding strategies always give it), for a network whose state must be sized
                in advance (a cache of past steps); others ignore it.

        Returns:
            ``(context, state)`` for :meth:`step`.
        """
        raise NotImplementedError

    def step(self, weights: Any, context: Tuple[Any, ...], token: Any,
             state: Tuple[Any, ...]) -> Tuple[Any, Tuple[Any, ...]]:
        """Feed one id per row (the previous output; the signal at the start).

        Returns:
            ``(logits, state)``: ``float32`` ``(rows, vocabulary)`` logits of the next id,
            whose softmax is what the training model outputs at that position, and the new
            state.
        """
        raise NotImplementedError


class PaddingMask(keras.layers.Layer):
    """Pass ``[values, padded_input]`` through as ``values``, masked where the input is padding.

    A padding step is an all-zero input vector, as for ``keras.layers.Masking``. Put on a
    softmax output, it makes Keras average the loss and metrics over real positions only.
    """

    def call(self, inputs: List[Any]) -> Any:
        return inputs[0]

    def compute_mask(self, inputs: List[Any], previous_mask: Any = None) -> Any:
        return keras.ops.any(keras.ops.not_equal(inputs[1], 0), axis=-1)

    def compute_output_shape(self, input_shape: List[tuple]) -> tuple:
        return input_shape[0]


def local_value(tensor: Any) -> Any:
    """``tensor``, or this process's copy of it when it is a replicated array of a
    multi-process run: decoding runs on each process alone, with its own copy of the weights.
    """
    if getattr(tensor, "is_fully_addressable", True):
        return tensor
    return tensor.addressable_data(0)
