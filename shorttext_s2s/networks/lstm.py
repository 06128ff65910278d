"""The encoder–decoder LSTM of the Keras example and shorttext, and its inference steps.

The encoder LSTM reads the input; its final states start the decoder LSTM, which predicts
the next character through a softmax ``Dense`` layer. With ``bidirectional=True`` the
encoder is two LSTMs of ``latent_dim // 2`` units, one reading forwards and one backwards,
whose final states are put side by side: an encoder step costs about half the arithmetic.

The inference functions follow ``keras.layers.LSTMCell`` (implementation 2) operation by
operation (``x @ kernel + h @ recurrent_kernel + bias``, gates in the order i, f, c, o,
``sigmoid`` recurrent activation, ``tanh`` activation), so they match the Keras models. A
one-hot input is applied as a row lookup in the kernel, which is exact (a one-hot product adds
only zeros to the selected row).
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import keras
from keras import ops

from .. import catalog
from .._checks import check_bool, check_int
from ..vocabulary import PAD_ID
from .base import BuiltModels, Network, PaddingMask

_DEFAULTS = catalog.NETWORKS[catalog.LSTM].defaults()

__all__ = ["LSTMNetwork", "LSTMWeights"]

ENCODER_LSTM = "encoder_lstm"
ENCODER_LSTM_BACKWARD = "encoder_lstm_backward"
DECODER_LSTM = "decoder_lstm"
DECODER_DENSE = "decoder_dense"


class LSTMWeights(NamedTuple):
    """The weight tensors of the encoder LSTM(s), decoder LSTM and output layer.

    The ``encoder_backward_*`` weights are those of a bidirectional model's backward encoder
    LSTM, and ``None`` for a unidirectional model.
    """

    encoder_kernel: Any
    encoder_recurrent_kernel: Any
    encoder_bias: Any
    decoder_kernel: Any
    decoder_recurrent_kernel: Any
    decoder_bias: Any
    dense_kernel: Any
    dense_bias: Any
    encoder_backward_kernel: Any = None
    encoder_backward_recurrent_kernel: Any = None
    encoder_backward_bias: Any = None


class LSTMNetwork(Network):
    """One LSTM encoder handing its final states to one LSTM decoder (no attention).

    Args:
        vecsize: size of the one-hot vectors (the vocabulary size), a positive integer.
        latent_dim: units of the decoder LSTM (and of a unidirectional encoder), a positive
            integer; even if ``bidirectional``.
        bidirectional: read the input with two LSTMs of ``latent_dim // 2`` units, forwards
            and backwards. Defaults to False, the network of shorttext and the Keras example.

    Example:

    >>> network = LSTMNetwork(vecsize=10, latent_dim=8)
    >>> network.weight_shapes()["decoder_dense"]
    [(8, 10), (10,)]
    """

    compiled_length_step = 4  # its shapes compile fast; padding would cost more

    def __init__(self, vecsize: int, latent_dim: int,
                 bidirectional: bool = _DEFAULTS["bidirectional"]) -> None:
        self.vecsize = check_int(vecsize, "vecsize")
        self.latent_dim = check_int(latent_dim, "latent_dim")
        self.bidirectional = check_bool(bidirectional, "bidirectional")
        if self.bidirectional and self.latent_dim % 2:
            raise ValueError(f"Received an invalid value for argument `latent_dim`, expected an "
                             f"even number with `bidirectional=True` (each direction has half "
                             f"the units), got {latent_dim!r}.")
        self._layers: Dict[str, keras.layers.Layer] = {}

    def get_config(self) -> Dict[str, Any]:
        """Return ``{"vecsize", "latent_dim", "bidirectional"}``."""
        return {"vecsize": self.vecsize, "latent_dim": self.latent_dim,
                "bidirectional": self.bidirectional}

    def weight_shapes(self) -> Dict[str, List[Tuple[int, ...]]]:
        """Shapes of the LSTMs' ``kernel, recurrent_kernel, bias`` and the dense layer's."""
        def lstm(units: int) -> List[Tuple[int, ...]]:
            gates = 4 * units  # an LSTM's input, forget, cell and output gates side by side
            return [(self.vecsize, gates), (units, gates), (gates,)]

        if self.bidirectional:
            half = self.latent_dim // 2
            shapes = {ENCODER_LSTM: lstm(half), ENCODER_LSTM_BACKWARD: lstm(half)}
        else:
            shapes = {ENCODER_LSTM: lstm(self.latent_dim)}
        shapes[DECODER_LSTM] = lstm(self.latent_dim)
        shapes[DECODER_DENSE] = [(self.latent_dim, self.vecsize), (self.vecsize,)]
        return shapes

    def build(self) -> BuiltModels:
        """The training model and the Keras example's two inference models.

        ``encoder_model``: ``encoder_input -> [h, c]``; ``decoder_model``:
        ``[decoder_input, h, c] -> [output, h, c]``.
        """
        encoder_inputs = keras.Input(shape=(None, self.vecsize), name="encoder_input")
        masked_encoder = keras.layers.Masking(name="encoder_mask")(encoder_inputs)
        if self.bidirectional:
            # Two separate layers rather than keras.layers.Bidirectional: each keeps the
            # LSTM's own weight names, which model files store.
            half = self.latent_dim // 2
            forward = keras.layers.LSTM(half, return_state=True, name=ENCODER_LSTM)
            backward = keras.layers.LSTM(half, return_state=True, go_backwards=True,
                                         name=ENCODER_LSTM_BACKWARD)
            _, forward_h, forward_c = forward(masked_encoder)
            _, backward_h, backward_c = backward(masked_encoder)
            encoder_states = [
                keras.layers.Concatenate(name="encoder_state_h")([forward_h, backward_h]),
                keras.layers.Concatenate(name="encoder_state_c")([forward_c, backward_c])]
            layers = {ENCODER_LSTM: forward, ENCODER_LSTM_BACKWARD: backward}
        else:
            forward = keras.layers.LSTM(self.latent_dim, return_state=True, name=ENCODER_LSTM)
            _, state_h, state_c = forward(masked_encoder)
            encoder_states = [state_h, state_c]
            layers = {ENCODER_LSTM: forward}

        decoder_inputs = keras.Input(shape=(None, self.vecsize), name="decoder_input")
        decoder_lstm = keras.layers.LSTM(self.latent_dim, return_sequences=True,
                                         return_state=True, name=DECODER_LSTM)
        decoder_dense = keras.layers.Dense(self.vecsize, activation="softmax",
                                           name=DECODER_DENSE)
        layers.update({DECODER_LSTM: decoder_lstm, DECODER_DENSE: decoder_dense})
        # The training model runs the decoder LSTM on the unmasked input: targets are padded
        # on the right, so padding steps come after every real step and cannot change the
        # outputs of real steps. A masked RNN pays `where` ops per step for the states and
        # outputs; leaving them out measured 1.12x more training samples per CPU-second
        # (7,200 fra pairs, latent 256, batch 64, TensorFlow 2.21 CPU), with the same losses.
        # The padding mask goes on the softmax output instead, for the loss and metrics.
        decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
        decoder_outputs = PaddingMask(name="decoder_output_mask")(
            [decoder_dense(decoder_outputs), decoder_inputs])
        model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs, name="seq2seq")

        encoder_model = keras.Model(encoder_inputs, encoder_states, name="seq2seq_encoder")
        state_input_h = keras.Input(shape=(self.latent_dim,), name="decoder_state_h")
        state_input_c = keras.Input(shape=(self.latent_dim,), name="decoder_state_c")
        masked_decoder = keras.layers.Masking(name="decoder_mask")(decoder_inputs)
        step_outputs, step_h, step_c = decoder_lstm(
            masked_decoder, initial_state=[state_input_h, state_input_c])
        decoder_model = keras.Model(
            [decoder_inputs, state_input_h, state_input_c],
            [decoder_dense(step_outputs), step_h, step_c], name="seq2seq_decoder")
        self._layers = layers
        return BuiltModels(model, encoder_model, decoder_model)

    def inference_weights(self) -> LSTMWeights:
        """The built layers' current weights, read at this call."""
        layers = self.built_layers()
        encoder = layers[ENCODER_LSTM].cell
        decoder = layers[DECODER_LSTM].cell
        dense = layers[DECODER_DENSE]
        variables = [encoder.kernel, encoder.recurrent_kernel, encoder.bias,
                     decoder.kernel, decoder.recurrent_kernel, decoder.bias,
                     dense.kernel, dense.bias]
        if self.bidirectional:
            backward = layers[ENCODER_LSTM_BACKWARD].cell
            variables += [backward.kernel, backward.recurrent_kernel, backward.bias]
        return LSTMWeights(*(self.weight_value(variable) for variable in variables))

    def encode(self, weights: LSTMWeights, input_ids: Any,
               num_steps: Optional[int] = None) -> Tuple[Tuple, Tuple[Any, Any]]:
        """The encoder's final states ``(h, c)``; padding ids leave the state as it is.

        For a bidirectional model, the forward and backward LSTMs' states side by side. There
        is no context: the decoder sees the input through its initial state only.
        ``num_steps`` is ignored.
        """
        h, c = _masked_lstm(weights.encoder_kernel, weights.encoder_recurrent_kernel,
                            weights.encoder_bias, input_ids)
        if weights.encoder_backward_kernel is not None:
            # Reversed, the padding comes first and carries the zero state over: the backward
            # LSTM starts at each row's last real id, as Keras's go_backwards does with a mask.
            backward_h, backward_c = _masked_lstm(
                weights.encoder_backward_kernel, weights.encoder_backward_recurrent_kernel,
                weights.encoder_backward_bias, ops.flip(input_ids, axis=1))
            h = ops.concatenate([h, backward_h], axis=-1)
            c = ops.concatenate([c, backward_c], axis=-1)
        return (), (h, c)

    def step(self, weights: LSTMWeights, context: Tuple, token: Any,
             state: Tuple[Any, Any]) -> Tuple[Any, Tuple[Any, Any]]:
        """One decoder step; ``softmax(logits)`` is what ``decoder_model`` outputs."""
        h, c = state
        z = ops.take(weights.decoder_kernel, token, axis=0)
        z = ops.add(z, ops.matmul(h, weights.decoder_recurrent_kernel))
        z = ops.add(z, weights.decoder_bias)
        h, c = lstm_update(z, c)
        logits = ops.add(ops.matmul(h, weights.dense_kernel), weights.dense_bias)
        return logits, (h, c)


