"""A small pre-layer-norm encoder–decoder Transformer, and its cached inference steps.

Characters are embedded (a dense layer without bias on the one-hot vectors), scaled by
``sqrt(latent_dim)`` and added to sinusoidal position encodings (Vaswani et al., 2017), which
need no largest length. ``layers`` encoder blocks follow, each multi-head self-attention over
the input's real characters then a two-layer ReLU feed-forward network; ``layers`` decoder
blocks, each causal self-attention (a position sees itself and the positions before it),
attention over the encoder output (padding masked) and the feed-forward network. Every
sub-layer reads a layer-normalised copy of its input and adds its output back to it
(pre-layer-norm, Xiong et al., 2020: training needs no learning-rate warm-up); a last layer
norm closes the encoder and the decoder. Dropout acts on the embeddings, on the attention
weights and on each sub-layer's output before it is added back.

The training model is made of Keras core layers, which the inference functions mirror with
``keras.ops``, reading each ``MultiHeadAttention``'s projections from ``layer.weights`` in
the order a model file stores them (:meth:`TransformerNetwork.weight_shapes`), heads side by
side. ``encode`` runs the encoder once and projects its output into every decoder block's
cross-attention keys and values (the context); ``step`` runs one position through the
decoder against a cache of the keys and values of the positions before it (the state).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import keras
from keras import ops

from .. import catalog
from .._checks import check_int, check_number, check_optional_int
from ..vocabulary import PAD_ID
from .base import BuiltModels, Network, PaddingMask
from .positions import SinusoidalPositions, sinusoidal_positions

_DEFAULTS = catalog.NETWORKS[catalog.TRANSFORMER].defaults()

__all__ = ["TransformerNetwork", "TransformerWeights"]

ENCODER_EMBEDDING = "encoder_embedding"
DECODER_EMBEDDING = "decoder_embedding"
ENCODER_NORM = "encoder_norm"
DECODER_NORM = "decoder_norm"
DECODER_DENSE = "decoder_dense"
#: The sub-layers of a block, in the order they run; a weight layer is named
#: ``{encoder|decoder}_{block number}_{sub-layer}``.
ENCODER_SUBLAYERS = ("attention_norm", "attention", "feedforward_norm", "feedforward_inner",
                     "feedforward_outer")
DECODER_SUBLAYERS = ("self_attention_norm", "self_attention", "cross_attention_norm",
                     "cross_attention", "feedforward_norm", "feedforward_inner",
                     "feedforward_outer")
#: Layer normalisation's epsilon, that of common Transformer implementations: Keras's default,
#: 1e-3, would damp the normalisation of features of small variance.
_EPSILON = 1e-5
#: Scores of masked positions, as in :mod:`.attention`: far below any real score but finite.
_MASKED_SCORE = -1e9


def _name(part: str, block: int, sublayer: str) -> str:
    return f"{part}_{block + 1}_{sublayer}"


class TransformerWeights(NamedTuple):
    """The tensors the inference functions read.

    Each layer norm is a ``(gamma, beta)`` pair; each attention ``(query_kernel, query_bias,
    key_kernel, key_bias, value_kernel, value_bias, output_kernel, output_bias)`` with the
    heads side by side (``(latent_dim, latent_dim)`` kernels); each feed-forward network
    ``(inner_kernel, inner_bias, outer_kernel, outer_bias)``. ``encoder`` holds one
    ``(attention_norm, attention, feedforward_norm, feedforward)`` per block, ``decoder``
    one ``(self_attention_norm, self_attention, cross_attention_norm, cross_attention,
    feedforward_norm, feedforward)`` per block.
    """

    encoder_embedding: Any
    decoder_embedding: Any
    encoder: Tuple[Any, ...]
    encoder_norm: Tuple[Any, Any]
    decoder: Tuple[Any, ...]
    decoder_norm: Tuple[Any, Any]
    dense_kernel: Any
    dense_bias: Any


class TransformerNetwork(Network):
    """Pre-layer-norm Transformer encoder and decoder, sinusoidal positions, multi-head attention.

    Args:
        vecsize: size of the one-hot vectors (the vocabulary size), a positive integer.
        latent_dim: the model's width: the embeddings, every block's input and output, and
            the attention projections of all heads together. A positive multiple of ``heads``.
        layers: blocks in the encoder and in the decoder, from 1 to 8. Defaults to 2.
        heads: attention heads, each of ``latent_dim // heads`` features. Defaults to 4.
        feedforward_dim: units of the feed-forward networks' inner layer, a positive integer.
            Defaults to ``4 * latent_dim`` (the ratio of Vaswani et al.).
        dropout: dropout rate on embeddings, attention weights and sub-layer outputs, from 0
            to 1 (excluded). Defaults to 0.1.

    Raises:
        ValueError: an argument out of range, or ``latent_dim`` not a multiple of ``heads``.

    Example:

    >>> network = TransformerNetwork(vecsize=10, latent_dim=8, heads=2, feedforward_dim=16)
    >>> network.weight_shapes()["decoder_1_cross_attention"][:2]
    [(8, 2, 4), (2, 4)]
    """

    def __init__(self, vecsize: int, latent_dim: int, layers: int = _DEFAULTS["layers"],
                 heads: int = _DEFAULTS["heads"],
                 feedforward_dim: Optional[int] = _DEFAULTS["feedforward_dim"],
                 dropout: float = _DEFAULTS["dropout"]) -> None:
        self.vecsize = check_int(vecsize, "vecsize")
        self.latent_dim = check_int(latent_dim, "latent_dim")
        self.layers = check_int(layers, "layers", 1, 8)
        self.heads = check_int(heads, "heads")
        if self.latent_dim % self.heads:
            raise ValueError(f"Received an invalid value for argument `heads`, expected a "
                             f"divisor of latent_dim={self.latent_dim} (the heads share the "
                             f"model's width), got {heads!r}.")
        feedforward_dim = check_optional_int(feedforward_dim, "feedforward_dim")
        self.feedforward_dim = 4 * self.latent_dim if feedforward_dim is None else feedforward_dim
        self.dropout = check_number(dropout, "dropout", below=1.0)
        self._layers: Dict[str, keras.layers.Layer] = {}

    def get_config(self) -> Dict[str, Any]:
        """Return the constructor arguments (``feedforward_dim`` as an integer)."""
        return {"vecsize": self.vecsize, "latent_dim": self.latent_dim, "layers": self.layers,
                "heads": self.heads, "feedforward_dim": self.feedforward_dim,
                "dropout": self.dropout}

    def weight_shapes(self) -> Dict[str, List[Tuple[int, ...]]]:
        """Shapes of every layer's ``get_weights()``.

        An attention layer's are its query, key, value and output projections' kernels and
        biases, in that order.
        """
        width, heads, inner = self.latent_dim, self.heads, self.feedforward_dim
        size = width // heads
        norm = [(width,), (width,)]
        attention = [(width, heads, size), (heads, size)] * 3 + [(heads, size, width),
                                                                  (width,)]
        kinds = {"norm": norm, "attention": attention,
                 "feedforward_inner": [(width, inner), (inner,)],
                 "feedforward_outer": [(inner, width), (width,)]}

        def shapes_of(sublayer: str) -> List[Tuple[int, ...]]:
            return next(shape for kind, shape in kinds.items() if sublayer.endswith(kind))

        shapes = {ENCODER_EMBEDDING: [(self.vecsize, width)],
                  DECODER_EMBEDDING: [(self.vecsize, width)]}
        for block in range(self.layers):
            for sublayer in ENCODER_SUBLAYERS:
                shapes[_name("encoder", block, sublayer)] = shapes_of(sublayer)
        shapes[ENCODER_NORM] = norm
        for block in range(self.layers):
            for sublayer in DECODER_SUBLAYERS:
                shapes[_name("decoder", block, sublayer)] = shapes_of(sublayer)
        shapes[DECODER_NORM] = norm
        shapes[DECODER_DENSE] = [(width, self.vecsize), (self.vecsize,)]
        return shapes

    def build(self) -> BuiltModels:
        """The training model (teacher forcing); no separate inference models."""
        width, rate = self.latent_dim, self.dropout
        layers: Dict[str, keras.layers.Layer] = {}

        def add(layer: keras.layers.Layer) -> keras.layers.Layer:
            layers[layer.name] = layer
            return layer

        def norm(name: str) -> keras.layers.Layer:
            return add(keras.layers.LayerNormalization(epsilon=_EPSILON, name=name))

        def attention(name: str) -> keras.layers.Layer:
            return add(keras.layers.MultiHeadAttention(self.heads, width // self.heads,
                                                       dropout=rate, name=name))

        def feedforward(inputs: Any, part: str, block: int) -> Any:
            inner = add(keras.layers.Dense(self.feedforward_dim, activation="relu",
                                           name=_name(part, block, "feedforward_inner")))
            outer = add(keras.layers.Dense(width, name=_name(part, block,
                                                             "feedforward_outer")))
            return outer(inner(inputs))

        def embed(inputs: Any, part: str) -> Any:
            embedded = add(keras.layers.Dense(width, use_bias=False, name=f"{part}_embedding"))(
                inputs)
            return keras.layers.Dropout(rate)(
                SinusoidalPositions(name=f"{part}_positions")(embedded))

        def residual(inputs: Any, output: Any) -> Any:
            return ops.add(inputs, keras.layers.Dropout(rate)(output))

        def block(x: Any, part: str, index: int, attentions: List[Tuple[str, Any, dict]]) -> Any:
            """One block: each ``(sub-layer, memory or None for itself, call options)``
            attention, then the feed-forward network, each on a layer-normalised copy."""
            for sublayer, memory, options in attentions:
                h = norm(_name(part, index, f"{sublayer}_norm"))(x)
                x = residual(x, attention(_name(part, index, sublayer))(
                    h, h if memory is None else memory, **options))
            h = norm(_name(part, index, "feedforward_norm"))(x)
            return residual(x, feedforward(h, part, index))

        encoder_inputs = keras.Input(shape=(None, self.vecsize), name="encoder_input")
        decoder_inputs = keras.Input(shape=(None, self.vecsize), name="decoder_input")
        source_mask = ops.any(ops.not_equal(encoder_inputs, 0), axis=-1)

        x = embed(encoder_inputs, "encoder")
        for index in range(self.layers):
            x = block(x, "encoder", index, [("attention", None, {"value_mask": source_mask})])
        memory = norm(ENCODER_NORM)(x)
        # Targets are padded on the right and self-attention is causal, so padding positions
        # never reach a real one; the padding mask goes on the output, for the loss.
        y = embed(decoder_inputs, "decoder")
        for index in range(self.layers):
            y = block(y, "decoder", index, [
                ("self_attention", None, {"use_causal_mask": True}),
                ("cross_attention", memory, {"value_mask": source_mask})])
        y = norm(DECODER_NORM)(y)
        dense = add(keras.layers.Dense(self.vecsize, activation="softmax", name=DECODER_DENSE))
        probabilities = PaddingMask(name="decoder_output_mask")([dense(y), decoder_inputs])
        self._layers = layers
        model = keras.Model([encoder_inputs, decoder_inputs], probabilities,
                            name="seq2seq_transformer")
        return BuiltModels(model)

    def inference_weights(self) -> TransformerWeights:
        """The built layers' current weights, read at this call."""
        layers = self.built_layers()
        tensor = self.weight_value
        width = self.latent_dim

        def norm(name: str) -> Tuple[Any, Any]:
            layer = layers[name]
            return tensor(layer.gamma), tensor(layer.beta)

        def attention(name: str) -> Tuple[Any, ...]:
            # The order of weight_shapes(), which a model file's arrays are checked against.
            # A (width, heads, size) kernel becomes (width, heads * size): head h owns columns
            # h * size to (h + 1) * size - 1, as _attention's reshape splits them; the output
            # kernel (heads, size, width) becomes (heads * size, width) likewise.
            variables = [tensor(variable) for variable in layers[name].weights]
            shapes = [(width, width), (width,)] * 4
            return tuple(ops.reshape(variable, shape)
                         for variable, shape in zip(variables, shapes))

        def feedforward(part: str, block: int) -> Tuple[Any, ...]:
            inner = layers[_name(part, block, "feedforward_inner")]
            outer = layers[_name(part, block, "feedforward_outer")]
            return (tensor(inner.kernel), tensor(inner.bias), tensor(outer.kernel),
                    tensor(outer.bias))

        encoder = tuple(
            (norm(_name("encoder", block, "attention_norm")),
             attention(_name("encoder", block, "attention")),
             norm(_name("encoder", block, "feedforward_norm")),
             feedforward("encoder", block)) for block in range(self.layers))
        decoder = tuple(
            (norm(_name("decoder", block, "self_attention_norm")),
             attention(_name("decoder", block, "self_attention")),
             norm(_name("decoder", block, "cross_attention_norm")),
             attention(_name("decoder", block, "cross_attention")),
             norm(_name("decoder", block, "feedforward_norm")),
             feedforward("decoder", block)) for block in range(self.layers))
        dense = layers[DECODER_DENSE]
        return TransformerWeights(
            tensor(layers[ENCODER_EMBEDDING].kernel),
            tensor(layers[DECODER_EMBEDDING].kernel), encoder, norm(ENCODER_NORM),
            decoder, norm(DECODER_NORM), tensor(dense.kernel), tensor(dense.bias))

    def encode(self, weights: TransformerWeights, input_ids: Any,
               num_steps: Optional[int] = None) -> Tuple[Tuple, Tuple]:
        """Run the encoder; return the decoder's context and an empty cache.

        Args:
            weights: what :meth:`inference_weights` returned.
            input_ids: ``int32`` ``(batch, length)``: text, signal, then padding.
            num_steps: the most steps the decoder will run (the cache's positions). Required.

        Returns:
            Context ``(mask, keys_1, values_1, ...)``: the ``(batch, length)`` non-padding
            mask and each decoder block's cross-attention keys and values, ``(batch, length,
            latent_dim)``. State ``(position, self_keys_1, self_values_1, ...)``: ``int32``
            ``(batch,)`` zeros and each decoder block's ``(batch, num_steps, latent_dim)``
            cache of self-attention keys and values, zeros.

        Raises:
            ValueError: ``num_steps`` is not given.
        """
        if num_steps is None:
            raise ValueError("the transformer network's encode() needs `num_steps`, the size "
                             "of its decoder's cache.")
        mask = ops.not_equal(input_ids, PAD_ID)
        batch, length = ops.shape(input_ids)[0], ops.shape(input_ids)[1]
        x = _embed(weights.encoder_embedding, input_ids,
                   ops.arange(length, dtype="float32")[None, :])
        for attention_norm, attention, feedforward_norm, feedforward in weights.encoder:
            h = _layer_norm(x, attention_norm)
            x = ops.add(x, _attention(h, _project(h, attention, 2), _project(h, attention, 4),
                                      mask, attention, self.heads))
            x = ops.add(x, _feedforward(_layer_norm(x, feedforward_norm), feedforward))
        memory = _layer_norm(x, weights.encoder_norm)
        context: List[Any] = [mask]
        for block in weights.decoder:
            cross_attention = block[3]
            context += [_project(memory, cross_attention, 2),
                        _project(memory, cross_attention, 4)]
        cache = ops.zeros((batch, num_steps, self.latent_dim), dtype=memory.dtype)
        state = [ops.zeros((batch,), dtype="int32")] + [cache] * (2 * self.layers)
        return tuple(context), tuple(state)

    def step(self, weights: TransformerWeights, context: Tuple, token: Any,
             state: Tuple) -> Tuple[Any, Tuple]:
        """Run one position of the decoder: cache its self-attention keys and values, predict.

        ``softmax(logits)`` is the training model's output at this position given the same
        ids before it.
        """
        source_mask, memory = context[0], context[1:]
        position, caches = state[0], state[1:]
        slots = ops.arange(ops.shape(caches[0])[1], dtype="int32")[None, :]
        # The position's slot takes this step's keys and values; attention sees the slots up
        # to it (causal, as in training). Per row, so beam search may reorder rows freely.
        current = ops.equal(slots, position[:, None])
        seen = ops.less_equal(slots, position[:, None])
        x = _embed(weights.decoder_embedding, token[:, None],
                   ops.cast(position[:, None], "float32"))
        new_caches = []
        for block, (self_norm, self_attention, cross_norm, cross_attention, feedforward_norm,
                    feedforward) in enumerate(weights.decoder):
            h = _layer_norm(x, self_norm)
            keys = ops.where(current[:, :, None], _project(h, self_attention, 2),
                             caches[2 * block])
            values = ops.where(current[:, :, None], _project(h, self_attention, 4),
                               caches[2 * block + 1])
            new_caches += [keys, values]
            x = ops.add(x, _attention(h, keys, values, seen, self_attention, self.heads))
            h = _layer_norm(x, cross_norm)
            x = ops.add(x, _attention(h, memory[2 * block], memory[2 * block + 1],
                                      source_mask, cross_attention, self.heads))
            x = ops.add(x, _feedforward(_layer_norm(x, feedforward_norm), feedforward))
        x = _layer_norm(x[:, 0], weights.decoder_norm)
        logits = ops.add(ops.matmul(x, weights.dense_kernel), weights.dense_bias)
        return logits, (ops.add(position, 1),) + tuple(new_caches)


