"""Export a model's whole decoder, text in and text out, for runtimes without this library.

:func:`export_model` (also :meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.export` and
``shorttext-s2s export``) writes a TensorFlow SavedModel whose serving signature takes a
batch of strings (and, for a model trained with features, each string's tags) and returns
the decoded strings with their log-probabilities. Everything the library does around the
network is inside the graph: the vocabulary and the separators of the units, the encoding
(cut to what the model reads, read backwards if it was trained so, unseen units as the
unknown id), the compiled decoding loop (XLA), and the joining of the output units. It loads
with ``tf.saved_model.load`` where TensorFlow is installed, without Keras or this library,
and is what TensorFlow Serving, Vertex AI or any other SavedModel host serves::

    import tensorflow as tf

    exported = tf.saved_model.load("fra-eng-savedmodel")
    answer = exported.signatures["serving_default"](texts=tf.constant(["Go.", "Hi."]))
    answer["outputs"]      # [b'Va !', b'Salut !']: UTF-8 bytes, one per text
    answer["log_probs"]    # the log-probability of each output under the model

With ``strategy="beam"``, ``nbest`` and ``nbest_log_probs`` add every candidate of the beam,
best first (``beam_width + 1`` per text: the beam's and the greedy output; impossible ones
have ``-inf``).

The export runs under the TensorFlow backend (the graph is TensorFlow's); a model trained
under JAX exports from the same file with ``KERAS_BACKEND=tensorflow``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Union

import keras

from .decoding import BeamSearchStrategy, DecodingStrategy, GreedyStrategy, get_strategy
from .encoder import PAD_ID, UNK_ID
from .exceptions import ExportError, ModelNotTrainedException, PathLike

__all__ = ["FORMATS", "export_model"]

#: The formats :func:`export_model` writes.
FORMATS = ("saved_model",)


def export_model(generator: Any, path: PathLike, format: str = "saved_model",
                 strategy: Union[str, DecodingStrategy] = "greedy", *,
                 jit_compile: bool = True) -> str:
    """Write ``generator``'s decoder to ``path`` in ``format``.

    Args:
        generator: a trained :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator`.
        path: the directory to write (a SavedModel is a directory); it must not exist yet.
            It appears whole or not at all.
        format: ``"saved_model"``.
        strategy: ``"greedy"`` (the default), ``"beam"`` or a
            :class:`~shorttext_s2s.decoding.BeamSearchStrategy` (its ``beam_width`` and
            ``length_penalty``; ``num_results`` does not apply: every candidate is
            returned). Sampling is not exported: its outputs depend on a random stream that
            a serving runtime would have to manage.
        jit_compile: compile the decoding loop with XLA, as the library does. Defaults to
            True; False for a runtime built without XLA.

    Returns:
        The path written.

    Raises:
        ExportError: the format, the strategy or the backend cannot be exported (the
            message says why); ``path`` exists.
        ModelNotTrainedException: the generator has no trained weights.
    """
    if format not in FORMATS:
        raise ExportError(f"Received an invalid value for argument `format`, expected one of "
                          f"{list(FORMATS)}, got {format!r}.")
    strategy = get_strategy(strategy)
    if not isinstance(strategy, (GreedyStrategy, BeamSearchStrategy)):
        raise ExportError(f"the {strategy.name!r} strategy is not exported: its outputs depend "
                          f"on a random stream the serving runtime would have to manage; "
                          f"export 'greedy' or 'beam'.")
    if not generator.trained:
        raise ModelNotTrainedException("exporting needs a trained or loaded model.")
    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"a SavedModel is a TensorFlow graph: export under the TensorFlow "
                          f"backend (KERAS_BACKEND=tensorflow; the backend is "
                          f"{keras.backend.backend()!r}). A model file trained under any "
                          f"backend loads under TensorFlow.")
    path = os.fspath(path)
    if os.path.exists(path):
        raise ExportError(f"{path}: already exists; export to a new directory.")
    module = _saved_model_module(generator, strategy, jit_compile)
    import tensorflow as tf

    # Written beside its place and renamed there once complete: a reader never sees half a
    # model, and an error or a kill leaves no directory at `path`.
    parent = os.path.dirname(os.path.abspath(path))
    temporary = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                 dir=parent)
    try:
        tf.saved_model.save(module, temporary,
                            signatures={"serving_default": module.serving_function})
        os.rename(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def _saved_model_module(generator: Any, strategy: DecodingStrategy,
                        jit_compile: bool) -> Any:
    """A ``tf.Module`` holding the weights, the vocabulary tables and the serving function."""
    import tensorflow as tf

    encoder = generator.encoder
    network = generator.s2sgenerator.network
    maxlen = generator.maxlen
    num_steps, room, signal_id = maxlen - 1, maxlen - 1, encoder.signal_id
    reverse = bool(generator.reverse_input)
    structure = network.inference_weights()
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
    vocabulary = tf.constant([str(unit) for unit in encoder._id_to_char])

    def generate(input_ids):
        variables = iter(module.weights)
        weights = tf.nest.pack_sequence_as(
            structure, [None if tensor is None else next(variables) for tensor in flat])
        seed = tf.zeros((2,), tf.int32)
        return strategy.generate(network, weights, input_ids, seed, num_steps, signal_id)

    generate = tf.function(generate, jit_compile=jit_compile, reduce_retracing=True)

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
