"""A bidirectional LSTM encoder and an LSTM decoder that attends to every encoder output.

Characters are embedded (a dense layer without bias on the one-hot vectors), read by
``layers`` bidirectional LSTMs, and their outputs kept as the attention *memory*. The decoder
LSTMs start from the encoder's final states; at every step the top decoder output scores each
memory position with Luong's "general" score ``h · (W m)``, the softmax of the scores weighs
the memory into a context vector, and ``tanh(W_c [context; h])`` (the attentional vector)
predicts the next character (Luong, Pham & Manning, 2015, without input feeding: the
decoder LSTMs then run over a whole target at once, which is several times faster to train
on a CPU than a step-by-step loop). Optional *context layers*, LSTMs above the attention
that read the context vector, give the prediction a memory of what was attended before, as
input feeding does, without that loop. Dropout acts on the embeddings, between layers and on
the attentional vector.

The inference functions mirror the layers with ``keras.ops``; the embedding of the first
layers is folded into their input kernel (``E @ K``, a row lookup per character).
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import keras
from keras import ops

from .. import catalog
from .._checks import check_int, check_number
from ..vocabulary import PAD_ID
from .base import BuiltModels, Network, PaddingMask
from .lstm import lstm_update

_DEFAULTS = catalog.NETWORKS[catalog.ATTENTION].defaults()

__all__ = ["AttentionNetwork", "AttentionWeights", "LuongAttention"]

ENCODER_EMBEDDING = "encoder_embedding"
DECODER_EMBEDDING = "decoder_embedding"
ATTENTION = "attention"
ATTENTION_OUTPUT = "attention_output"
DECODER_DENSE = "decoder_dense"
#: Scores of padding positions: far below any real score, but finite, so that the softmax of
#: the training model and of the inference functions stay the same arithmetic.
_MASKED_SCORE = -1e9


def _encoder_lstm(layer: int) -> str:
    return "encoder_bilstm" if layer == 0 else f"encoder_bilstm_{layer + 1}"


def _decoder_lstm(layer: int) -> str:
    return "decoder_lstm" if layer == 0 else f"decoder_lstm_{layer + 1}"


def _context_lstm(layer: int) -> str:
    return f"context_lstm_{layer + 1}"


class LuongAttention(keras.layers.Layer):
    """Luong's "general" attention: the memory weighed by ``softmax(query · (W memory))``.

    Call arguments:
        inputs: ``[queries, memory, memory_mask]``: ``(batch, steps, units)``,
            ``(batch, positions, memory_units)`` and a boolean ``(batch, positions)`` mask,
            false at padding.

    Returns:
        The context vectors, ``(batch, steps, memory_units)``.
    """

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = check_int(units, "units")

    def build(self, input_shape: List[tuple]) -> None:
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[1][-1], self.units),
                                      initializer="glorot_uniform")

    def call(self, inputs: List[Any]) -> Any:
        queries, memory, memory_mask = inputs
        keys = ops.matmul(memory, self.kernel)
        scores = ops.matmul(queries, ops.transpose(keys, (0, 2, 1)))
        scores = ops.where(ops.expand_dims(memory_mask, 1), scores, _MASKED_SCORE)
        return ops.matmul(ops.softmax(scores, axis=-1), memory)

    def compute_output_shape(self, input_shape: List[tuple]) -> tuple:
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def compute_mask(self, inputs: List[Any], previous_mask: Any = None) -> None:
        # The memory's padding is handled by `memory_mask`; the output steps are the queries',
        # whose padding the model masks at its output.
        return None

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "units": self.units}


class AttentionWeights(NamedTuple):
    """The tensors the inference functions read (first-layer embeddings folded in).

    ``encoder`` holds one ``((kernel, recurrent_kernel, bias) forward, (...) backward)`` pair
    per layer; ``decoder`` one ``(kernel, recurrent_kernel, bias)`` per layer. The
    attentional layer's kernel is split in two: ``context_kernel`` (the rows that multiply
    the context vector) and ``query_kernel`` (those that multiply the decoder output).
    ``context_decoder`` holds one ``(kernel, context_kernel, recurrent_kernel, bias)`` per
    context layer, its input kernel split in two: ``kernel`` (the rows that multiply the
    layer below's output) and ``context_kernel`` (those that multiply the context vector).
    """

    encoder: Tuple[Any, ...]
    decoder: Tuple[Any, ...]
    attention_kernel: Any
    context_kernel: Any
    query_kernel: Any
    dense_kernel: Any
    dense_bias: Any
    context_decoder: Tuple[Any, ...] = ()


class AttentionNetwork(Network):
    """Bidirectional LSTM encoder, LSTM decoder with Luong attention over the encoder outputs.

    Args:
        vecsize: size of the one-hot vectors (the vocabulary size), a positive integer.
        latent_dim: units of each decoder LSTM and of the attentional vector; each encoder
            direction has ``latent_dim // 2``. A positive even integer.
        embedding_dim: size of the character embeddings. Defaults to 64.
        layers: stacked LSTM layers in the encoder and in the decoder. Defaults to 1.
        dropout: dropout rate on embeddings, between layers and on the attentional vector,
            from 0 to 1 (excluded). Defaults to 0.2.
        context_layers: LSTM layers above the attention, each reading the layer below's
            output and the context vector; the top one's output, not the bottom decoder's,
            forms the attentional vector. Their state carries what was attended at earlier
            steps, the use of Luong's input feeding, while the training model still runs the
            decoder over a whole target at once (the attention's query stays the bottom
            decoder's output, as in GNMT). Defaults to 0 (none).

    Example:

    >>> network = AttentionNetwork(vecsize=10, latent_dim=8, embedding_dim=4)
    >>> network.weight_shapes()["attention"]
    [(8, 8)]
    """

    def __init__(self, vecsize: int, latent_dim: int,
                 embedding_dim: int = _DEFAULTS["embedding_dim"],
                 layers: int = _DEFAULTS["layers"], dropout: float = _DEFAULTS["dropout"],
                 context_layers: int = _DEFAULTS["context_layers"]) -> None:
        self.vecsize = check_int(vecsize, "vecsize")
        self.latent_dim = check_int(latent_dim, "latent_dim")
        if self.latent_dim % 2:
            raise ValueError(f"Received an invalid value for argument `latent_dim`, expected an "
                             f"even number (each encoder direction has half the units), got "
                             f"{latent_dim!r}.")
        self.embedding_dim = check_int(embedding_dim, "embedding_dim")
        self.layers = check_int(layers, "layers", 1, 8)
        self.dropout = check_number(dropout, "dropout", below=1.0)
        self.context_layers = check_int(context_layers, "context_layers", 0, 8)
        self._layers: Dict[str, keras.layers.Layer] = {}

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments."""
        return {"vecsize": self.vecsize, "latent_dim": self.latent_dim,
                "embedding_dim": self.embedding_dim, "layers": self.layers,
                "dropout": self.dropout, "context_layers": self.context_layers}

    def weight_shapes(self) -> Dict[str, List[Tuple[int, ...]]]:
        """Shapes of every layer's ``get_weights()``."""
        units, half, embed = self.latent_dim, self.latent_dim // 2, self.embedding_dim

        def lstm(inputs: int, size: int) -> List[Tuple[int, ...]]:
            return [(inputs, 4 * size), (size, 4 * size), (4 * size,)]

        shapes = {ENCODER_EMBEDDING: [(self.vecsize, embed)],
                  DECODER_EMBEDDING: [(self.vecsize, embed)]}
        for layer in range(self.layers):
            shapes[_encoder_lstm(layer)] = 2 * lstm(embed if layer == 0 else units, half)
            shapes[_decoder_lstm(layer)] = lstm(embed if layer == 0 else units, units)
        for layer in range(self.context_layers):
            shapes[_context_lstm(layer)] = lstm(2 * units, units)
        shapes[ATTENTION] = [(units, units)]
        shapes[ATTENTION_OUTPUT] = [(2 * units, units)]
        shapes[DECODER_DENSE] = [(units, self.vecsize), (self.vecsize,)]
        return shapes

    def build(self) -> BuiltModels:
        """The training model (teacher forcing); no separate inference models."""
        half, units = self.latent_dim // 2, self.latent_dim
        layers: Dict[str, keras.layers.Layer] = {
            ENCODER_EMBEDDING: keras.layers.Dense(self.embedding_dim, use_bias=False,
                                                  name=ENCODER_EMBEDDING),
            DECODER_EMBEDDING: keras.layers.Dense(self.embedding_dim, use_bias=False,
                                                  name=DECODER_EMBEDDING),
            ATTENTION: LuongAttention(units, name=ATTENTION),
            ATTENTION_OUTPUT: keras.layers.Dense(units, activation="tanh", use_bias=False,
                                                 name=ATTENTION_OUTPUT),
            DECODER_DENSE: keras.layers.Dense(self.vecsize, activation="softmax",
                                              name=DECODER_DENSE)}
        encoder_inputs = keras.Input(shape=(None, self.vecsize), name="encoder_input")
        decoder_inputs = keras.Input(shape=(None, self.vecsize), name="decoder_input")
        source_mask = ops.any(ops.not_equal(encoder_inputs, 0), axis=-1)

        memory = layers[ENCODER_EMBEDDING](encoder_inputs)
        outputs = layers[DECODER_EMBEDDING](decoder_inputs)
        for layer in range(self.layers):
            name = _encoder_lstm(layer)
            layers[name] = keras.layers.Bidirectional(
                keras.layers.LSTM(half, return_sequences=True, return_state=True), name=name)
            memory = keras.layers.Dropout(self.dropout)(memory)
            memory, forward_h, forward_c, backward_h, backward_c = layers[name](
                memory, mask=source_mask)
            name = _decoder_lstm(layer)
            # Targets are padded on the right, so the decoder runs unmasked (padding comes
            # after every real step); the padding mask goes on the output for the loss.
            layers[name] = keras.layers.LSTM(units, return_sequences=True, name=name)
            outputs = keras.layers.Dropout(self.dropout)(outputs)
            outputs = layers[name](outputs, initial_state=[
                ops.concatenate([forward_h, backward_h], axis=-1),
                ops.concatenate([forward_c, backward_c], axis=-1)])
        context = layers[ATTENTION]([outputs, memory, source_mask])
        for layer in range(self.context_layers):
            name = _context_lstm(layer)
            layers[name] = keras.layers.LSTM(units, return_sequences=True, name=name)
            outputs = layers[name](ops.concatenate(
                [keras.layers.Dropout(self.dropout)(outputs), context], axis=-1))
        attentional = layers[ATTENTION_OUTPUT](ops.concatenate([context, outputs], axis=-1))
        attentional = keras.layers.Dropout(self.dropout)(attentional)
        probabilities = PaddingMask(name="decoder_output_mask")(
            [layers[DECODER_DENSE](attentional), decoder_inputs])
        self._layers = layers
        return BuiltModels(keras.Model([encoder_inputs, decoder_inputs], probabilities,
                                       name="seq2seq_attention"))

    def inference_weights(self) -> AttentionWeights:
        """The built layers' current weights, read at this call."""
        layers = self.built_layers()
        tensor = self.weight_value
        encoder_embedding = tensor(layers[ENCODER_EMBEDDING].kernel)
        decoder_embedding = tensor(layers[DECODER_EMBEDDING].kernel)

        def cell(lstm: Any, embedding: Any = None) -> Tuple[Any, Any, Any]:
            kernel = tensor(lstm.cell.kernel)
            if embedding is not None:
                kernel = ops.matmul(embedding, kernel)
            return kernel, tensor(lstm.cell.recurrent_kernel), tensor(lstm.cell.bias)

        encoder, decoder = [], []
        for layer in range(self.layers):
            bidirectional = layers[_encoder_lstm(layer)]
            embedding = encoder_embedding if layer == 0 else None
            encoder.append((cell(bidirectional.forward_layer, embedding),
                            cell(bidirectional.backward_layer, embedding)))
            decoder.append(cell(layers[_decoder_lstm(layer)],
                                decoder_embedding if layer == 0 else None))
        context_decoder = []
        for layer in range(self.context_layers):
            kernel, recurrent_kernel, bias = cell(layers[_context_lstm(layer)])
            context_decoder.append((kernel[:self.latent_dim], kernel[self.latent_dim:],
                                    recurrent_kernel, bias))
        dense = layers[DECODER_DENSE]
        # The attentional layer reads [context; h]: its first rows multiply the context.
        output_kernel = tensor(layers[ATTENTION_OUTPUT].kernel)
        return AttentionWeights(tuple(encoder), tuple(decoder),
                                tensor(layers[ATTENTION].kernel),
                                output_kernel[:self.latent_dim], output_kernel[self.latent_dim:],
                                tensor(dense.kernel), tensor(dense.bias), tuple(context_decoder))

    def encode(self, weights: AttentionWeights, input_ids: Any,
               num_steps: Optional[int] = None) -> Tuple[Tuple, Tuple]:
        """Context ``(values, keys, mask)`` and the decoder's initial ``(h, c)`` per layer.

        Each decoder layer starts from the final states of the encoder layer at its depth
        (both directions joined), each context layer from zeros. With context layers, the
        context holds after the mask the memory projected by each one's context rows.

        ``keys`` are the memory projected for the scores, ``values`` the memory projected by
        the attentional layer's context rows: a context vector is a weighted sum of memory
        positions, so projecting the memory once here spares every step that product.
        ``num_steps`` is ignored.
        """
        mask = ops.not_equal(input_ids, PAD_ID)
        states = []
        inputs = None
        for layer, (forward, backward) in enumerate(weights.encoder):
            if layer == 0:
                # First layer: the embedding is folded into the kernel, a row per id.
                projected = [ops.take(forward[0], input_ids, axis=0),
                             ops.take(backward[0], input_ids, axis=0)]
            else:
                projected = [ops.matmul(inputs, forward[0]), ops.matmul(inputs, backward[0])]
            forward_out, forward_h, forward_c = _lstm_sequence(projected[0], mask, forward[1],
                                                               forward[2], reverse=False)
            backward_out, backward_h, backward_c = _lstm_sequence(
                projected[1], mask, backward[1], backward[2], reverse=True)
            inputs = ops.concatenate([forward_out, backward_out], axis=-1)
            states += [ops.concatenate([forward_h, backward_h], axis=-1),
                       ops.concatenate([forward_c, backward_c], axis=-1)]
        keys = ops.matmul(inputs, weights.attention_kernel)
        values = ops.matmul(inputs, weights.context_kernel)
        projected = tuple(ops.matmul(inputs, context_kernel)
                          for _, context_kernel, _, _ in weights.context_decoder)
        zeros = ops.zeros_like(states[-1])
        return ((values, keys, mask) + projected,
                tuple(states) + (zeros, zeros) * len(weights.context_decoder))

    def step(self, weights: AttentionWeights, context: Tuple, token: Any,
             state: Tuple) -> Tuple[Any, Tuple]:
        """One decoder step: LSTMs, attention, context layers, the attentional vector, logits."""
        values, keys, mask, *projected_memories = context
        new_state = []
        h = None
        for layer, (kernel, recurrent_kernel, bias) in enumerate(weights.decoder):
            x = ops.take(kernel, token, axis=0) if layer == 0 else ops.matmul(h, kernel)
            z = ops.add(ops.add(x, ops.matmul(state[2 * layer], recurrent_kernel)), bias)
            h, c = lstm_update(z, state[2 * layer + 1])
            new_state += [h, c]
        scores = ops.squeeze(ops.matmul(keys, ops.expand_dims(h, -1)), -1)
        scores = ops.where(mask, scores, _MASKED_SCORE)
        attention = ops.expand_dims(ops.softmax(scores, axis=-1), 1)
        projected_context = ops.squeeze(ops.matmul(attention, values), 1)
        offset = 2 * len(weights.decoder)
        for layer, ((kernel, _, recurrent_kernel, bias), memory) in enumerate(
                zip(weights.context_decoder, projected_memories)):
            projected = ops.squeeze(ops.matmul(attention, memory), 1)
            z = ops.add(ops.add(ops.add(ops.matmul(h, kernel), projected),
                                ops.matmul(state[offset + 2 * layer], recurrent_kernel)), bias)
            h, c = lstm_update(z, state[offset + 2 * layer + 1])
            new_state += [h, c]
        attentional = ops.tanh(ops.add(projected_context,
                                       ops.matmul(h, weights.query_kernel)))
        logits = ops.add(ops.matmul(attentional, weights.dense_kernel), weights.dense_bias)
        return logits, tuple(new_state)


def _lstm_sequence(projected: Any, mask: Any, recurrent_kernel: Any, bias: Any,
                   reverse: bool) -> Tuple[Any, Any, Any]:
    """Run an LSTM over ``projected`` inputs ``(batch, steps, 4 units)``, skipping padding.

    Returns the outputs ``(batch, steps, units)`` in input order (their values at padding
    positions are unspecified) and the final ``h``, ``c``. With ``reverse``, the LSTM reads
    from the last step to the first, as Keras's ``go_backwards`` does: right padding then
    comes first and leaves the zero state as it is.
    """
    if reverse:
        projected, mask = ops.flip(projected, axis=1), ops.flip(mask, axis=1)
    batch, steps = ops.shape(projected)[0], ops.shape(projected)[1]
    units = ops.shape(recurrent_kernel)[0]
    zeros = ops.zeros((batch, units), dtype=projected.dtype)
    # Time first, so that a step indexes axis 0.
    projected = ops.transpose(projected, (1, 0, 2))
    keep_by_step = ops.expand_dims(ops.transpose(mask), -1)

    def step(t: Any, carry: Tuple[Any, Any, Any]) -> Tuple[Any, Any, Any]:
        h, c, outputs = carry
        z = ops.add(ops.add(ops.take(projected, t, axis=0), ops.matmul(h, recurrent_kernel)),
                    bias)
        new_h, new_c = lstm_update(z, c)
        keep = ops.take(keep_by_step, t, axis=0)
        h, c = ops.where(keep, new_h, h), ops.where(keep, new_c, c)
        # A scatter rather than a slice update: the same in XLA, and ONNX has it (ScatterND)
        # where it has no slice update, for exports (see shorttext_s2s.export).
        return h, c, ops.scatter_update(outputs, ops.reshape(t, (1, 1)),
                                        ops.expand_dims(h, 0))

    h, c, outputs = ops.fori_loop(0, steps, step, (zeros, zeros,
                                                   ops.zeros((steps, batch, units),
                                                             dtype=projected.dtype)))
    outputs = ops.transpose(outputs, (1, 0, 2))
    return (ops.flip(outputs, axis=1) if reverse else outputs), h, c
