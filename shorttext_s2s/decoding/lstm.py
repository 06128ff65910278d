"""The seq2seq network's arithmetic as pure functions of its weights, for compiled decoding.

The Keras layers stay the single source of the weights (:class:`DecoderWeights.from_model`
reads them); the functions here take the weight tensors as *arguments* so that a compiled
decoding function never captures them as constants and stays valid after more training.
The arithmetic follows ``keras.layers.LSTMCell`` (implementation 2) operation by operation
(``x @ kernel + h @ recurrent_kernel + bias``, gates in the order i, f, c, o, ``sigmoid``
recurrent activation, ``tanh`` activation), so results match ``decoder_model.predict``.
One-hot inputs are applied as a row lookup in the kernel, which is exact: a one-hot product
adds only zeros to the selected row.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple

from keras import ops

from ..encoder import PAD_ID, UNK_ID
from ..model import DECODER_DENSE, DECODER_LSTM, ENCODER_LSTM, ENCODER_LSTM_BACKWARD

__all__ = ["DecoderWeights", "encode", "decoder_step", "mask_reserved"]


class DecoderWeights(NamedTuple):
    """The weight tensors of the encoder LSTM(s), decoder LSTM and output layer.

    The ``encoder_backward_*`` weights are those of a bidirectional model's backward encoder
    LSTM, and ``None`` for a unidirectional model.
    """

    encoder_kernel: object
    encoder_recurrent_kernel: object
    encoder_bias: object
    decoder_kernel: object
    decoder_recurrent_kernel: object
    decoder_bias: object
    dense_kernel: object
    dense_bias: object
    encoder_backward_kernel: object = None
    encoder_backward_recurrent_kernel: object = None
    encoder_backward_bias: object = None

    @classmethod
    def from_model(cls, model) -> "DecoderWeights":
        """Read the current weights of a built seq2seq ``keras.Model``.

        Args:
            model: the training model of :class:`~shorttext_s2s.Seq2SeqWithKeras`, with layers
                named ``encoder_lstm``, ``decoder_lstm`` and ``decoder_dense`` (and
                ``encoder_lstm_backward`` if bidirectional).

        Returns:
            The weights as backend tensors (current values, read at this call).
        """
        encoder = model.get_layer(ENCODER_LSTM).cell
        decoder = model.get_layer(DECODER_LSTM).cell
        dense = model.get_layer(DECODER_DENSE)
        variables = [encoder.kernel, encoder.recurrent_kernel, encoder.bias,
                     decoder.kernel, decoder.recurrent_kernel, decoder.bias,
                     dense.kernel, dense.bias]
        if any(layer.name == ENCODER_LSTM_BACKWARD for layer in model.layers):
            backward = model.get_layer(ENCODER_LSTM_BACKWARD).cell
            variables += [backward.kernel, backward.recurrent_kernel, backward.bias]
        return cls(*(ops.convert_to_tensor(variable) for variable in variables))


def _lstm_update(z, c):
    # Same gate order and operation order as LSTMCell._compute_carry_and_output_fused.
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    i = ops.sigmoid(z_i)
    f = ops.sigmoid(z_f)
    c = f * c + i * ops.tanh(z_c)
    o = ops.sigmoid(z_o)
    return o * ops.tanh(c), c


def encode(weights: DecoderWeights, input_ids) -> Tuple[object, object]:
    """Run the encoder over a batch of id sequences; padding ids leave the state as is.

    Args:
        weights: the model's weights.
        input_ids: ``int32`` tensor ``(batch, length)``: text, signal, then :data:`PAD_ID`.

    Returns:
        The final states ``(h, c)``, each ``(batch, latent_dim)``; for a bidirectional
        model, the forward and backward LSTMs' states side by side.
    """
    h, c = _encoder_lstm(weights.encoder_kernel, weights.encoder_recurrent_kernel,
                         weights.encoder_bias, input_ids)
    if weights.encoder_backward_kernel is None:
        return h, c
    # Reversed, the padding comes first and carries the zero state over: the backward LSTM
    # starts at each row's last real id, as Keras's go_backwards does with a mask.
    backward_h, backward_c = _encoder_lstm(
        weights.encoder_backward_kernel, weights.encoder_backward_recurrent_kernel,
        weights.encoder_backward_bias, ops.flip(input_ids, axis=1))
    return (ops.concatenate([h, backward_h], axis=-1),
            ops.concatenate([c, backward_c], axis=-1))


def _encoder_lstm(kernel, recurrent_kernel, bias, input_ids) -> Tuple[object, object]:
    batch = ops.shape(input_ids)[0]
    units = ops.shape(recurrent_kernel)[0]
    # Input projections of all steps at once; time first so the loop indexes axis 0.
    projected = ops.take(kernel, ops.transpose(input_ids), axis=0)
    keep = ops.expand_dims(ops.transpose(input_ids) != PAD_ID, -1)
    zeros = ops.zeros((batch, units), dtype=kernel.dtype)

    def step(t, state):
        h, c = state
        z = ops.take(projected, t, axis=0)
        z = ops.add(z, ops.matmul(h, recurrent_kernel))
        z = ops.add(z, bias)
        new_h, new_c = _lstm_update(z, c)
        mask = ops.take(keep, t, axis=0)
        # Masked (padding) steps carry the state over, as Keras's Masking layer makes it.
        return ops.where(mask, new_h, h), ops.where(mask, new_c, c)

    return ops.fori_loop(0, ops.shape(input_ids)[1], step, (zeros, zeros))


def decoder_step(weights: DecoderWeights, token, h, c):
    """One decoder step: feed one id per row, return the next-id logits and the new state.

    Args:
        weights: the model's weights.
        token: ``int32`` ids ``(rows,)``, the previous output (the signal at the start).
        h: decoder hidden state ``(rows, latent_dim)``.
        c: decoder cell state ``(rows, latent_dim)``.

    Returns:
        ``(logits, h, c)``; ``softmax(logits)`` is what ``decoder_model`` outputs.
    """
    z = ops.take(weights.decoder_kernel, token, axis=0)
    z = ops.add(z, ops.matmul(h, weights.decoder_recurrent_kernel))
    z = ops.add(z, weights.decoder_bias)
    h, c = _lstm_update(z, c)
    logits = ops.add(ops.matmul(h, weights.dense_kernel), weights.dense_bias)
    return logits, h, c


def mask_reserved(logits):
    """Set the logits of :data:`PAD_ID` and :data:`UNK_ID` to ``-inf``: never emitted."""
    vocab = ops.shape(logits)[-1]
    ids = ops.arange(vocab)
    reserved = ops.logical_or(ids == PAD_ID, ids == UNK_ID)
    return ops.where(reserved, ops.cast(float("-inf"), logits.dtype), logits)
