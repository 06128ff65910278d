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
:class:`~shorttext_s2s.export.runtime.OnnxDecoder` turns texts into ids and back with
NumPy and runs it with ONNX Runtime, without TensorFlow, JAX or Keras (``pip install
--no-deps shorttext-s2s && pip install numpy onnxruntime``)::

    from shorttext_s2s.export.runtime import OnnxDecoder

    decoder = OnnxDecoder("fra-eng.onnx")
    decoder.decode_batch(["Go.", "Hi."])    # ['Va !', 'Salut !']

Both exports run under the TensorFlow backend (the graph is TensorFlow's); a model trained
under JAX exports from the same file with ``KERAS_BACKEND=tensorflow``.

The package: :mod:`~shorttext_s2s.export.writer` (:func:`export_model`),
:mod:`~shorttext_s2s.export.saved_model`, :mod:`~shorttext_s2s.export.onnx`,
:mod:`~shorttext_s2s.export.graph` (the loop both hold) and
:mod:`~shorttext_s2s.export.runtime` (:class:`OnnxDecoder`). Importing the package, or its
runtime, imports no backend: :func:`export_model` loads the writer, and with it Keras and
TensorFlow, when first used.
"""

from __future__ import annotations

import importlib
from typing import Any, List

from .. import catalog

__all__ = ["FORMATS", "ONNX_METADATA_KEY", "export_model", "OnnxDecoder"]

#: The formats :func:`export_model` writes (:data:`shorttext_s2s.catalog.EXPORT_FORMATS`).
FORMATS = tuple(catalog.EXPORT_FORMATS)
#: The ONNX file's metadata key holding the vocabulary and settings (JSON).
ONNX_METADATA_KEY = catalog.ONNX_METADATA_KEY

# Loaded on first use (PEP 562): the writer needs Keras and TensorFlow, the runtime does not.
_LAZY = {"export_model": ".writer", "OnnxDecoder": ".runtime"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