def _embed(embedding: Any, ids: Any, positions: Any) -> Any:
    """The embeddings of ``ids`` (a row lookup: the one-hot product of the training model
    adds only zeros) with the position encodings, as :class:`SinusoidalPositions`."""
    width = ops.shape(embedding)[-1]
    return ops.add(ops.multiply(ops.take(embedding, ids, axis=0), math.sqrt(width)),
                   sinusoidal_positions(positions, width))


def _layer_norm(x: Any, gamma_beta: Tuple[Any, Any]) -> Any:  # as LayerNormalization
    return ops.layer_normalization(x, gamma_beta[0], gamma_beta[1], axis=-1, epsilon=_EPSILON)


def _project(x: Any, attention: Tuple[Any, ...], index: int) -> Any:
    """``x`` through the projection at ``index`` of ``attention`` (0 query, 2 key, 4 value)."""
    return ops.add(ops.matmul(x, attention[index]), attention[index + 1])


def _feedforward(x: Any, weights: Tuple[Any, Any, Any, Any]) -> Any:
    inner_kernel, inner_bias, outer_kernel, outer_bias = weights
    inner = ops.relu(ops.add(ops.matmul(x, inner_kernel), inner_bias))
    return ops.add(ops.matmul(inner, outer_kernel), outer_bias)


