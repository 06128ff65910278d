"""Compiled batch decoding of seq2seq models: greedy, sampling and beam search.

A :class:`DecodingStrategy` owns the autoregressive loop, written with ``keras.ops`` and
compiled once per batch shape (``tf.function`` on TensorFlow, ``jax.jit`` on JAX); each
strategy chooses the next character. Most users call
:meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.decode`,
:meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.decode_batch` or
:meth:`~shorttext_s2s.CharBasedSeq2SeqGenerator.decode_nbest` with a strategy name.

Example:

>>> get_strategy("beam", beam_width=4)
BeamSearchStrategy(beam_width=4, length_penalty=1.0, num_results=1)
"""

from .base import DecodingStrategy
from .beam import BeamSearchStrategy
from .engine import DecodedBatch, clear_cache, decode_ids, decode_texts, trace_count
from .greedy import GreedyStrategy
from .registry import STRATEGIES, get_strategy
from .sampling import SamplingStrategy

__all__ = [
    "DecodingStrategy",
    "GreedyStrategy",
    "SamplingStrategy",
    "BeamSearchStrategy",
    "STRATEGIES",
    "get_strategy",
    "DecodedBatch",
    "decode_ids",
    "decode_texts",
    "trace_count",
    "clear_cache",
]
