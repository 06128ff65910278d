"""``shorttext-s2s evaluate``: score a trained model on a pairs file."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from .. import catalog
from ..data import read_pairs
from .common import (PROG, check_columns, check_model_path, columns_of, load_generator, plain,
                     say, strategy_from)
from .options import add_column_options, add_strategy_options
from .types import positive_int

NAME = "evaluate"
TAKES_MODEL = True
HELP = "score a trained model on a pairs file"
DESCRIPTION = (
    "Decode the sources of a pairs file and compare with the targets: exact match rate "
    "(word accuracy), character error rate (CER), for a model whose outputs are units "
    "(or with --target-sep) the symbol error rate (SER: the phoneme error rate for "
    "phonemes) and, with the 'metrics' extra, chrF and BLEU. Lines with the same source "
    "(and features) are one input with several references: its output is right if it "
    "equals any of them.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    parser.add_argument("pairs", metavar="PAIRS", help="tab-separated pairs file")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="score the first N pairs only")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--target-sep", metavar="SEP",
                        help="score the symbol error rate (SER) with the units of a target "
                             "separated by SEP (' ' for phonemes written K AE T: the "
                             "phoneme error rate) (default: the model's separator; none "
                             "for a character model, which then has no SER)")
    add_column_options(parser)
    add_strategy_options(parser)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    check_model_path(args.model)
    columns = columns_of(args)
    check_columns(columns, parser)
    pairs = read_pairs(args.pairs, limit=args.limit, **columns)
    strategy = strategy_from(args, parser)
    generator = load_generator(args.model)
    target_sep = args.target_sep if args.target_sep is not None else \
        generator.encoder.target_sep
    metrics = ["exact_match", "cer"] + (["ser"] if target_sep is not None else [])
    extra = [name for name, metric in catalog.METRICS.items() if metric.extra]
    if importlib.util.find_spec("sacrebleu") is not None:
        metrics += extra
    else:
        say(f'{PROG}: chrF and BLEU left out: they need sacrebleu, installed with: '
            f'pip install "shorttext-s2s[metrics]"', sys.stderr)
    scores = generator.evaluate(pairs, strategy=strategy, metrics=metrics,
                                target_sep=target_sep)
    if args.json:
        say(json.dumps({key: plain(value) for key, value in scores.items()}, sort_keys=True))
    else:
        for key, value in scores.items():
            label = catalog.METRICS[key].label if key in catalog.METRICS else "inputs"
            say(f"{label + ':':<13}{value if key == 'n' else format(value, '.4f')}")
    return 0
