"""Dynamic batching: concurrent decoding requests, decoded together in compiled batches.

The compiled batch decoder answers a thousand texts in about the time of a few single ones
(see :doc:`/performance`), so a service that decodes each request alone wastes most of its
time. :class:`DynamicBatcher` gathers the requests of an ``asyncio`` program for a few
milliseconds and decodes them together. It is what :mod:`shorttext_s2s.serving` uses, and
needs nothing beyond the core library.
"""

import asyncio
import contextlib
import functools
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

from ..decoding.engine import LENGTH_BUCKET

__all__ = ["DynamicBatcher"]

logger = logging.getLogger(__name__)

#: Per input, up to ``num_results`` ``(text, log-probability)`` pairs, best first.
Found = List[List[Tuple[str, float]]]


@dataclass(eq=False)
class _Request:
    texts: List[str]
    strategy: Any
    seed: Optional[int]
    num_results: int
    future: asyncio.Future
    arrival: float
    features: Optional[List[Optional[str]]] = None

    def key(self) -> Any:
        # A seeded sample is decoded alone: where a row sits in a batch changes its random
        # numbers, and the same seed must give the answer decode_batch() gives with it.
        return ("alone", id(self)) if self.seed is not None else self.strategy.cache_key()


class DynamicBatcher:
    """Gathers concurrent decoding requests and decodes them together, off the event loop.

    The first waiting request waits at most ``max_delay`` seconds for others; then every
    waiting request (up to ``max_batch`` texts) is taken, grouped by decoding setting, and
    each group is decoded in one call of the compiled decoder, in a worker thread. While a
    batch decodes, new requests queue up and form the next one. Sampling requests with a
    seed are decoded alone, so they get what ``decode_batch`` gives with that seed.

    Args:
        generator: a trained :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator`.
        max_delay: seconds the first request waits for others. Defaults to 0.005.
        max_batch: most texts decoded in one call. Defaults to 256.
        enabled: if False, each request is decoded alone (to measure what batching gains).

    Attributes:
        requests: requests answered so far.
        batches: decoding calls made so far.
        restarts: times its task had died and was started again.

    Example (inside a coroutine)::

        batcher = DynamicBatcher(generator)
        found = await batcher.decode(["Hi."], get_strategy("greedy"))  # [[("Salut.", -0.4)]]
        await batcher.close()
    """

    def __init__(self, generator: Any, max_delay: float = 0.005, max_batch: int = 256,
                 enabled: bool = True) -> None:
        self.generator = generator
        self.max_delay = float(max_delay)
        self.max_batch = int(max_batch)
        self.enabled = bool(enabled)
        self.requests = 0
        self.batches = 0
        #: Times the task had stopped with an error and a request started it again.
        self.restarts = 0
        self._pending: Deque[_Request] = deque()
        # Taken from the queue and not answered yet: the groups of the batch under way.
        self._taken: List[_Request] = []
        self._queued_texts = 0
        self._wake: Optional[asyncio.Event] = None
        self._task: Optional[asyncio.Task] = None
        # One thread: the compiled decoder uses every core on its own, and one batch at a
        # time is what lets the next one grow while it runs.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="shorttext-s2s-decode")

    async def decode(self, texts: Sequence[str], strategy: Any, seed: Optional[int] = None,
                     num_results: int = 1,
                     features: Optional[Sequence[Optional[str]]] = None) -> Found:
        """Decode ``texts`` together with the requests that arrive meanwhile.

        Args:
            texts: the input texts.
            strategy: a :class:`~shorttext_s2s.decoding.DecodingStrategy`.
            seed: random seed for sampling. Defaults to None.
            num_results: most ``(text, log-probability)`` pairs per input (beam search).
            features: each text's tags, for a model trained with features. Defaults to none.

        Returns:
            Per input, up to ``num_results`` ``(text, log_probability)`` pairs, best first.
        """
        texts = list(texts)
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        self.ensure_running()
        # Only sampling reads the seed; dropping it elsewhere lets those requests merge.
        request = _Request(texts, strategy, seed if strategy.stochastic else None,
                           num_results, loop.create_future(), loop.time(),
                           None if features is None else list(features))
        self._pending.append(request)
        self._queued_texts += len(texts)
        self._wake.set()
        return await request.future

    @property
    def running(self) -> bool:
        """Whether the task that gathers and decodes requests is running (False before the
        first request, and after the task died: the next request starts it again)."""
        return self._task is not None and not self._task.done()

    def ensure_running(self) -> Optional[BaseException]:
        """Start the task that gathers and decodes requests if it is not running (inside the
        event loop); return the error it had died of, if it had (``restarts`` counts them),
        else None."""
        if self.running:
            return None
        died = None
        if self._task is not None and not self._task.cancelled():
            died = self._task.exception()
        if died is not None:
            self.restarts += 1
            logger.error("the batcher's task had stopped (%s: %s); started again",
                         type(died).__name__, died)
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return died

    def _warm_up_plan(self) -> List[Tuple[int, int]]:
        """The (input length, batch size) shapes a request can meet."""
        maxlen = self.generator.maxlen
        lengths = sorted({min(maxlen, step) for step in
                          range(LENGTH_BUCKET, maxlen + LENGTH_BUCKET, LENGTH_BUCKET)})
        sizes = [1 << power for power in range((self.max_batch - 1).bit_length() + 1)]
        return [(length, size) for length in lengths for size in sizes]

    def warm_up_shapes(self, strategies: Sequence[Any]) -> int:
        """How many shapes :meth:`warm_up` compiles for ``strategies``."""
        return len(strategies) * len(self._warm_up_plan())

    def warm_up(self, strategies: Sequence[Any]) -> int:
        """Compile the decoder for every batch size and input length a request can meet.

        Blocking; call it before serving (or in a thread).

        Args:
            strategies: the strategies to compile.

        Returns:
            How many shapes were decoded.
        """
        shapes = 0
        separator = self.generator.encoder.source_sep or ""
        for strategy in strategies:
            for length, size in self._warm_up_plan():
                # length - 1 units and the end signal fill the length bucket exactly.
                text = separator.join(["a"] * (length - 1))
                self.generator.decode_scored([text] * size, strategy, 0, warn=False)
                shapes += 1
        return shapes

    async def close(self) -> None:
        """Stop gathering; every request not answered yet fails with ``RuntimeError``: those
        waiting, and those of the batch under way (its decoding is not waited for)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        unanswered = self._taken + list(self._pending)
        self._taken, self._pending = [], deque()
        self._queued_texts = 0
        for request in unanswered:
            if not request.future.done():
                request.future.set_exception(RuntimeError("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if self.enabled:
                wait = self._pending[0].arrival + self.max_delay - loop.time()
                while wait > 0 and self._queued_texts < self.max_batch:
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
                    wait = self._pending[0].arrival + self.max_delay - loop.time()
            try:
                groups = self._take()
                for group in groups:
                    await self._decode_group(group)
            except Exception as exc:  # the task dies; what it had taken must not wait forever
                for request in self._taken:
                    if not request.future.done():
                        request.future.set_exception(exc)
                self._taken = []
                if self._pending:  # nor what waits: a new task takes it once this one ends
                    loop.call_soon(self.ensure_running)
                raise
            # (Cancelled by close(), it leaves what it had taken for close() to fail.)
            self._taken = []

    def _take(self) -> List[List[_Request]]:
        groups: Dict[Any, List[_Request]] = {}
        count = 0
        while self._pending and (count == 0 or (
                self.enabled and count + len(self._pending[0].texts) <= self.max_batch)):
            request = self._pending.popleft()
            self._taken.append(request)  # answered, or failed, whatever happens from here
            self._queued_texts -= len(request.texts)
            if request.future.done():  # the client went away
                continue
            groups.setdefault(request.key(), []).append(request)
            count += len(request.texts)
        return list(groups.values())

    async def _decode_group(self, group: List[_Request]) -> None:
        texts = [text for request in group for text in request.texts]
        features = None
        if any(request.features is not None for request in group):
            features = [tags for request in group
                        for tags in (request.features or [None] * len(request.texts))]
        num_results = max(request.num_results for request in group)
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                self._executor, functools.partial(
                    self.generator.decode_scored, texts, group[0].strategy, group[0].seed,
                    num_results=num_results, features=features, warn=False))
        except Exception as exc:  # handed to each request, whose handler reports it
            for request in group:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        self.batches += 1
        start = 0
        for request in group:
            part = found[start:start + len(request.texts)]
            start += len(request.texts)
            self.requests += 1
            if not request.future.done():
                request.future.set_result([each[:request.num_results] for each in part])
