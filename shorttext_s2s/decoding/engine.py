"""Runs a decoding strategy on a model: bucketing, the compiled-function cache, compaction
of long-running batches, text out.

Each compiled function decodes one batch shape: the batch size is rounded up to a power of
two and the input length to a multiple of :data:`LENGTH_BUCKET` (at most ``maxlen``), so
repeated calls reuse a few compiled functions instead of compiling per call. The functions
take the network's weights as arguments, so one cache serves every model of the same network
configuration and stays valid while a model trains further. The cache is shared by threads: a
lock guards it, and the first call of a new function (which traces and compiles it) runs
under that function's own lock so that concurrent callers wait for one compilation instead of
starting several.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

import keras
import numpy as np
from keras import ops

from .._checks import check_int
from ..encoder import PAD_ID, SentenceToCharVecEncoder
from . import backend
from .base import DecodingStrategy

__all__ = ["COMPACT_ROWS", "LENGTH_BUCKET", "MAX_ROWS", "DecodedBatch", "decode_ids",
           "decode_texts", "trace_count", "clear_cache"]

#: Input lengths are padded up to a multiple of this (fewer compiled shapes; the extra
#: steps are masked and cheap).
LENGTH_BUCKET = 16
#: Most decoder rows (inputs times candidates per input) in one compiled call; larger
#: batches are decoded in chunks of this size.
MAX_ROWS = 1024
#: Batches of at least this many rows are compacted as they decode, for the strategies that
#: allow it (``DecodingStrategy.compactable``): see :func:`_decode_compacting`.
COMPACT_ROWS = 32


@dataclass
class DecodedBatch:
    """Raw decoder output: ``candidates`` outputs per input, best first.

    Attributes:
        ids: ``int32`` ``(inputs, candidates, maxlen - 1)``; the end signal then padding
            follow each output.
        log_probs: ``float32`` ``(inputs, candidates)``: log-probability of each output under
            the model (``-inf`` for impossible candidates).
        lengths: ``int32`` ``(inputs, candidates)``: ids scored, the end signal included.
    """

    ids: np.ndarray
    log_probs: np.ndarray
    lengths: np.ndarray


class _Entry:
    def __init__(self, function) -> None:
        self.function = function
        self.lock = threading.Lock()
        self.ready = False


_cache: Dict[Hashable, _Entry] = {}
_cache_lock = threading.Lock()
_traces = 0
_traces_lock = threading.Lock()


def trace_count() -> int:
    """How many times a decoding function was traced (compiled) in this process."""
    return _traces


def clear_cache() -> None:
    """Forget every compiled decoding function (they are recompiled when next needed)."""
    with _cache_lock:
        _cache.clear()


class _Generate:
    """One strategy's loop for one shape, as a callable object for the backend compiler.

    An object rather than a closure: TensorFlow's frequent-retracing warning groups
    functions by code object, so per-shape closures would all count as one function that
    "retraces" at every new shape.
    """

    def __init__(self, strategy: DecodingStrategy, network, num_steps: int,
                 signal_id: int) -> None:
        self.strategy = strategy
        self.network = network
        self.num_steps = num_steps
        self.signal_id = signal_id

    def __call__(self, weights, input_ids, seed):
        _count_trace()
        return self.strategy.generate(self.network, weights, input_ids, seed, self.num_steps,
                                      self.signal_id)


class _Begin(_Generate):
    """Encode a batch and decode until at most ``rows_left`` rows are still running.

    Returns the context and the loop's variables (see ``DecodingStrategy.start_loop``), for
    :class:`_Resume` to carry the running rows on in a smaller batch.
    """

    def __init__(self, strategy: DecodingStrategy, network, num_steps: int, signal_id: int,
                 rows_left: int) -> None:
        super().__init__(strategy, network, num_steps, signal_id)
        self.rows_left = rows_left

    def __call__(self, weights, input_ids, seed):
        _count_trace()
        context, state = self.network.encode(weights, input_ids, self.num_steps)
        loop = self.strategy.start_loop(state, self.num_steps, self.signal_id)
        return context, self.strategy.continue_loop(self.network, weights, context, seed,
                                                    self.num_steps, self.signal_id, loop,
                                                    self.rows_left)


class _Resume(_Begin):
    """Carry on decoding from a context and loop variables, as :class:`_Begin` left them."""

    def __call__(self, weights, context, loop, seed):
        _count_trace()
        return self.strategy.continue_loop(self.network, weights, context, seed,
                                           self.num_steps, self.signal_id, loop,
                                           self.rows_left)


def _count_trace() -> None:
    global _traces
    with _traces_lock:
        _traces += 1  # runs only while tracing: counts compilations


def _compiled(generate: _Generate, key: Hashable, jit_compile: bool) -> _Entry:
    with _cache_lock:
        entry = _cache.get(key)
        if entry is None:
            entry = _cache[key] = _Entry(backend.compile_function(generate, jit_compile))
        return entry


def _power_of_two(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _seed_pair(seed: Optional[int], chunk: int, stochastic: bool) -> np.ndarray:
    if seed is None and not stochastic:
        seed = 0  # unused: leave the global generator's state alone
    elif seed is None:
        # The global NumPy generator, so keras.utils.set_random_seed makes this repeatable.
        seed = int(np.random.randint(0, 2 ** 31 - 1))
    else:
        try:
            seed = check_int(seed, "seed", minimum=None)
        except ValueError as exc:  # a seed names a random stream: any other type is a TypeError
            raise TypeError(str(exc)) from None
    low = int(seed) & 0xFFFFFFFF
    # Chunks get disjoint (seed, step) streams: steps stay below 2**16.
    return np.array([low, chunk << 16], dtype=np.uint32).view(np.int32)


def decode_ids(network, input_ids: np.ndarray, strategy: DecodingStrategy,
               seed: Optional[int], signal_id: int, jit_compile: bool = True) -> DecodedBatch:
    """Decode encoded inputs with ``strategy`` in compiled, bucketed batches.

    More inputs than one compiled call takes (``MAX_ROWS`` rows) are decoded in chunks: of
    inputs of like lengths for a deterministic strategy, in the given order for a stochastic
    one (the order decides each input's random stream). Outputs come back in input order.

    Args:
        network: a built :class:`~shorttext_s2s.networks.Network`; its current weights are
            used.
        input_ids: ``int32`` ``(inputs, maxlen)``: text, signal, padding (as
            ``SentenceToCharVecEncoder.encode_sentences(..., endsig=True)`` returns).
        strategy: the decoding strategy.
        seed: random seed for stochastic strategies; ``None`` draws one from NumPy's global
            generator.
        signal_id: the start/end signal id.
        jit_compile: TensorFlow only: compile the loop with XLA. Defaults to True.

    Returns:
        The :class:`DecodedBatch`; outputs have at most ``maxlen - 1`` ids before the signal.
    """
    input_ids = np.asarray(input_ids, dtype=np.int32)
    count, maxlen = input_ids.shape
    num_steps = maxlen - 1
    weights = network.inference_weights()
    generate = _Generate(strategy, network, num_steps, signal_id)
    per_input = strategy.candidates_per_input()
    chunk_size = _power_of_two(max(1, MAX_ROWS // per_input) + 1) // 2
    order = None
    if count > chunk_size and not strategy.stochastic:
        # Chunks of inputs of like lengths: each pads its inputs less, and its outputs,
        # whose lengths follow the inputs', end closer together.
        order = np.argsort((input_ids != PAD_ID).sum(axis=1), kind="stable")
        input_ids = input_ids[order]
    results = []
    for chunk, start in enumerate(range(0, count, chunk_size)):
        part = input_ids[start:start + chunk_size]
        longest = int((part != PAD_ID).sum(axis=1).max())
        length = min(maxlen, -(-longest // LENGTH_BUCKET) * LENGTH_BUCKET)
        batch = _power_of_two(len(part))
        padded = np.full((batch, length), PAD_ID, dtype=np.int32)
        padded[:, 0] = signal_id  # filler rows decode the empty text; dropped below
        padded[:len(part)] = part[:, :length]
        key = (keras.backend.backend(), jit_compile, strategy.cache_key(),
               network.cache_key(), batch, length, num_steps, signal_id)
        seed_pair = ops.convert_to_tensor(_seed_pair(seed, chunk, strategy.stochastic))
        if strategy.compactable and batch >= COMPACT_ROWS:
            outputs = _decode_compacting(generate, key, jit_compile, weights,
                                         ops.convert_to_tensor(padded), seed_pair)
        else:
            outputs = _call(_compiled(generate, key, jit_compile), weights,
                            ops.convert_to_tensor(padded), seed_pair)
            outputs = [ops.convert_to_numpy(x) for x in outputs]
        results.append([x[:len(part)] for x in outputs])
    if not results:
        return DecodedBatch(np.zeros((0, per_input, num_steps), np.int32),
                            np.zeros((0, per_input), np.float32),
                            np.zeros((0, per_input), np.int32))
    decoded = [np.concatenate(parts) for parts in zip(*results)]
    if order is not None:
        decoded = [_unsort(part, order) for part in decoded]
    return DecodedBatch(*decoded)


def _unsort(sorted_rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The rows of ``sorted_rows`` (row ``i`` is input ``order[i]``) in input order."""
    rows = np.empty_like(sorted_rows)
    rows[order] = sorted_rows
    return rows


def _call(entry: _Entry, *arguments):
    if entry.ready:
        return entry.function(*arguments)
    with entry.lock:
        outputs = entry.function(*arguments)
        entry.ready = True
    return outputs


def _decode_compacting(generate: _Generate, key: Hashable, jit_compile: bool, weights,
                       input_ids, seed) -> List[np.ndarray]:
    """Decode a batch, moving its last running rows into smaller batches as others end.

    A batch runs until its longest output ends: the few rows that run on (long outputs, or
    an under-trained model's babbling) would keep every row's arithmetic going. Instead the
    loop stops once at most a quarter of the rows are running, and those rows (their
    context, network state and loop variables, all batch-first) carry on in a batch a
    quarter the size, and so on down to ``COMPACT_ROWS // 4`` rows. Each row's arithmetic
    is unchanged, so are its output, score and length.
    """
    rows = ops.shape(input_ids)[0]
    strategy, network = generate.strategy, generate.network
    num_steps, signal_id = generate.num_steps, generate.signal_id
    rows_left = rows // 4
    begin = _Begin(strategy, network, num_steps, signal_id, rows_left)
    context, loop = _call(_compiled(begin, key + ("begin", rows_left), jit_compile),
                          weights, input_ids, seed)
    ids = np.zeros((rows, num_steps), np.int32)
    log_probs, lengths = np.zeros(rows, np.float32), np.zeros(rows, np.int32)
    where = np.arange(rows)  # the input row of each row of the current batch (-1: filler)
    while True:
        finished = ops.convert_to_numpy(loop[4])
        real = where >= 0
        for kept, value in ((ids, loop[3]), (log_probs, loop[5]), (lengths, loop[6])):
            kept[where[real]] = ops.convert_to_numpy(value)[real]
        running = np.flatnonzero(~finished & real)
        if not len(running) or int(ops.convert_to_numpy(loop[0])) >= num_steps:
            break
        batch = _power_of_two(len(running))
        # Filler rows copy an ended row: already finished, they change nothing.
        take = np.concatenate([running, np.full(batch - len(running),
                                                np.flatnonzero(finished)[0])])
        where = np.concatenate([where[running], np.full(batch - len(running), -1)])
        rows_left = batch // 4 if batch >= COMPACT_ROWS else 0
        indices = ops.convert_to_tensor(take.astype(np.int32))

        def gather(tensor):
            return ops.take(tensor, indices, axis=0)

        context = keras.tree.map_structure(gather, context)
        loop = (loop[0],) + keras.tree.map_structure(gather, tuple(loop[1:]))
        resume = _Resume(strategy, network, num_steps, signal_id, rows_left)
        loop = _call(_compiled(resume, key + ("resume", batch, rows_left), jit_compile),
                     weights, context, loop, seed)
    return [ids[:, None, :], log_probs[:, None], lengths[:, None]]


def check_texts(texts: Sequence[str]) -> List[str]:
    """Return ``texts`` as a list, raising ``TypeError`` unless it is a sequence of ``str``."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("expected a sequence of str, got a single "
                        f"{type(texts).__name__}; use decode() for one text.")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"expected a sequence of str, got {type(texts).__name__}.") from None
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] must be a str, got {type(text).__name__}.")
    return texts


def decode_texts(network, encoder: SentenceToCharVecEncoder, maxlen: int,
                 texts: Sequence[str], strategy: DecodingStrategy,
                 seed: Optional[int] = None, num_results: int = 1,
                 reverse_input: bool = False,
                 jit_compile: bool = True,
                 features: Optional[Sequence[Optional[str]]] = None
                 ) -> List[List[Tuple[str, float]]]:
    """Decode texts; return up to ``num_results`` ``(text, log-probability)`` per input.

    Inputs (with their ``features``, if any) are encoded as
    :meth:`~shorttext_s2s.encoder.SentenceToCharVecEncoder.encode_sources` does: cut to
    ``maxlen - 1`` units, read backwards if ``reverse_input`` (as the model was trained),
    unseen units as the unknown id, the empty text as the signal alone. Outputs are
    distinct, best first, and never contain signal or reserved ids. ``network`` and
    ``jit_compile`` are as for :func:`decode_ids`.

    Raises:
        TypeError: ``texts`` is not a sequence of ``str``.
    """
    texts = check_texts(texts)
    input_ids = encoder.encode_sources(texts, maxlen, reverse=reverse_input, features=features)
    decoded = decode_ids(network, input_ids, strategy, seed, encoder.signal_id, jit_compile)
    return [encoder.decode_candidates(ids, log_probs, num_results)
            for ids, log_probs in zip(decoded.ids, decoded.log_probs)]
