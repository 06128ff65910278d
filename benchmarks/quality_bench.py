"""Quality benchmark: the library's networks and OpenNMT-py, side by side, at equal training time.

What it measures. Each system trains for the same wall-clock budget (``--budget``, 900 s) on
the same training pairs of ``fra.txt`` (English to French, character level) and is scored
at ``--snapshots`` seconds of training (300, 600, 900) on the same 2,000 test pairs: chrF
(sacrebleu's ``corpus_chrf`` with its defaults), BLEU (``corpus_bleu``) and exact match
(output == reference), each with greedy and with beam-5 decoding; also its training
samples/s (pairs trained on by then, over the seconds of training, validation included) and
its greedy decoding speed (sentences/s over the test inputs, batches of ``--decode-batch``).
Scoring a snapshot does not count against the budget: the weights are kept when the time
comes and scored after training.

The split (:func:`split_pairs`, seed ``--seed``, the same for every system):

* test: 2,000 pairs. The pairs are grouped by English sentence (a group is every pair with
  that English side), the groups shuffled with the seed, and whole groups taken in that
  order, skipping a group that would overshoot, until exactly 2,000 pairs: no English
  sentence is in both the test pairs and the training pairs.
* "all": every other pair, in a fixed shuffled order (the file is sorted by length);
* "10k": 10,000 of those pairs drawn at random (``random.Random(seed + 1).sample``);
* validation, for model selection: ``--validation`` pairs (500) taken out of each training
  set the same grouped way (``Random(seed + 2)``), never out of the test pairs.

Model selection: at each snapshot a system is scored as it stood with the weights that
had the best validation figure of those evaluated by then, what early stopping with restore
would give; before the first validation, the current weights. The library validates after
each epoch and is judged by its recipe's validation score where the recipe computes one
(chrF), else by its validation loss (:class:`SnapshotKeeper`); OpenNMT-py validates every
``--peer-checkpoint-steps`` steps, where it also writes a checkpoint, and is judged by its
validation perplexity. Each system keeps its default threading (TensorFlow and PyTorch both use
every core; OpenNMT-py also starts 2 data-loading processes), and the systems run one after
another, never at once.

The systems:

* ``library``: a :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` per ``--networks`` name
  (``lstm``, ``attention``, ``transformer``), trained with ``train_pairs`` and the network's
  own training recipe (RMSprop for ``lstm``; Adam, label smoothing and model selection on
  the validation chrF for ``attention``); batch 64; latent 256; the settings of
  ``NETWORK_SETTINGS`` (for ``lstm`` reversed, bidirectionally encoded inputs);
  early-stopping patience ``--patience``; the Keras backend of ``KERAS_BACKEND``
  (TensorFlow when unset; the table names it: on the 10k set JAX trained the ``attention``
  network faster, on all pairs slower, see docs/performance.rst); ``--length-step``. A
  network the library does not have is skipped with a message. See :func:`train_library`.
* ``peer``: OpenNMT-py 3.5.1, a character-level 2-layer bidirectional LSTM encoder and 2-layer
  LSTM decoder with Luong (general) attention, in its own cached virtual environment
  (``benchmarks/peer/setup.sh``); see ``benchmarks/peer/opennmt_peer.py``.

Usage (from the repository root; on a machine doing nothing else, the budgets are wall-clock
time)::

    nice python benchmarks/quality_bench.py --json quality.json  # ~25 min a system and set
    nice python benchmarks/quality_bench.py --sets 10k --systems library --networks lstm
    nice python benchmarks/quality_bench.py --budget 60 --snapshots 30,60 \\
        --train-limit 2000 --test-limit 200 --sets 10k      # a check of the pipeline

On a machine busy with other work, threads that wait for each other make both systems many
times slower; a check there can pass ``--threads 1 --peer-num-workers 0``, whose figures
say nothing about either system's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"
NETWORKS = ("lstm", "attention", "transformer")
SYSTEMS = ("library", "peer")
SETS = ("10k", "all")

Pair = Tuple[str, str]


# --- the split ------------------------------------------------------------------------------

def take_groups(pairs: Sequence[Pair], count: int, rng: random.Random
                ) -> Tuple[List[Pair], List[Pair]]:
    """Split ``pairs`` into ``count`` pairs taken by whole English sentence, and the rest.

    The pairs are grouped by English side, the groups shuffled with ``rng`` and taken in that
    order, a group that would overshoot ``count`` skipped, until ``count`` pairs are taken.
    Both parts keep the order of ``pairs``.

    Raises:
        ValueError: fewer than ``count`` pairs.
    """
    if count > len(pairs):
        raise ValueError(f"cannot take {count} pairs out of {len(pairs)}")
    groups: Dict[str, List[int]] = OrderedDict()
    for index, (source, _) in enumerate(pairs):
        groups.setdefault(source, []).append(index)
    order = list(groups)
    rng.shuffle(order)
    taken: set = set()
    for source in order:
        if len(taken) == count:
            break
        if len(taken) + len(groups[source]) <= count:
            taken.update(groups[source])
    if len(taken) != count:  # not reachable while single-pair groups remain, checked anyway
        raise ValueError(f"could not take exactly {count} pairs by whole sentences")
    chosen = [pair for index, pair in enumerate(pairs) if index in taken]
    rest = [pair for index, pair in enumerate(pairs) if index not in taken]
    return chosen, rest


def split_pairs(pairs: Sequence[Pair], seed: int = 1, test_size: int = 2000,
                small_size: int = 10000) -> Dict[str, List[Pair]]:
    """The benchmark's fixed split of ``pairs`` (all pairs of fra.txt, in file order).

    Returns:
        ``{"test": ..., "all": ..., "10k": ...}``: ``test_size`` test pairs taken by whole
        English sentence (:func:`take_groups` with ``Random(seed)``); "all", every other pair
        shuffled with ``Random(seed)``; "10k", ``small_size`` of them drawn with
        ``Random(seed + 1).sample``.
    """
    test, rest = take_groups(pairs, test_size, random.Random(seed))
    random.Random(seed).shuffle(rest)
    small = random.Random(seed + 1).sample(rest, small_size)
    return {"test": test, "all": rest, "10k": small}


def split_validation(train: Sequence[Pair], size: int, seed: int = 1
                     ) -> Tuple[List[Pair], List[Pair]]:
    """``(training, validation)``: ``size`` validation pairs taken by whole English sentence."""
    validation, rest = take_groups(train, size, random.Random(seed + 2))
    return rest, validation


# --- scoring, the same for every system ------------------------------------------------------

def score_outputs(outputs: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """chrF, BLEU (sacrebleu, defaults) and exact match (in %) of outputs against references."""
    from shorttext_s2s.evaluation import score_texts

    scores = score_texts(outputs, references, metrics=("chrf", "bleu", "exact_match"))
    return {"chrf": scores["chrf"], "bleu": scores["bleu"],
            "exact": 100.0 * scores["exact_match"]}


def snapshot_row(system: str, network: str, snapshot_s: float, selected: str,
                 samples_per_s: float, references: Sequence[str],
                 greedy: Sequence[str], greedy_s: float, beam: Sequence[str],
                 beam_s: float) -> dict:
    """One row of the table: a system as it stood at ``snapshot_s`` seconds of training."""
    row = {"system": system, "network": network, "snapshot_s": snapshot_s,
           "selected": selected, "train_samples_per_s": samples_per_s,
           "decode_sentences_per_s": len(greedy) / greedy_s,
           "beam_decode_sentences_per_s": len(beam) / beam_s}
    for name, outputs in (("greedy", greedy), ("beam", beam)):
        row.update({f"{name}_{key}": value
                    for key, value in score_outputs(outputs, references).items()})
    row["examples"] = [list(item) for item in zip(greedy[:3], references[:3])]
    return row


# --- the library ---------------------------------------------------------------------------

class SnapshotKeeper:
    """Keras callback keeping, at each snapshot time, the weights a user would have then.

    The weights of the best epoch among those ended before the snapshot time, judged as the
    library's model selection judges them (``shorttext_s2s.training.selection.Selection``: the
    validation score a recipe computes, else the validation loss; an epoch without validation is
    not judged), the current weights if no epoch has been judged yet. An epoch is judged when
    the next begins, so that the callbacks after this one (a recipe's validation score) have
    added their figures to its logs. The clock is ``timer.started`` of the budget timer
    (:class:`train_bench.EpochTimer`), so both count the same seconds. With ``validate`` (a
    function returning the validation chrF of the model as it stands), the weights trained since
    the last judged epoch are judged at the snapshot too, so that a set whose epochs last
    minutes is not judged on weights minutes old. Snapshots still pending when training ends
    (early stopping) get the best weights by then. ``kept`` maps each snapshot time to
    ``(weights, description, training samples/s by then)``.
    """

    def __new__(cls, timer, snapshots: Sequence[float], train_size: int, batch_size: int,
                validate=None):
        import keras

        from shorttext_s2s.training.selection import MEASURES, Selection

        validated = [key for key, _ in MEASURES if key.startswith("val_")]

        class _Keeper(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.pending = sorted(snapshots)
                self.kept = {}
                self.last = None  # (logs, weights, label) of the epoch just ended
                self.best = None  # (Selection, weights, label)
                self.epochs = 0
                self.batches = 0

            def _elapsed(self):
                return time.perf_counter() - timer.started

            def _settle(self):
                if self.last is None:
                    return
                logs, weights, label = self.last
                self.last = None
                figure = Selection.from_logs(self.epochs, logs, validated)
                if figure is not None and figure.beats(self._best_figure()):
                    self.best = (figure, weights, label)

            def _best_figure(self):
                return None if self.best is None else self.best[0]

            def _keep(self, time_s):
                self._settle()
                if validate is not None and self.epochs and self.batches and (
                        self.best is None or self.best[0].measure == validated[0]):
                    # Trained since the last judged epoch (an epoch of a large set is
                    # minutes long): judge the current weights too, as the peer's
                    # checkpoints every few hundred steps are judged.
                    figure = Selection.from_logs(self.epochs, {validated[0]: validate()},
                                                 validated)
                    if figure.beats(self._best_figure()):
                        self.best = (figure, self.model.get_weights(),
                                     f"epoch {self.epochs} + {self.batches} batches")
                if self.best is None:
                    weights, label = self.model.get_weights(), f"{self.batches} batches"
                else:
                    weights, label = self.best[1], self.best[2]
                samples = self.epochs * train_size + self.batches * batch_size
                self.kept[time_s] = (weights, label, samples / self._elapsed())

            def on_epoch_begin(self, epoch, logs=None):
                self._settle()
                self.batches = 0

            def on_train_batch_end(self, batch, logs=None):
                self.batches += 1
                while self.pending and self._elapsed() >= self.pending[0]:
                    self._keep(self.pending.pop(0))

            def on_epoch_end(self, epoch, logs=None):
                while self.pending and self._elapsed() >= self.pending[0]:
                    self._keep(self.pending.pop(0))
                self.epochs, self.batches = self.epochs + 1, 0
                # The same dictionary the later callbacks add their figures to.
                logs = logs if logs is not None else {}
                self.last = (logs, self.model.get_weights(), f"epoch {epoch + 1}")

            def on_train_end(self, logs=None):
                for time_s in self.pending:
                    self._keep(time_s)
                self.pending = []

        return _Keeper()


#: The generator's settings per network beyond ``network=NAME`` (the recommended ones for
#: translation; the attention network's are its defaults).
NETWORK_SETTINGS = {"lstm": {"reverse_input": True, "bidirectional": True}}


def train_library(network: str, train_pairs: Sequence[Pair], valid_pairs: Sequence[Pair],
                  test_pairs: Sequence[Pair], budget: float, snapshots: Sequence[float],
                  options: argparse.Namespace) -> List[dict]:
    """Train the library's ``network`` for ``budget`` seconds; one scored row per snapshot.

    ``options`` carries ``latent``, ``batch``, ``length_step``, ``patience``, ``seed``,
    ``beam_width`` and ``decode_batch`` (see the command-line options). Returns [] (after
    saying so) when the library has no such network.
    """
    selection = dict(NETWORK_SETTINGS.get(network, {}), network=network)
    import keras

    if getattr(options, "threads", None) and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.config.threading.get_intra_op_parallelism_threads() != options.threads:
            tf.config.threading.set_intra_op_parallelism_threads(options.threads)
            tf.config.threading.set_inter_op_parallelism_threads(options.threads)
    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from shorttext_s2s.decoding import get_strategy
    from shorttext_s2s.training import Trainer
    from train_bench import EpochTimer

    keras.utils.set_random_seed(options.seed)
    encoder = SentenceToCharVecEncoder.from_texts(
        text for pair in list(train_pairs) + list(valid_pairs) for text in pair)
    maxlen = max(len(text) for pair in list(train_pairs) + list(valid_pairs)
                 for text in pair) + 1
    try:
        generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=options.latent,
                                              maxlen=maxlen, **selection)
    except ValueError as exc:  # a name the constructor's `network` argument refuses
        print(f"this library has no network {network} ({exc}): skipped", flush=True)
        return []
    length_step = Trainer(length_step=options.length_step).length_step_for(
        generator.seq2seq.network)
    timer = EpochTimer(budget)
    keeper = SnapshotKeeper(timer, snapshots, len(train_pairs), options.batch,
                            validate=lambda: generator.evaluate(valid_pairs,
                                                                metrics=("chrf",))["chrf"])
    generator.train_pairs(train_pairs, batch_size=options.batch, epochs=10 ** 6,
                          validation_data=valid_pairs, callbacks=[timer, keeper],
                          early_stopping=options.patience, seed=options.seed, verbose=0,
                          validation_every=1, length_step=length_step)

    sources = [source for source, _ in test_pairs]
    references = [target for _, target in test_pairs]
    beam = get_strategy("beam", beam_width=options.beam_width)

    def decode(strategy):
        started = time.perf_counter()
        outputs = [output for start in range(0, len(sources), options.decode_batch)
                   for output in generator.decode_batch(
                       sources[start:start + options.decode_batch], strategy=strategy)]
        return outputs, time.perf_counter() - started

    # The decoder compiles a function per batch shape on first use: compile them all before
    # timing (one untimed greedy and beam decoding of the test inputs).
    decode("greedy"), decode(beam)
    rows = []
    for time_s in sorted(keeper.kept):
        weights, label, samples_per_s = keeper.kept[time_s]
        keeper.model.set_weights(weights)  # the Keras model train_pairs fitted
        rows.append(dict(snapshot_row("library", network, time_s, label, samples_per_s,
                                      references, *decode("greedy"), *decode(beam)),
                         backend=keras.backend.backend(), length_step=length_step))
    return rows


# --- the peer ------------------------------------------------------------------------------

def train_peer_rows(train_pairs, valid_pairs, test_pairs, budget, snapshots, options):
    """OpenNMT-py trained and decoded by ``benchmarks/peer/opennmt_peer.py``; scored here."""
    sys.path.insert(0, str(REPO / "benchmarks" / "peer"))
    from opennmt_peer import train_peer

    references = [target for _, target in test_pairs]
    results = train_peer(train_pairs, valid_pairs, [source for source, _ in test_pairs],
                         budget, snapshots, batch_size=options.batch,
                         checkpoint_steps=options.peer_checkpoint_steps,
                         beam_width=options.beam_width, decode_batch=options.decode_batch,
                         seed=options.seed, num_workers=options.peer_num_workers,
                         keep_files=options.keep_peer_files)
    return [snapshot_row("OpenNMT-py", "lstm+attention", r["snapshot_s"], r["selected"],
                         r["samples_per_s"], references, r["greedy"], r["greedy_s"],
                         r["beam"], r["beam_s"]) for r in results]


# --- the table -----------------------------------------------------------------------------

def markdown_table(rows: Sequence[dict]) -> str:
    lines = [("| system | network | snapshot s | model | greedy chrF | beam-5 chrF | "
              "exact % (greedy) | BLEU (greedy) | train samples/s | decode sent/s |"),
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        system = f"{r['system']} ({r['backend']})" if "backend" in r else r["system"]
        lines.append(f"| {system} | {r['network']} | {r['snapshot_s']:.0f} | "
                     f"{r['selected']} | {r['greedy_chrf']:.1f} | {r['beam_chrf']:.1f} | "
                     f"{r['greedy_exact']:.1f} | {r['greedy_bleu']:.1f} | "
                     f"{r['train_samples_per_s']:.0f} | {r['decode_sentences_per_s']:.0f} |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    def names(allowed):
        def parse(text):
            chosen = [name for name in text.split(",") if name]
            unknown = [name for name in chosen if name not in allowed]
            if unknown:
                raise argparse.ArgumentTypeError(f"unknown {unknown}, expected some of "
                                                 f"{', '.join(allowed)}")
            return chosen
        return parse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the pairs file (default: %(default)s)")
    parser.add_argument("--sets", type=names(SETS), default=list(SETS),
                        help="training sets, comma-separated (default: 10k,all)")
    parser.add_argument("--systems", type=names(SYSTEMS), default=list(SYSTEMS),
                        help="library, peer or both (default)")
    parser.add_argument("--networks", default=list(NETWORKS),
                        type=lambda text: [name for name in text.split(",") if name],
                        help="the library's networks (default: lstm,attention,transformer; "
                             "those the library lacks are skipped)")
    parser.add_argument("--budget", type=float, default=900.0,
                        help="seconds of training of each system (default 900)")
    parser.add_argument("--snapshots", default=[300.0, 600.0, 900.0],
                        type=lambda text: sorted(float(t) for t in text.split(",") if t),
                        help="score each system as it stood after these many seconds of "
                             "training (default 300,600,900)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the split and training")
    parser.add_argument("--validation", type=int, default=500,
                        help="validation pairs taken out of each training set (default 500)")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="train on only the first N pairs of each training set (checks)")
    parser.add_argument("--test-limit", type=int, default=None,
                        help="score only the first N of the 2,000 test pairs (checks)")
    parser.add_argument("--latent", type=int, default=256,
                        help="library: the decoder's units (256)")
    parser.add_argument("--batch", type=int, default=64, help="pairs per step, both (64)")
    parser.add_argument("--length-step", type=int, default=None,
                        help="library: batch lengths rounded up to a multiple of this "
                             "(default: the library's for the backend)")
    parser.add_argument("--patience", type=int, default=5,
                        help="library: early-stopping patience in epochs (default 5)")
    parser.add_argument("--beam-width", type=int, default=5)
    parser.add_argument("--decode-batch", type=int, default=256,
                        help="inputs decoded at once, both systems (default 256)")
    parser.add_argument("--peer-checkpoint-steps", type=int, default=200,
                        help="peer: validate and save a checkpoint every N steps (200)")
    parser.add_argument("--peer-num-workers", type=int, default=None,
                        help="peer: data-loading processes (default: OpenNMT-py's, 2)")
    parser.add_argument("--keep-peer-files", action="store_true",
                        help="peer: keep its data, checkpoints and logs (printed path)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of each system (default: each system's own, every "
                             "core); 1 keeps a check usable on a machine busy with other work, "
                             "where threads that wait for each other slow down many times")
    parser.add_argument("--json", type=Path, default=None, help="write all rows to this file")
    args = parser.parse_args(argv)
    if not args.snapshots or args.snapshots[-1] > args.budget:
        parser.error("--snapshots must be times within --budget")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.threads:
        # PyTorch (the peer, a subprocess) reads this; TensorFlow is told in train_library.
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    from shorttext_s2s.data import read_pairs

    split = split_pairs(read_pairs(args.data), seed=args.seed)
    test = split["test"][:args.test_limit]
    all_rows = []
    for name in args.sets:
        train, valid = split_validation(split[name][:args.train_limit], args.validation,
                                        args.seed)
        print(f"== training set {name}: {len(train)} pairs, {len(valid)} validation, "
              f"{len(test)} test; budget {args.budget:.0f} s", flush=True)
        rows = []
        for system in args.systems:
            if system == "library":
                for network in args.networks:
                    rows += train_library(network, train, valid, test, args.budget,
                                          args.snapshots, args)
            else:
                rows += train_peer_rows(train, valid, test, args.budget, args.snapshots, args)
        for row in rows:
            row.update({"set": name, "train_pairs": len(train), "test_pairs": len(test),
                        "budget_s": args.budget})
        all_rows += rows
        table = markdown_table(rows) if rows else "(no system ran)"
        print(f"\nTraining set {name} ({len(train)} pairs), {len(test)} test pairs, "
              f"budget {args.budget:.0f} s\n\n{table}\n", flush=True)
        if args.json:
            args.json.write_text(json.dumps(all_rows, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
