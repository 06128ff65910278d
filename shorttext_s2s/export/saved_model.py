"""The SavedModel export: text in and text out, the vocabulary and decoding in one graph."""

from __future__ import annotations

from typing import Any

from ..decoding import DecodingStrategy
from ..vocabulary import PAD_ID, UNK_ID
from .graph import decoding_loop

__all__ = ["saved_model_module"]


def saved_model_module(generator: Any, strategy: DecodingStrategy,
                        jit_compile: bool) -> Any:
    """A ``tf.Module`` holding the weights, the vocabulary tables and the serving function."""
    import tensorflow as tf

    encoder = generator.encoder
    maxlen = generator.maxlen
    # The positions an input may take (its units and tags), and the steps an output may.
    room, num_steps, signal_id = maxlen - 1, maxlen - 1, encoder.signal_id
    reverse = bool(generator.reverse_input)
    structure = generator.network.inference_weights()
    has_features = bool(encoder.features)
    candidates = strategy.candidates_per_input()

    module = tf.Module()
    flat = tf.nest.flatten(structure)  # None where a network has no such weight
    module.weights = [tf.Variable(tensor, trainable=False)
                      for tensor in flat if tensor is not None]
    module.units = _table(tf, encoder.characters,
                          [encoder.dictionary[unit] for unit in encoder.characters])
    if has_features:
        module.tags = _table(tf, list(encoder.features),
                             [encoder.feature_ids[tag] for tag in encoder.features])
    # Id -> text: reserved ids and tags are no text; the unknown id never is emitted.
    vocabulary = tf.constant(encoder.id_to_unit)

    def weights():
        variables = iter(module.weights)
        return tf.nest.pack_sequence_as(
            structure, [None if tensor is None else next(variables) for tensor in flat])

    generate = tf.function(decoding_loop(generator, strategy, weights),
                           jit_compile=jit_compile, reduce_retracing=True)

    def split(texts, separator):
        if separator is None:
            return tf.strings.unicode_split(texts, "UTF-8")
        pieces = tf.strings.split(texts, sep=separator)
        return tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)

    def encode(texts, features):
        ids = module.units.lookup(split(texts, encoder.source_sep))
        if features is not None:
            tag_ids = module.tags.lookup(split(features, encoder.features_sep))
            keep = tf.maximum(0, room - tf.cast(tag_ids.row_lengths(), tf.int32))
        else:
            tag_ids, keep = None, tf.fill(tf.shape(texts), room)
        positions = tf.ragged.range(tf.cast(ids.row_lengths(), tf.int32))
        ids = tf.ragged.boolean_mask(ids, positions < keep[:, None])
        if reverse:
            positions = tf.ragged.range(tf.cast(ids.row_lengths(), tf.int32))
            last = tf.cast(ids.row_limits(), tf.int32) - 1
            mirrored = last[:, None] - positions  # flat index of each row's units, backwards
            ids = tf.RaggedTensor.from_row_splits(tf.gather(ids.flat_values,
                                                            mirrored.flat_values),
                                                  ids.row_splits)
        if tag_ids is not None:
            ids = tf.concat([ids, tag_ids], axis=1)[:, :room]
        ends = tf.RaggedTensor.from_tensor(tf.fill([tf.shape(texts)[0], 1], signal_id))
        ids = tf.concat([tf.cast(ids, tf.int32), ends], axis=1)
        return ids.to_tensor(default_value=PAD_ID, shape=[None, maxlen])

    def texts_of(ids):
        # ids: (batch, candidates, num_steps); an output ends at its first signal or padding.
        shape = tf.shape(ids)
        ids = tf.reshape(ids, [-1, num_steps])
        going = tf.cast(tf.logical_and(ids != PAD_ID, ids != signal_id), tf.int32)
        kept = tf.math.cumprod(going, axis=-1) > 0
        units = tf.gather(vocabulary, ids)
        units = tf.ragged.boolean_mask(units, tf.logical_and(kept, units != ""))
        joined = tf.strings.reduce_join(units, axis=-1, separator=encoder.target_sep or "")
        return tf.reshape(joined, shape[:2])

    def serve(texts, features=None):
        count = tf.shape(texts)[0]
        # Batches are rounded up to a power of two, as the library does: XLA compiles once
        # per batch size, so a server meets a few sizes instead of one per request size.
        size = tf.while_loop(lambda size: size < count, lambda size: [size * 2],
                             [tf.constant(1)])[0]
        # Filler rows decode the empty text (the signal alone) and are dropped.
        filler = tf.pad(tf.fill([size - count, 1], signal_id), [[0, 0], [0, maxlen - 1]],
                        constant_values=PAD_ID)
        ids, log_probs, _ = generate(tf.concat([encode(texts, features), filler], axis=0))
        ids, log_probs = ids[:count], log_probs[:count]
        found = texts_of(ids)
        answer = {"outputs": found[:, 0], "log_probs": log_probs[:, 0]}
        if candidates > 1:
            answer.update(nbest=found, nbest_log_probs=log_probs)
        return answer

    text_spec = tf.TensorSpec([None], tf.string, name="texts")
    if has_features:
        module.serving_function = tf.function(
            serve, input_signature=[text_spec, tf.TensorSpec([None], tf.string, name="features")])
    else:
        module.serving_function = tf.function(lambda texts: serve(texts),
                                              input_signature=[text_spec])
    return module


def _table(tf: Any, keys: list, values: list) -> Any:
    """A string -> id table; absent keys give the unknown id."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys, tf.string),
                                            tf.constant(values, tf.int64)),
        default_value=UNK_ID)
