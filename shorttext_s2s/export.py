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

``format="onnx"`` writes one ONNX file (the ``onnx`` extra: tf2onnx converts the same
TensorFlow graph): the encoder and the whole decoding loop (an ONNX ``Loop``) from input ids
to output ids, with the vocabulary and the settings in the file's metadata. The library's
:class:`~shorttext_s2s.runtime.OnnxDecoder` turns texts into ids and back with NumPy and runs
it with ONNX Runtime, without TensorFlow, JAX or Keras (``pip install --no-deps shorttext-s2s
&& pip install numpy onnxruntime``)::

    from shorttext_s2s.runtime import OnnxDecoder

    decoder = OnnxDecoder("fra-eng.onnx")
    decoder.decode_batch(["Go.", "Hi."])    # ['Va !', 'Salut !']

Both exports run under the TensorFlow backend (the graph is TensorFlow's); a model trained
under JAX exports from the same file with ``KERAS_BACKEND=tensorflow``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from typing import Any, Union

import keras

from .decoding import BeamSearchStrategy, DecodingStrategy, GreedyStrategy, get_strategy
from .encoder import PAD_ID, UNK_ID
from .exceptions import ExportError, ModelNotTrainedException, PathLike
from .extras import import_extra
from .fileformat import atomic_path

__all__ = ["FORMATS", "ONNX_METADATA_KEY", "export_model"]

#: The formats :func:`export_model` writes.
FORMATS = ("saved_model", "onnx")
#: The ONNX file's metadata key holding the vocabulary and settings (JSON).
ONNX_METADATA_KEY = "shorttext_s2s"
#: ONNX operator set of the exported graph (ONNX Runtime 1.14 and later run it).
ONNX_OPSET = 17


def export_model(generator: Any, path: PathLike, format: str = "saved_model",
                 strategy: Union[str, DecodingStrategy] = "greedy", *,
                 jit_compile: bool = True) -> str:
    """Write ``generator``'s decoder to ``path`` in ``format``.

    Args:
        generator: a trained :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator`.
        path: where to write: a directory for ``"saved_model"``, a file for ``"onnx"``;
            it must not exist yet. It appears whole or not at all.
        format: ``"saved_model"`` or ``"onnx"``.
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
        MissingExtraError: ``"onnx"`` without tf2onnx (the ``onnx`` extra).
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
    if format == "onnx":
        model = _onnx_model(generator, strategy)
        with atomic_path(path) as temporary:
            with open(temporary, "wb") as handle:
                handle.write(model.SerializeToString())
        return path
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


class _FirstLargest(GreedyStrategy):
    """Greedy decoding spelt with ``top_k``: Keras's ``argmax`` reinterprets float bits (to
    order -0.0 below 0.0), which ONNX cannot express; ``top_k`` picks the same id, the first
    of the largest logits."""

    def get_next_token(self, logits, seed, step):
        """The first id of the largest logit in each row."""
        from keras import ops

        return ops.top_k(logits, 1)[1][:, 0]


def _onnx_model(generator: Any, strategy: DecodingStrategy) -> Any:
    """The ONNX model of the encoder and the decoding loop, ids in and ids out."""
    tf2onnx = import_extra("tf2onnx", "onnx", "exporting a model to ONNX")
    import tensorflow as tf
    # Freezing the weights into the graph: tf2onnx converts graphs of constants, and this is
    # how its own loaders freeze a function (there is no public equivalent).
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    if isinstance(strategy, BeamSearchStrategy):
        strategy = BeamSearchStrategy(strategy.beam_width, strategy.length_penalty)
        strategy.greedy = _FirstLargest()
    else:
        strategy = _FirstLargest()
    encoder = generator.encoder
    structure = generator.s2sgenerator.network.inference_weights()
    loop = _decoding_loop(generator, strategy, lambda: structure)

    def generate(input_ids):
        return [tf.identity(value, name=name)
                for value, name in zip(loop(input_ids), ("ids", "log_probs", "lengths"))]

    spec = tf.TensorSpec([None, generator.maxlen], tf.int32, name="input_ids")
    frozen = convert_variables_to_constants_v2(
        tf.function(generate).get_concrete_function(spec))
    # The converter logs every shape it cannot infer inside the loop: not the user's concern.
    quiet = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        model, _ = tf2onnx.convert.from_graph_def(
            frozen.graph.as_graph_def(), input_names=["input_ids:0"],
            output_names=[tensor.name for tensor in frozen.outputs], opset=ONNX_OPSET)
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)
    from . import __version__

    options = strategy.get_config()
    options.pop("num_results", None)  # every candidate is in the output
    settings = {"encoder": encoder.get_config(), "maxlen": generator.maxlen,
                "reverse_input": bool(generator.reverse_input), "network": generator.network,
                "strategy": {"name": strategy.name, **options},
                "library_version": __version__}
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(settings)
    model.producer_name = "shorttext-s2s"
    return model


def _saved_model_module(generator: Any, strategy: DecodingStrategy,
                        jit_compile: bool) -> Any:
    """A ``tf.Module`` holding the weights, the vocabulary tables and the serving function."""
    import tensorflow as tf

    encoder = generator.encoder
    maxlen = generator.maxlen
    # The positions an input may take (its units and tags), and the steps an output may.
    room, num_steps, signal_id = maxlen - 1, maxlen - 1, encoder.signal_id
    reverse = bool(generator.reverse_input)
    structure = generator.s2sgenerator.network.inference_weights()
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

    def weights():
        variables = iter(module.weights)
        return tf.nest.pack_sequence_as(
            structure, [None if tensor is None else next(variables) for tensor in flat])

    generate = tf.function(_decoding_loop(generator, strategy, weights),
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


def _decoding_loop(generator: Any, strategy: DecodingStrategy, weights: Any) -> Any:
    """``input_ids -> (ids, log_probs, lengths)``: the strategy's loop on the generator's
    network, with the weights ``weights()`` gives where it is traced (deterministic
    strategies: the seed is unused)."""
    import tensorflow as tf

    network = generator.s2sgenerator.network
    num_steps, signal_id = generator.maxlen - 1, generator.encoder.signal_id

    def loop(input_ids):
        return strategy.generate(network, weights(), input_ids, tf.zeros((2,), tf.int32),
                                 num_steps, signal_id)

    return loop


def _table(tf: Any, keys: list, values: list) -> Any:
    """A string -> id table; absent keys give the unknown id."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys, tf.string),
                                            tf.constant(values, tf.int64)),
        default_value=UNK_ID)
