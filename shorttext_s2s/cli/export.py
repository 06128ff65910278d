"""``shorttext-s2s export``: the whole decoder, for runtimes without this library."""

from __future__ import annotations

import argparse
import os

from .. import catalog
from .common import CommandError, check_model_path, check_writable, load_generator, say
from .types import positive_int

NAME = "export"
TAKES_MODEL = True
HELP = "export the whole decoder for runtimes without this library (SavedModel, ONNX)"
DESCRIPTION = (
    "Write the model's decoder for other runtimes. --format saved_model (the default): a "
    "TensorFlow SavedModel directory, text in and text out (vocabulary, encoding, the "
    "compiled decoding loop, the joining of the output inside), which TensorFlow Serving "
    "or tf.saved_model.load serve without Keras or this library; its serving_default "
    "signature takes 'texts' (and 'features' for a model trained with them) and returns "
    "'outputs' and 'log_probs' ('nbest' too for beam search). --format onnx: one ONNX "
    "file, ids in and ids out, that shorttext_s2s.export.runtime.OnnxDecoder runs with ONNX "
    "Runtime and NumPy only (the 'onnx' extra to export, 'runtime' to run). Runs under "
    "the TensorFlow backend.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    parser.add_argument("output", metavar="OUT",
                        help="the directory (saved_model) or file (onnx) to write; it must "
                             "not exist")
    parser.add_argument("--format", choices=list(catalog.EXPORT_FORMATS),
                        default=catalog.SAVED_MODEL, help="what to write (default: %(default)s)")
    parser.add_argument("--strategy", choices=catalog.EXPORTED_STRATEGIES,
                        default=catalog.GREEDY,
                        help="the decoding built into the export (default: %(default)s)")
    width = catalog.STRATEGIES[catalog.BEAM].option("beam_width")
    parser.add_argument(width.flag, type=positive_int, metavar=width.metavar,
                        help=f"{width.help} (default: {width.default})")
    parser.add_argument("--no-xla", action="store_true",
                        help="saved_model: do not compile the decoding loop with XLA (for a "
                             "runtime built without it; slower)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    if args.beam_width is not None and args.strategy != catalog.BEAM:
        parser.error(f"--beam-width applies to --strategy {catalog.BEAM}")
    check_model_path(args.model)
    if os.path.exists(args.output):
        raise CommandError(f"OUT {args.output}: already exists; export to a new directory")
    check_writable(args.output, "OUT")
    from ..decoding import get_strategy
    from ..export import export_model

    options = {} if args.beam_width is None else {"beam_width": args.beam_width}
    export_model(load_generator(args.model), args.output, args.format,
                 get_strategy(args.strategy, **options), jit_compile=not args.no_xla)
    say(f"exported {args.model} ({args.strategy}) to {args.output}")
    return 0