def _attention(queries: Any, keys: Any, values: Any, mask: Any, attention: Tuple[Any, ...],
               heads: int) -> Any:
    """Multi-head attention of ``queries`` (not yet projected) over projected keys and values.

    Args:
        queries: ``(batch, steps, width)``, the layer-normalised inputs.
        keys, values: ``(batch, positions, width)``, projected, heads side by side.
        mask: boolean ``(batch, positions)``, false where a position may not be attended to.
        attention: the layer's weights (see :class:`TransformerWeights`).
        heads: number of heads.

    Returns:
        The output projection of the attended values, ``(batch, steps, width)``.
    """
    # The widths come from the weights, whose shapes are always static (the batch and the
    # steps may not be, in a graph traced for any batch: see shorttext_s2s.export).
    width = int(attention[6].shape[0])
    head_width = width // heads

    def split(x: Any) -> Any:
        return ops.reshape(x, tuple(ops.shape(x)[:2]) + (heads, head_width))

    queries = split(_project(queries, attention, 0))
    # Scaled after the bias, as MultiHeadAttention scales its projected queries.
    queries = ops.multiply(queries, 1.0 / math.sqrt(head_width))
    scores = ops.einsum("bqhd,bkhd->bhqk", queries, split(keys))
    scores = ops.where(mask[:, None, None, :], scores, _MASKED_SCORE)
    attended = ops.einsum("bhqk,bkhd->bqhd", ops.softmax(scores, axis=-1), split(values))
    attended = ops.reshape(attended, tuple(ops.shape(attended)[:2]) + (width,))
    return ops.add(ops.matmul(attended, attention[6]), attention[7])