def lstm_update(z: Any, c: Any) -> Tuple[Any, Any]:
    """The LSTM cell's gates from the pre-activations ``z``: return the new ``(h, c)``.

    In the gate order and operation order of ``keras.layers.LSTMCell``.
    """
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    i = ops.sigmoid(z_i)
    f = ops.sigmoid(z_f)
    c = f * c + i * ops.tanh(z_c)
    o = ops.sigmoid(z_o)
    return o * ops.tanh(c), c


def _masked_lstm(kernel: Any, recurrent_kernel: Any, bias: Any,
                 input_ids: Any) -> Tuple[Any, Any]:
    batch = ops.shape(input_ids)[0]
    units = ops.shape(recurrent_kernel)[0]
    # Input projections of all steps at once; time first so the loop indexes axis 0.
    projected = ops.take(kernel, ops.transpose(input_ids), axis=0)
    keep = ops.expand_dims(ops.transpose(input_ids) != PAD_ID, -1)
    zeros = ops.zeros((batch, units), dtype=kernel.dtype)

    def step(t: Any, state: Tuple[Any, Any]) -> Tuple[Any, Any]:
        h, c = state
        z = ops.take(projected, t, axis=0)
        z = ops.add(z, ops.matmul(h, recurrent_kernel))
        z = ops.add(z, bias)
        new_h, new_c = lstm_update(z, c)
        mask = ops.take(keep, t, axis=0)
        # Masked (padding) steps carry the state over, as Keras's Masking layer makes it.
        return ops.where(mask, new_h, h), ops.where(mask, new_c, c)

    return ops.fori_loop(0, ops.shape(input_ids)[1], step, (zeros, zeros))
