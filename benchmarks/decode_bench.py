"""Time the compiled decoder against the Keras example's per-character ``predict()`` loop.

Builds one model of the example's size (latent 256, vocabulary and ``maxlen`` from the first
10,000 pairs of fra.txt) with seeded random weights, identical on every backend (the timing
depends on the weights' shapes and the output lengths, not on their values; ``--epochs``
trains instead), and times on the same weights:

1. the example's loop: ``predict()`` once per output character, one sentence at a time;
2. ``decode()``, one sentence per call, on the same sentences;
3. ``decode_batch()`` of 1,000 sentences.

It prints sentences per second for each and the speed-ups, and checks that the three give
the same greedy outputs. Usage (from the repository root)::

    nice python benchmarks/decode_bench.py            # ~2 min on a 2-core CPU
    nice python benchmarks/decode_bench.py --quick    # under a minute
    KERAS_BACKEND=jax nice python benchmarks/decode_bench.py

``--compaction MODEL.h5`` times instead greedy ``decode_batch()`` of a trained model on
2,000 English sentences of fra.txt drawn at random, with and without the engine carrying a
batch's last running rows on in smaller batches (``engine.COMPACT_ROWS``), alternately, and
checks that both give the same outputs.

``--onnx MODEL.h5`` exports a trained model to ONNX (greedy, and beam with
``--beam-width``) and times, on 2,000 English sentences of fra.txt drawn at random, the
library's compiled ``decode_batch()`` against :class:`shorttext_s2s.export.runtime.OnnxDecoder`
(ONNX Runtime with as many threads as the process may use), and counts the inputs whose
outputs (and beam candidates) are the same, with the largest log-probability difference.
Run it once as it is and once under ``taskset -c 0`` for one thread::

    nice python benchmarks/decode_bench.py --onnx fra.h5
    taskset -c 0 nice python benchmarks/decode_bench.py --onnx fra.h5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="tab-separated pairs file (default: %(default)s)")
    parser.add_argument("--pairs", type=int, default=10000,
                        help="pairs read for vocabulary, maxlen and inputs (default 10000)")
    parser.add_argument("--latent", type=int, default=256, help="LSTM units (default 256)")
    parser.add_argument("--epochs", type=int, default=0,
                        help="training epochs on all pairs before timing (default 0: random "
                             "weights, the same on every backend)")
    parser.add_argument("--seed-sentences", type=int, default=5,
                        help="sentences decoded by the example's loop (default 5)")
    parser.add_argument("--batch", type=int, default=1000,
                        help="sentences in the batch decode (default 1000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed repetitions of the fast decoders; the best counts")
    parser.add_argument("--beam-width", type=int, default=5,
                        help="also time beam search of the batch with this width (default 5; "
                             "0, or --quick, skips it)")
    parser.add_argument("--compare-tf-jit", action="store_true",
                        help="TensorFlow only: then time decode() and decode_batch() with and "
                             "without XLA, interleaved over 4 rounds (best of each)")
    parser.add_argument("--quick", action="store_true",
                        help="2 seed-loop sentences and 1 repeat: under a minute")
    parser.add_argument("--compaction", type=Path, default=None, metavar="MODEL",
                        help="time a trained model's greedy batches with and without "
                             "compaction instead")
    parser.add_argument("--onnx", type=Path, default=None, metavar="MODEL",
                        help="time a trained model's ONNX export against the library instead")
    args = parser.parse_args(argv)
    if args.quick:
        args.seed_sentences, args.repeats, args.beam_width = 2, 1, 0
    return args


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.compaction is not None:
        return compare_compaction(args.compaction, args.data, args.repeats)
    if args.onnx is not None:
        return compare_onnx(args.onnx, args.data, args.repeats, args.beam_width)
    import keras
    import numpy as np

    from seed_reference import seed_decode
    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from shorttext_s2s.data import read_pairs
    from shorttext_s2s.decoding import get_strategy, trace_count
    pairs = read_pairs(args.data, limit=args.pairs)
    encoder = SentenceToCharVecEncoder.from_texts([s + t for s, t in pairs])
    maxlen = max(max(len(s), len(t)) for s, t in pairs) + 1
    keras.utils.set_random_seed(0)
    # The Keras example's network, which the example's loop decodes.
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=args.latent, maxlen=maxlen,
                                          network="lstm")
    start = time.perf_counter()
    if args.epochs:
        generator.train_pairs(pairs, epochs=args.epochs, batch_size=64, verbose=2,
                              validation_split=0)  # every epoch of the figures before
    else:
        # One step marks the model trained; then the same random weights on every backend
        # (outputs then run to maxlen - 1 characters: the slowest case for every method).
        generator.train_pairs(pairs[:64], epochs=1, batch_size=64, verbose=0)
        rng = np.random.default_rng(0)
        for layer in generator.seq2seq.model.layers:
            layer.set_weights([rng.normal(0.0, 0.1, w.shape).astype("float32")
                               for w in layer.get_weights()])
    train_s = time.perf_counter() - start

    batch_texts = [s for s, _ in pairs][:args.batch]
    step = max(1, len(batch_texts) // args.seed_sentences)
    seed_texts = batch_texts[::step][:args.seed_sentences]
    print(f"backend={keras.backend.backend()} keras={keras.__version__} "
          f"cpus={os.cpu_count()} latent={args.latent} vocabulary={len(encoder)} "
          f"maxlen={maxlen} training={train_s:.1f}s")
    print("load average at start (other processes share the CPU if above ~0): "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))

    start = time.perf_counter()
    seed_out = [seed_decode(generator, text) for text in seed_texts]
    seed_s = time.perf_counter() - start
    seed_chars = sum(len(text) for text in seed_out)

    traces = trace_count()
    start = time.perf_counter()
    single_out = [generator.decode(text, stochastic=False) for text in seed_texts]
    single_compile_s = time.perf_counter() - start
    single_s = best_time(lambda: [generator.decode(text, stochastic=False)
                                  for text in seed_texts], args.repeats)
    start = time.perf_counter()
    batch_out = generator.decode_batch(batch_texts)
    batch_compile_s = time.perf_counter() - start
    batch_s = best_time(lambda: generator.decode_batch(batch_texts), args.repeats)
    rows = []
    if args.beam_width:
        beam = get_strategy("beam", beam_width=args.beam_width)
        generator.decode_batch(batch_texts, strategy=beam)
        beam_s = best_time(lambda: generator.decode_batch(batch_texts, strategy=beam),
                           args.repeats)
        rows.append((f"decode_batch() of {len(batch_texts)}, beam {args.beam_width}",
                     len(batch_texts), beam_s, len(batch_texts) / beam_s))

    seed_rate = len(seed_texts) / seed_s
    single_rate = len(seed_texts) / single_s
    batch_rate = len(batch_texts) / batch_s
    print(f"outputs: {seed_chars / len(seed_texts):.1f} characters per seed-loop sentence; "
          f"decode() equals the seed loop: {single_out == seed_out}; decode_batch() equals "
          f"it too: {batch_out[::step][:len(seed_texts)] == seed_out}")
    print(f"compiled functions traced: {trace_count() - traces}; first calls (with "
          f"compilation): decode() {single_compile_s:.2f}s for {len(seed_texts)} sentences, "
          f"decode_batch() {batch_compile_s:.2f}s")
    print(f"{'method':<40}{'sentences':>10}{'seconds':>10}{'sentences/s':>14}{'speed-up':>11}")
    for name, count, seconds, rate in (
            ("seed loop (predict per character)", len(seed_texts), seed_s, seed_rate),
            ("decode(), one sentence per call", len(seed_texts), single_s, single_rate),
            (f"decode_batch() of {len(batch_texts)}", len(batch_texts), batch_s, batch_rate),
            *rows):
        print(f"{name:<40}{count:>10}{seconds:>10.3f}{rate:>14.2f}{rate / seed_rate:>10.0f}x")
    print("load average at end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    if args.compare_tf_jit and keras.backend.backend() == "tensorflow":
        compare_tf_jit(generator, seed_texts, batch_texts)


def compare_compaction(model_path: Path, data: Path, repeats: int, count: int = 2000,
                       batch: int = 256) -> None:
    """Greedy batches of a trained model with and without compaction, alternately."""
    import random

    import keras

    from shorttext_s2s import loadCharBasedSeq2SeqGenerator
    from shorttext_s2s.data import read_pairs
    from shorttext_s2s.decoding import engine

    generator = loadCharBasedSeq2SeqGenerator(model_path)
    texts = random.Random(0).sample([source for source, _ in read_pairs(data)], count)

    def decode():
        return [output for start in range(0, count, batch)
                for output in generator.decode_batch(texts[start:start + batch])]

    default = engine.COMPACT_ROWS
    modes = {"whole batches": 10 ** 9, "compacted": default}
    outputs, times = {}, {name: float("inf") for name in modes}
    for name, rows in modes.items():  # an untimed pass each compiles the functions
        engine.COMPACT_ROWS = rows
        outputs[name] = decode()
    for _ in range(repeats):
        for name, rows in modes.items():
            engine.COMPACT_ROWS = rows
            start = time.perf_counter()
            decode()
            times[name] = min(times[name], time.perf_counter() - start)
    engine.COMPACT_ROWS = default
    lengths = [len(text) for text in outputs["compacted"]]
    print(f"backend={keras.backend.backend()} model={model_path} network="
          f"{generator.network_name} {count} inputs in batches of {batch}; outputs "
          f"{sum(lengths) / count:.1f} characters on average, longest {max(lengths)}; same "
          f"outputs: {outputs['compacted'] == outputs['whole batches']}")
    for name, seconds in times.items():
        print(f"{name:<16}{seconds:>8.2f} s{count / seconds:>10.0f} sentences/s")


def compare_onnx(model_path: Path, data: Path, repeats: int, beam_width: int,
                 count: int = 2000) -> None:
    """A trained model's ONNX export against the library's compiled decoder."""
    import math
    import random
    import tempfile
    import warnings

    import keras

    from shorttext_s2s import InputWarning, loadCharBasedSeq2SeqGenerator
    from shorttext_s2s.data import read_pairs
    from shorttext_s2s.decoding import BeamSearchStrategy, GreedyStrategy, decode_texts
    from shorttext_s2s.export.runtime import OnnxDecoder

    warnings.simplefilter("ignore", InputWarning)
    generator = loadCharBasedSeq2SeqGenerator(model_path)
    texts = random.Random(0).sample(sorted({source for source, _ in read_pairs(data)}), count)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"backend={keras.backend.backend()} model={model_path} network={generator.network_name} "
          f"latent={generator.latent_dim} maxlen={generator.maxlen} inputs={count} "
          f"threads={threads}; load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    strategies = [GreedyStrategy()] + ([BeamSearchStrategy(beam_width=beam_width)]
                                       if beam_width else [])
    print(f"{'strategy':<10}{'library s/s':>13}{'ONNX s/s':>11}{'export s':>10}"
          f"{'same outputs':>14}{'max |Δ log p|':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in strategies:
            width = strategy.candidates_per_input()

            def library():
                return decode_texts(generator.seq2seq.network, generator.encoder,
                                    generator.maxlen, texts, strategy, num_results=width,
                                    reverse_input=generator.reverse_input)

            path = os.path.join(tmp, f"{strategy.name}.onnx")
            start = time.perf_counter()
            generator.export(path, format="onnx", strategy=strategy)
            export_s = time.perf_counter() - start
            decoder = OnnxDecoder(path, threads=threads)
            theirs, ours = library(), decoder.decode_scored(texts)  # first calls compile
            library_s = best_time(library, repeats)
            onnx_s = best_time(lambda: decoder.decode_scored(texts), repeats)
            same = sum([t for t, _ in a] == [t for t, _ in b] for a, b in zip(ours, theirs))
            gap = max((abs(x - y) for a, b in zip(ours, theirs)
                       if [t for t, _ in a] == [t for t, _ in b]
                       for (_, x), (_, y) in zip(a, b) if math.isfinite(x)), default=0.0)
            name = strategy.name + (f" {beam_width}" if strategy.name == "beam" else "")
            print(f"{name:<10}{count / library_s:>13.0f}{count / onnx_s:>11.0f}"
                  f"{export_s:>10.1f}{same:>9}/{count}{gap:>15.2e}")


def compare_tf_jit(generator, seed_texts, batch_texts) -> None:
    """Time both TensorFlow settings alternately, so that load changes hit both alike."""
    from shorttext_s2s.decoding import GreedyStrategy, decode_texts

    def decode(texts, jit):
        return decode_texts(generator.seq2seq.network, generator.encoder,
                            generator.maxlen, texts, GreedyStrategy(), jit_compile=jit)

    calls = {"decode() per sentence": lambda jit: [decode([text], jit) for text in seed_texts],
             f"decode_batch() of {len(batch_texts)}": lambda jit: decode(batch_texts, jit)}
    times = {}
    for jit in (True, False):  # compile both first
        for call in calls.values():
            call(jit)
    for _ in range(4):
        for jit in (True, False):
            for name, call in calls.items():
                times.setdefault((name, jit), []).append(best_time(lambda: call(jit), 1))
    for name in calls:
        per = len(seed_texts) if name.startswith("decode()") else 1
        with_xla, without = min(times[name, True]) / per, min(times[name, False]) / per
        print(f"{name}: XLA {with_xla:.4f}s, no XLA {without:.4f}s, "
              f"XLA speed-up {without / with_xla:.2f}x")


if __name__ == "__main__":
    main()
