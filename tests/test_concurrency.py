"""Several threads decoding with one model get what sequential decoding gives."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

THREADS = 8


def _calls(pairs):
    """A mix of calls: greedy batches, single greedy texts, seeded sampling, odd inputs."""
    sources = [source for source, _ in pairs]
    calls = [("batch", tuple(sources[i:i + 5]), "greedy", None) for i in range(0, 20, 5)]
    calls += [("one", text, "greedy", None) for text in sources[:6] + ["", "😀\udce9", "e\u0301"]]
    calls += [("batch", tuple(sources[:3]), "sample", seed) for seed in (1, 2, 3)]
    calls += [("one", text, "sample", 17) for text in sources[6:10]]
    return calls


def _run(generator, call):
    how, texts, strategy, seed = call
    if how == "batch":
        return generator.decode_batch(list(texts), strategy=strategy, seed=seed)
    return generator.decode(texts, strategy=strategy, seed=seed)


@pytest.mark.slow
def test_threads_decode_as_sequential(trained_generator, tiny_pairs):
    calls = _calls(tiny_pairs)
    expected = [_run(trained_generator, call) for call in calls]
    # Each thread runs every call, in its own shuffled order, all at once after a barrier.
    barrier = threading.Barrier(THREADS)

    def worker(index):
        order = list(range(len(calls)))
        random.Random(index).shuffle(order)
        barrier.wait()
        return {i: _run(trained_generator, calls[i]) for i in order}

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    for result in results:
        assert [result[i] for i in range(len(calls))] == expected


@pytest.mark.slow
def test_threads_sharing_a_first_compilation(tmp_path, tiny_pairs, trained_generator):
    # A freshly loaded model of a new shape: the threads race to compile the same functions.
    import keras

    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from tools.fuzz_loader import mark_trained

    keras.utils.set_random_seed(3)
    generator = CharBasedSeq2SeqGenerator(SentenceToCharVecEncoder("abcdef"), latent_dim=12,
                                          maxlen=10, network="lstm")
    generator.compile()
    mark_trained(generator)
    texts = ["abc", "fed", "", "zzz"]
    barrier = threading.Barrier(THREADS)

    def worker(_):
        barrier.wait()
        return generator.decode_batch(texts), generator.decode(texts[0], strategy="sample",
                                                               seed=5)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    expected = (generator.decode_batch(texts), generator.decode(texts[0], strategy="sample",
                                                                seed=5))
    assert all(result == expected for result in results)
