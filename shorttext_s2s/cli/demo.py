"""``shorttext-s2s demo``: train a small chatbot on the ChatterBot corpus and talk to it."""

from __future__ import annotations

import argparse

from .common import check_writable, invocation, progress, say
from .types import even_positive_int, non_negative_int, positive_int

NAME = "demo"
TAKES_MODEL = False
HELP = "train a small chatbot on the ChatterBot corpus and talk to it"
DESCRIPTION = ("Train a small chatbot on the English conversations of the ChatterBot corpus "
               "(installed by the 'demo' extra), save it, and answer a few prompts, greedily "
               "and by sampling.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    parser.add_argument("--output", "-o", default="shorttext-s2s-demo.h5", metavar="MODEL",
                        help="where to save the trained model (default: %(default)s)")
    parser.add_argument("--epochs", type=positive_int, metavar="N",
                        help="training epochs (default: 70, or 2 with --quick)")
    parser.add_argument("--latent-dim", type=even_positive_int, metavar="N",
                        help="units of the decoder LSTM, even (default: 256, or 16 with "
                             "--quick)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny model trained for seconds, to check the installation "
                             "(its replies are gibberish)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="random seed of the initial weights and of sampling "
                             "(default: %(default)s)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    from ..corpus import corpus_dir
    from ..demo import run_demo

    check_writable(args.output, "--output")
    corpus_dir()  # a missing 'demo' extra is reported before Keras is imported
    run_demo(output=args.output, epochs=args.epochs, latent_dim=args.latent_dim,
             quick=args.quick, seed=args.seed, verbose=progress(False), echo=say,
             command=invocation())
    return 0
