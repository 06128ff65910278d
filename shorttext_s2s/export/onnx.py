"""The ONNX export: the encoder and the whole decoding loop, ids in and ids out."""

from __future__ import annotations

import json
import logging
from typing import Any

from keras import ops

from .. import catalog
from .._version import __version__
from ..decoding import BeamSearchStrategy, DecodingStrategy, GreedyStrategy
from ..extras import import_extra
from .graph import decoding_loop

__all__ = ["onnx_model", "ONNX_OPSET"]

#: ONNX operator set of the exported graph (ONNX Runtime 1.14 and later run it).
ONNX_OPSET = 17


class _FirstLargest(GreedyStrategy):
    """Greedy decoding spelt with ``top_k``: Keras's ``argmax`` reinterprets float bits (to
    order -0.0 below 0.0), which ONNX cannot express; ``top_k`` picks the same id, the first
    of the largest logits."""

    def get_next_token(self, logits, seed, step):
        """The first id of the largest logit in each row."""
        return ops.top_k(logits, 1)[1][:, 0]


def onnx_model(generator: Any, strategy: DecodingStrategy) -> Any:
    """The ONNX model of the encoder and the decoding loop, ids in and ids out."""
    # The extra that installs the converter is named after the format.
    tf2onnx = import_extra("tf2onnx", catalog.ONNX, "exporting a model to ONNX")
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
    structure = generator.network.inference_weights()
    loop = decoding_loop(generator, strategy, lambda: structure)

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
    options = strategy.get_config()
    options.pop("num_results", None)  # every candidate is in the output
    settings = {"encoder": encoder.get_config(), "maxlen": generator.maxlen,
                "reverse_input": bool(generator.reverse_input),
                "network": generator.network_name,
                "strategy": {"name": strategy.name, **options},
                "library_version": __version__}
    entry = model.metadata_props.add()
    entry.key, entry.value = catalog.ONNX_METADATA_KEY, json.dumps(settings)
    model.producer_name = "shorttext-s2s"
    return model
