"""Training benchmark: the Keras example's recipe against the library, side by side.

Both use the first ``--pairs`` pairs of fra.txt with the same model size, batch size and
optimizer. The example trains on the first 80 % and validates on the last 20 %
(``validation_split=0.2``); those last 20 % are the test pairs both are scored on, which
neither trains on. The library takes its own validation pairs (for early stopping) from the
end of its 80 % (``--library-validation``, 10 %), so it trains on fewer pairs than the
example. The library reads its inputs backwards (``reverse_input=True``; ``--forward-input``
turns that off) with a bidirectional encoder (``bidirectional=True``; ``--unidirectional``
turns that off, giving the example's network). Each run happens in its own subprocess so
its peak memory (RSS) is its own:

* samples/s: training pairs per second of training, steady state (median epoch after the
  first, which includes compilation), and of the fastest epoch; samples per CPU-second of
  the process, steadier than wall-clock time on a shared machine;
* peak RSS after data preparation, and after training;
* held-out exact match and chrF (greedy decoding) after the same number of epochs
  (``--epochs``) and after the same wall-clock budget of training (``--budget`` seconds; the
  library then uses its validation-based early stopping with best-weight restore, the example
  keeps its last weights as it does); for the library also with beam search (width 5),
  which the example does not have; and, from the same budget run, greedy chrF of each recipe
  as it stood after ``--snapshots`` seconds (the example's last weights before then, the
  library's best validation epoch so far);
* ``--modes recipe``: the example's whole recipe as it is written (``--recipe-epochs``, 100,
  keeping its last weights), then the library given the wall-clock seconds that took (with
  early stopping), both also scored at the ``--snapshots`` times;
* ``--scale``: only the data preparation of *all* pairs of the file, peak RSS of both, in a
  process that imports only what the preparation needs and in one that imports Keras first;
* ``--speed N``: only samples/s, alternating the recipes (seed, library, seed, ...) so that
  each library run is compared with the seed runs just before and after it.

Usage (from the repository root; nice it on a shared machine)::

    nice python benchmarks/train_bench.py              # full comparison (about an hour)
    nice python benchmarks/train_bench.py --modes recipe --snapshots 150,300,600,1200
    nice python benchmarks/train_bench.py --speed 3 --epochs 4 --test 10   # speed only
    nice python benchmarks/train_bench.py --quick      # a smoke run, under two minutes
    nice python benchmarks/train_bench.py --scale      # memory of preparing all pairs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def read_raw_pairs(path: str, start: int, count: int):
    """Pairs ``start .. start + count`` of the file, read the example's way (split on tabs)."""
    with open(path, "r", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    lines = [line for line in lines if line]
    return [tuple(line.split("\t")[:2]) for line in lines[start:start + count]]


class EpochTimer:
    """Keras callback timing each epoch, stopping at a wall-clock budget, taking snapshots.

    ``snapshots`` are times (seconds of training) at which the model as it stood is kept:
    the weights at the last epoch end before that time, or with ``keep_best`` the weights of
    the epoch with the lowest ``val_loss`` so far (what early stopping would restore had
    training stopped then).
    """

    def __new__(cls, budget=None, snapshots=(), keep_best=False):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.budget = budget
                self.epoch_times = []
                self.epoch_cpu = []
                self.started = None
                self.cut_short = False  # the last epoch was stopped by the budget
                self.pending = sorted(snapshots)
                self.snapshots = {}  # time -> weights
                self._kept = None  # the weights a snapshot taken now would hold
                self._best = float("inf")

            def on_train_begin(self, logs=None):
                self.started = time.perf_counter()

            def on_epoch_begin(self, epoch, logs=None):
                self._epoch_start = time.perf_counter()
                self._epoch_cpu = time.process_time()

            def on_epoch_end(self, epoch, logs=None):
                now = time.perf_counter()
                self.epoch_times.append(now - self._epoch_start)
                self.epoch_cpu.append(time.process_time() - self._epoch_cpu)
                while self.pending and now - self.started > self.pending[0]:
                    self.snapshots[self.pending.pop(0)] = self._kept
                loss = (logs or {}).get("val_loss", float("inf"))
                improved = loss < self._best
                self._best = min(self._best, loss)
                if self.pending and (improved or not keep_best):
                    self._kept = self.model.get_weights()

            def on_train_end(self, logs=None):
                # Stopped early: later snapshots are the model as training left it.
                for time_s in self.pending:
                    self.snapshots[time_s] = None

            def on_train_batch_end(self, batch, logs=None):
                if self.budget is not None and time.perf_counter() - self.started > self.budget:
                    self.model.stop_training = True
                    self.cut_short = True

        return _Timer()


# --- the Keras example's recipe, as the example writes it ----------------------------------

def seed_prepare(args):
    import numpy as np

    input_texts, target_texts = [], []
    input_characters, target_characters = set(), set()
    with open(args.data, "r", encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines[: min(args.pairs, len(lines) - 1)]:
        # The example unpacks three columns; this copy of the file has two.
        input_text, target_text = line.split("\t")[:2]
        target_text = "\t" + target_text + "\n"
        input_texts.append(input_text)
        target_texts.append(target_text)
        for char in input_text:
            if char not in input_characters:
                input_characters.add(char)
        for char in target_text:
            if char not in target_characters:
                target_characters.add(char)
    input_characters = sorted(list(input_characters))
    target_characters = sorted(list(target_characters))
    num_encoder_tokens = len(input_characters)
    num_decoder_tokens = len(target_characters)
    max_encoder_seq_length = max([len(txt) for txt in input_texts])
    max_decoder_seq_length = max([len(txt) for txt in target_texts])
    input_token_index = dict([(char, i) for i, char in enumerate(input_characters)])
    target_token_index = dict([(char, i) for i, char in enumerate(target_characters)])
    encoder_input_data = np.zeros(
        (len(input_texts), max_encoder_seq_length, num_encoder_tokens), dtype="float32")
    decoder_input_data = np.zeros(
        (len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
    decoder_target_data = np.zeros(
        (len(input_texts), max_decoder_seq_length, num_decoder_tokens), dtype="float32")
    for i, (input_text, target_text) in enumerate(zip(input_texts, target_texts)):
        for t, char in enumerate(input_text):
            encoder_input_data[i, t, input_token_index[char]] = 1.0
        encoder_input_data[i, t + 1:, input_token_index[" "]] = 1.0
        for t, char in enumerate(target_text):
            decoder_input_data[i, t, target_token_index[char]] = 1.0
            if t > 0:
                decoder_target_data[i, t - 1, target_token_index[char]] = 1.0
        decoder_input_data[i, t + 1:, target_token_index[" "]] = 1.0
        decoder_target_data[i, t:, target_token_index[" "]] = 1.0
    return dict(data=(encoder_input_data, decoder_input_data, decoder_target_data),
                num_encoder_tokens=num_encoder_tokens, num_decoder_tokens=num_decoder_tokens,
                input_token_index=input_token_index, target_token_index=target_token_index,
                target_characters=target_characters,
                max_decoder_seq_length=max_decoder_seq_length, samples=len(input_texts))


def seed_train(args, prep, epochs, budget, snapshots=()):
    import keras

    latent_dim = args.latent
    encoder_inputs = keras.Input(shape=(None, prep["num_encoder_tokens"]))
    encoder = keras.layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None, prep["num_decoder_tokens"]))
    decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = keras.layers.Dense(prep["num_decoder_tokens"], activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer(budget, snapshots)
    encoder_input_data, decoder_input_data, decoder_target_data = prep["data"]
    model.fit([encoder_input_data, decoder_input_data], decoder_target_data,
              batch_size=args.batch, epochs=epochs, validation_split=0.2, verbose=0,
              callbacks=[timer])
    trained_samples = len(encoder_input_data) - int(len(encoder_input_data) * 0.2)

    # Inference models as the example builds them.
    encoder_model = keras.Model(encoder_inputs, encoder_states)
    state_h_in = keras.Input(shape=(latent_dim,))
    state_c_in = keras.Input(shape=(latent_dim,))
    out, h, c = decoder_lstm(decoder_inputs, initial_state=[state_h_in, state_c_in])
    decoder_model = keras.Model([decoder_inputs, state_h_in, state_c_in],
                                [decoder_dense(out), h, c])
    decode = lambda texts: seed_decode_batch(texts, prep, encoder_model, decoder_model)
    return timer, trained_samples, decode, model


def seed_decode_batch(texts, prep, encoder_model, decoder_model):
    """Greedy decoding as the example's decode_sequence, done for many inputs at once.

    Characters the example's vocabulary lacks are left out of the input (it has no unknown
    symbol); decoding stops at "\\n" or after max_decoder_seq_length characters, as it does.
    """
    import numpy as np

    index = prep["input_token_index"]
    outputs = []
    for start in range(0, len(texts), 256):
        chunk = texts[start:start + 256]
        length = max(len(t) for t in chunk)
        x = np.zeros((len(chunk), length, prep["num_encoder_tokens"]), dtype="float32")
        for i, text in enumerate(chunk):
            known = [c for c in text if c in index]
            for t, char in enumerate(known):
                x[i, t, index[char]] = 1.0
            x[i, len(known):, index[" "]] = 1.0
        h, c = [np.asarray(s) for s in encoder_model.predict_on_batch(x)]
        token = np.zeros((len(chunk), 1, prep["num_decoder_tokens"]), dtype="float32")
        token[:, 0, prep["target_token_index"]["\t"]] = 1.0
        decoded = [""] * len(chunk)
        done = np.zeros(len(chunk), dtype=bool)
        for _ in range(prep["max_decoder_seq_length"]):
            probs, h, c = decoder_model.predict_on_batch([token, h, c])
            best = np.asarray(probs)[:, -1, :].argmax(axis=1)
            for i, k in enumerate(best):
                char = prep["target_characters"][k]
                if not done[i]:
                    if char == "\n":
                        done[i] = True
                    else:
                        decoded[i] += char
            if done.all():
                break
            token = np.zeros_like(token)
            token[np.arange(len(chunk)), 0, best] = 1.0
            h, c = np.asarray(h), np.asarray(c)
        outputs.extend(decoded)
    return outputs


# --- the library ---------------------------------------------------------------------------

def library_prepare(args):
    # Only the readers and the encoder: preparing data imports neither Keras nor a backend.
    from shorttext_s2s.data import read_pairs
    from shorttext_s2s.encoder import SentenceToCharVecEncoder

    pairs = read_pairs(args.data, limit=args.pairs)
    encoder = SentenceToCharVecEncoder.from_texts(s + t for s, t in pairs)
    maxlen = max(max(len(s), len(t)) for s, t in pairs) + 1
    # The example trains on the first 80 % and validates on the last 20 %; those last 20 %
    # are the test pairs here, so the library takes its own validation pairs (for early
    # stopping) from the end of its 80 % and trains on fewer pairs than the example.
    held = int(len(pairs) * 0.2)
    own = int((len(pairs) - held) * args.library_validation)
    train, validation = pairs[:-held - own], pairs[-held - own:-held]
    # What training keeps in memory: the id arrays (train_pairs makes the same ones).
    ids = encoder.encode_pairs(train, maxlen)
    return dict(encoder=encoder, maxlen=maxlen, train=train, validation=validation, ids=ids,
                samples=len(pairs))


def library_train(args, prep, epochs, budget, snapshots=()):
    from shorttext_s2s import CharBasedSeq2SeqGenerator

    generator = CharBasedSeq2SeqGenerator(prep["encoder"], latent_dim=args.latent,
                                          maxlen=prep["maxlen"], network="lstm",
                                          reverse_input=not args.forward_input,
                                          bidirectional=not args.unidirectional)
    generator.compile(optimizer="rmsprop", jit_compile=True if args.jit else "auto")
    timer = EpochTimer(budget, snapshots, keep_best=True)
    generator.train_pairs(prep["train"], batch_size=args.batch, epochs=epochs,
                          validation_data=prep["validation"], verbose=0, seed=0,
                          callbacks=[timer],
                          early_stopping=args.patience if budget is not None else None)
    def decode(texts, strategy="greedy"):
        return [out for start in range(0, len(texts), 256)
                for out in generator.decode_batch(texts[start:start + 256], strategy=strategy)]

    return timer, len(prep["train"]), decode, generator.seq2seq.model


# --- one measured run, in its own process ---------------------------------------------------

def child(args):
    if args.mode != "prepare" or args.with_keras:
        import keras  # noqa: F401  (both scripts import it first: the same baseline)
    result = {"recipe": args.recipe, "mode": args.mode, "with_keras": "keras" in sys.modules}
    result["rss_imports_mb"] = current_rss_mb()
    started = time.perf_counter()
    prep = (seed_prepare if args.recipe == "seed" else library_prepare)(args)
    result["prepare_s"] = time.perf_counter() - started
    result["peak_rss_prepare_mb"] = peak_rss_mb()
    result["pairs"] = prep["samples"]
    if args.mode == "prepare":
        print("RESULT " + json.dumps(result))
        return
    import keras

    # Seeding imports TensorFlow when installed: done after the preparation is measured.
    keras.utils.set_random_seed(args.seed)
    if args.mode == "epochs":
        epochs, budget = args.epochs, None
    elif args.mode == "recipe" and args.recipe == "seed":
        # The example's recipe as written: its number of epochs, its last weights.
        epochs, budget = args.recipe_epochs, None
    else:
        # A budget; in the recipe run the parent sets it to the seconds the example took.
        epochs, budget = 10 ** 6, args.budget
    train = seed_train if args.recipe == "seed" else library_train
    started = time.perf_counter()
    snapshots = ([] if args.mode == "epochs" else
                 [t for t in args.snapshots if budget is None or t < budget])
    timer, trained, decode, model = train(args, prep, epochs, budget, snapshots)
    result["train_s"] = time.perf_counter() - started
    result["epochs_run"] = len(timer.epoch_times)
    # Steady state: leave out the first epoch (compilation) and one the budget cut short.
    steady = slice(1, -1 if timer.cut_short else None)
    times = timer.epoch_times[steady] or timer.epoch_times
    result["epoch_s"] = [round(t, 2) for t in timer.epoch_times]
    result["samples_per_s"] = trained / statistics.median(times)
    result["samples_per_s_best"] = trained / min(times)
    # CPU-seconds of the whole process (all its threads): unlike wall-clock time, they do
    # not grow when other machines' work takes the CPU away, so they compare recipes more
    # steadily on a shared machine.
    cpu = timer.epoch_cpu[steady] or timer.epoch_cpu
    result["samples_per_cpu_s"] = trained / statistics.median(cpu)
    result["peak_rss_train_mb"] = peak_rss_mb()
    # Test pairs: the example's validation share (the last 20 %), which neither trains on.
    test = read_raw_pairs(args.data, args.pairs - int(args.pairs * 0.2), args.pairs)[:args.test]
    sources, references = [s for s, _ in test], [t for _, t in test]
    started = time.perf_counter()
    outputs = decode(sources)
    result["decode_s"] = time.perf_counter() - started
    from shorttext_s2s.evaluation import score_texts
    result.update(score_texts(outputs, references, metrics=("exact_match", "chrf")))
    result["examples"] = [[s, o] for (s, _), o in list(zip(test, outputs))[:3]]
    final_weights = model.get_weights()
    result["snapshots"] = {}
    for time_s, weights in sorted(timer.snapshots.items()):
        if weights is None:  # training had stopped by then: the model just scored
            result["snapshots"][str(time_s)] = round(result["chrf"], 2)
            continue
        model.set_weights(weights)
        scores = score_texts(decode(sources), references, metrics=("chrf",))
        result["snapshots"][str(time_s)] = round(scores["chrf"], 2)
    model.set_weights(final_weights)
    if args.recipe == "library":
        # What the library decodes best with; the example has only its greedy loop.
        started = time.perf_counter()
        outputs = decode(sources, strategy="beam")
        result["beam_decode_s"] = time.perf_counter() - started
        beam = score_texts(outputs, references, metrics=("exact_match", "chrf"))
        result["beam_exact_match"], result["beam_chrf"] = beam["exact_match"], beam["chrf"]
    print("RESULT " + json.dumps(result))


def run_child(args, recipe, mode, **overrides):
    command = [sys.executable, __file__, "--child", "--recipe", recipe, "--mode", mode,
               "--data", str(args.data), "--pairs", str(overrides.get("pairs", args.pairs)),
               "--latent", str(args.latent), "--batch", str(args.batch),
               "--epochs", str(args.epochs),
               "--budget", str(overrides.get("budget", args.budget)),
               "--recipe-epochs", str(args.recipe_epochs),
               "--test", str(args.test), "--patience", str(args.patience),
               "--library-validation", str(args.library_validation),
               "--seed", str(args.seed),
               "--snapshots", ",".join(str(t) for t in args.snapshots)] + (
                   ["--jit"] if args.jit else []) + (
                   ["--forward-input"] if args.forward_input else []) + (
                   ["--unidirectional"] if args.unidirectional else []) + (
                   ["--with-keras"] if overrides.get("with_keras") else [])
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["backend"] = env["KERAS_BACKEND"]
            print(json.dumps(result), flush=True)
            return result
    sys.stderr.write(done.stderr[-3000:])
    raise RuntimeError(f"{recipe}/{mode} failed with exit status {done.returncode}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--pairs", type=int, default=10000)
    parser.add_argument("--latent", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=15,
                        help="epochs of the same-epochs comparison")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="seconds of training of the same-budget comparison")
    parser.add_argument("--recipe-epochs", type=int, default=100,
                        help="epochs of the example's recipe in the recipe comparison")
    parser.add_argument("--snapshots", default="150,300",
                        type=lambda text: [float(t) for t in text.split(",") if t],
                        help="in the budget and recipe runs, also score the model as it "
                             "stood after these many seconds of training (comma-separated)")
    parser.add_argument("--library-validation", type=float, default=0.1,
                        help="share of the library's training pairs it validates on")
    parser.add_argument("--patience", type=int, default=5,
                        help="the library's early-stopping patience in the budget run")
    parser.add_argument("--test", type=int, default=2000,
                        help="test pairs, taken from the last 20 %% of --pairs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jit", action="store_true", help="compile the library with XLA")
    parser.add_argument("--forward-input", action="store_true",
                        help="train the library without reverse_input (as the example does)")
    parser.add_argument("--unidirectional", action="store_true",
                        help="train the library with one encoder LSTM, the example's network, "
                             "instead of a bidirectional encoder")
    parser.add_argument("--quick", action="store_true", help="a smoke run under two minutes")
    parser.add_argument("--scale", action="store_true",
                        help="only prepare all pairs of the file and report peak memory")
    parser.add_argument("--speed", type=int, default=0, metavar="ROUNDS",
                        help="only samples/s: alternate seed and library --epochs runs "
                             "ROUNDS times (then seed once more)")
    parser.add_argument("--only", choices=["seed", "library"], default=None)
    parser.add_argument("--modes", default="epochs,budget")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--with-keras", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    if args.quick:
        args.pairs, args.epochs, args.budget, args.test, args.latent = 1000, 2, 8.0, 100, 64
    recipes = [args.only] if args.only else ["seed", "library"]
    results = []
    if args.scale:
        with open(args.data, encoding="utf-8") as handle:
            total = sum(1 for line in handle if line.strip())
        # Preparing data runs no model: each recipe is measured in a process that imports only
        # what its preparation needs (NumPy for the example; the library's readers and
        # encoder), then again with Keras on TensorFlow imported first, as a script that
        # goes on to train in the same process does.
        for with_keras in (False, True):
            for recipe in recipes:
                results.append(run_child(args, recipe, "prepare", pairs=total,
                                         with_keras=with_keras))
    elif args.speed:
        # Other work on a shared machine changes speed by a factor of two from one minute to
        # the next: alternate the recipes, and compare each library run with the seed runs
        # right before and after it.
        for _ in range(args.speed):
            for recipe in recipes:
                results.append(run_child(args, recipe, "epochs"))
        results.append(run_child(args, recipes[0], "epochs"))
    else:
        for mode in args.modes.split(","):
            if mode == "recipe":
                # The library gets the wall-clock time the example's whole recipe took.
                example = run_child(args, "seed", mode)
                results += [example, run_child(args, "library", mode,
                                               budget=example["train_s"])]
                continue
            for recipe in recipes:
                results.append(run_child(args, recipe, mode))
    nan = float("nan")
    print("\n                                      samples/s      samples/  peak RSS MiB"
          "                       greedy       beam")
    print("imports     recipe   mode     pairs  median  best  CPU-s  prepare (+imports)  "
          "train  epochs  exact  chrF  exact  chrF")
    for r in results:
        imports = r["backend"] if r["with_keras"] else "data only"
        print(f"{imports:11} {r['recipe']:8} {r['mode']:8} {r['pairs']:6} "
              f"{r.get('samples_per_s', nan):6.0f} {r.get('samples_per_s_best', nan):5.0f} "
              f"{r.get('samples_per_cpu_s', nan):6.0f}  {r['peak_rss_prepare_mb']:7.0f} "
              f"(+{r['peak_rss_prepare_mb'] - r['rss_imports_mb']:6.0f})  "
              f"{r.get('peak_rss_train_mb', nan):6.0f}  {r.get('epochs_run', 0):6}  "
              f"{r.get('exact_match', nan):.3f} {r.get('chrf', nan):5.1f}  "
              f"{r.get('beam_exact_match', nan):.3f} {r.get('beam_chrf', nan):5.1f}")
    for mode in ("budget", "recipe"):
        runs = {r["recipe"]: r for r in results if r["mode"] == mode}
        if len(runs) != 2:
            continue
        seed, library = runs["seed"], runs["library"]
        points = [(float(t), seed["snapshots"][t], library["snapshots"][t])
                  for t in seed["snapshots"] if t in library["snapshots"]]
        points.append((seed["train_s"] if mode == "recipe" else args.budget, seed["chrf"],
                       library["chrf"]))
        print(f"{mode} run, greedy chrF after the same seconds of training (seed vs library): "
              + ", ".join(f"{t:.0f} s: {s:.1f} vs {l:.1f} ({l - s:+.1f})"
                          for t, s, l in points))
    if args.speed:
        for key, label in (("samples_per_s", "samples/s, median epoch"),
                           ("samples_per_s_best", "samples/s, fastest epoch"),
                           ("samples_per_cpu_s", "samples per CPU-second")):
            speeds = [r[key] for r in results]
            ratios = [speeds[i] / statistics.mean([speeds[i - 1], speeds[i + 1]])
                      for i in range(1, len(speeds) - 1, 2)]
            print(f"library / seed, {label} (against the seed runs around each library "
                  f"run): " + ", ".join(f"{ratio:.2f}x" for ratio in ratios))


if __name__ == "__main__":
    main()
