"""``shorttext-s2s decode``: answer sentences with a trained model, in batches."""

from __future__ import annotations

import argparse
import itertools
import sys
from typing import Any, Iterable, Iterator, Optional, Tuple

from ..data import iter_lines
from ..exceptions import InputDataError
from .common import CommandError, batches_of, load_generator, say, strategy_from
from .options import add_column_options, add_strategy_options
from .types import positive_int

NAME = "decode"
TAKES_MODEL = True
#: Its sentences may come after its options.
INTERMIXED = True
HELP = "answer sentences with a trained model"
DESCRIPTION = (
    "Decode sentences with a trained model: those given as arguments, else the lines of "
    "--input FILE, else the lines of standard input. Prints one line per input line, in "
    "order. Typed at a terminal, each line is answered as soon as it is entered; from a "
    "file or a pipe, lines are decoded in batches. With --source-column or "
    "--features-column, each line is tab-separated and those columns are read.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    parser.add_argument("sentences", nargs="*", metavar="SENTENCE", help="sentences to decode")
    parser.add_argument("--input", "-i", metavar="FILE",
                        help="read sentences from FILE, one a line ('-' for standard input)")
    parser.add_argument("--batch-size", type=positive_int, default=256, metavar="N",
                        help="sentences decoded together (default: %(default)s)")
    add_column_options(parser, target=False)
    add_strategy_options(parser)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    if args.sentences and args.input:
        parser.error("give sentences as arguments or --input FILE, not both")
    lines: Optional[Iterable[str]] = None
    if args.sentences:
        lines = args.sentences
    elif args.input and args.input != "-":
        lines = _checked_lines(args.input)  # a missing file is reported before Keras loads
    strategy = strategy_from(args, parser)
    if lines is not None:
        pass
    elif sys.stdin.isatty():
        # Someone typing: answer each line at once, as `chat` does, not after 256 lines.
        return _decode_typed_lines(args, strategy)
    else:
        lines = iter_lines(sys.stdin)
    name = args.input if args.input and args.input != "-" else (
        "<arguments>" if args.sentences else "<stdin>")
    inputs = _input_columns(lines, args, name)
    generator = load_generator(args.model)
    seed = args.seed
    for batch in batches_of(inputs, args.batch_size):
        texts = [text for text, _ in batch]
        features = [tags for _, tags in batch] if args.features_column else None
        for found in generator.decode_scored(texts, strategy, seed, features=features):
            sys.stdout.write(found[0][0] + "\n")
        sys.stdout.flush()
        if seed is not None:
            # A different but reproducible stream for each batch.
            seed += 1
    return 0


def _input_columns(lines: Iterable[str], args: argparse.Namespace, name: str
                   ) -> Iterator[Tuple[str, Optional[str]]]:
    """``(text, features)`` of each input line: the whole line, or the columns asked for."""
    source = (args.source_column or 1) - 1
    features = args.features_column - 1 if args.features_column else None
    if args.source_column is None and features is None:
        for line in lines:
            yield line, None
        return
    if features == source:
        raise CommandError("--source-column and --features-column must differ")
    needed = max(source, features or 0) + 1
    for lineno, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) < needed:
            raise InputDataError(f"no column {needed}: the line has {len(fields)} "
                                 f"tab-separated column{'s' if len(fields) > 1 else ''}",
                                 name, lineno)
        yield fields[source], None if features is None else fields[features]


def _checked_lines(path: str) -> Iterator[str]:
    """The lines of ``path``, its first line read now: a bad file fails before Keras loads."""
    lines = iter_lines(path)
    first = next(lines, None)
    return itertools.chain([] if first is None else [first], lines)


def _decode_typed_lines(args: argparse.Namespace, strategy: Any) -> int:
    """``decode`` at a terminal: one output line per typed line, as soon as it is typed."""
    generator = load_generator(args.model)
    say(f"Decoding each line as you type it with {args.model}; Ctrl-D or Ctrl-C to end.",
         sys.stderr)
    seed = args.seed
    try:
        while True:
            # The prompt goes to standard error: standard output holds only the outputs.
            sys.stderr.write("> ")
            sys.stderr.flush()
            line = input()
            say(generator.decode_batch([line], strategy=strategy, seed=seed)[0])
            if seed is not None:
                seed += 1
    except (EOFError, KeyboardInterrupt):
        say("", sys.stderr)
        return 0
