"""The other subcommands: demo, decode, chat, evaluate, export and serve."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any, Iterable, Iterator, Optional, Tuple

from .common import (
    PROG,
    CommandError,
    _batches,
    _check_columns,
    _check_model_path,
    _check_writable,
    _columns,
    _invocation,
    _load,
    _plain,
    _progress,
    _say,
    _strategy,
)

#: How ``evaluate`` names the scores.
SCORE_LABELS = {"n": "inputs", "exact_match": "exact match", "cer": "CER", "ser": "SER",
                "chrf": "chrF", "bleu": "BLEU"}


def _cmd_demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..corpus import corpus_dir
    from ..demo import run_demo

    _check_writable(args.output, "--output")
    corpus_dir()  # a missing 'demo' extra is reported before Keras is imported
    run_demo(output=args.output, epochs=args.epochs, latent_dim=args.latent_dim,
             quick=args.quick, seed=args.seed, verbose=_progress(False), echo=_say,
             command=_invocation())
    return 0


def _cmd_decode(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..data import iter_lines

    if args.sentences and args.input:
        parser.error("give sentences as arguments or --input FILE, not both")
    lines: Optional[Iterable[str]] = None
    if args.sentences:
        lines = args.sentences
    elif args.input and args.input != "-":
        lines = _checked_lines(args.input)  # a missing file is reported before Keras loads
    strategy = _strategy(args, parser)
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
    generator = _load(args.model)
    seed = args.seed
    for batch in _batches(inputs, args.batch_size):
        texts = [text for text, _ in batch]
        features = [tags for _, tags in batch] if args.features_column else None
        for output in generator.decode_batch(texts, strategy=strategy, seed=seed,
                                             features=features):
            sys.stdout.write(output + "\n")
        sys.stdout.flush()
        if seed is not None:
            # A different but reproducible stream for each batch.
            seed += 1
    return 0


def _input_columns(lines: Iterable[str], args: argparse.Namespace, name: str
                   ) -> Iterator[Tuple[str, Optional[str]]]:
    """``(text, features)`` of each input line: the whole line, or the columns asked for."""
    from ..exceptions import InputDataError

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
    import itertools

    from ..data import iter_lines

    lines = iter_lines(path)
    first = next(lines, None)
    return itertools.chain([] if first is None else [first], lines)


def _decode_typed_lines(args: argparse.Namespace, strategy: Any) -> int:
    """``decode`` at a terminal: one output line per typed line, as soon as it is typed."""
    generator = _load(args.model)
    _say(f"Decoding each line as you type it with {args.model}; Ctrl-D or Ctrl-C to end.",
         sys.stderr)
    seed = args.seed
    try:
        while True:
            # The prompt goes to standard error: standard output holds only the outputs.
            sys.stderr.write("> ")
            sys.stderr.flush()
            line = input()
            _say(generator.decode_batch([line], strategy=strategy, seed=seed)[0])
            if seed is not None:
                seed += 1
    except (EOFError, KeyboardInterrupt):
        _say("", sys.stderr)
        return 0


def _cmd_chat(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    strategy = _strategy(args, parser)
    generator = _load(args.model)
    interactive = sys.stdin.isatty()
    if interactive:
        _say(f"Chatting with {args.model}. Type a sentence and press Enter; Ctrl-D or Ctrl-C "
             f"to quit.")
    turn = 0
    try:
        while True:
            if interactive:
                line = input("> ")
            else:
                line = sys.stdin.readline()
                if not line:
                    return 0
                line = line.rstrip("\r\n")
            if not line.strip():
                continue
            # One reproducible stream per turn, so that a repeated line may get a new reply.
            seed = None if args.seed is None else args.seed + turn
            _say(generator.decode_batch([line], strategy=strategy, seed=seed)[0])
            turn += 1
    except (EOFError, KeyboardInterrupt):
        # Both are the documented ways to leave the chat, not errors.
        if interactive:
            _say()
        return 0


def _cmd_evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..data import read_pairs

    _check_model_path(args.model)
    columns = _columns(args)
    _check_columns(columns, parser)
    pairs = read_pairs(args.pairs, limit=args.limit, **columns)
    strategy = _strategy(args, parser)
    generator = _load(args.model)
    target_sep = args.target_sep if args.target_sep is not None else \
        generator.encoder.target_sep
    metrics = ["exact_match", "cer"] + (["ser"] if target_sep is not None else [])
    if importlib.util.find_spec("sacrebleu") is not None:
        metrics += ["chrf", "bleu"]
    else:
        _say(f'{PROG}: chrF and BLEU left out: they need sacrebleu, installed with: '
             f'pip install "shorttext-s2s[metrics]"', sys.stderr)
    scores = generator.evaluate(pairs, strategy=strategy, metrics=metrics,
                                target_sep=target_sep)
    if args.json:
        import json

        _say(json.dumps({key: _plain(value) for key, value in scores.items()}, sort_keys=True))
    else:
        for key, value in scores.items():
            label = SCORE_LABELS.get(key, key)
            _say(f"{label + ':':<13}{value if key == 'n' else format(value, '.4f')}")
    return 0


def _cmd_export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.beam_width is not None and args.strategy != "beam":
        parser.error("--beam-width applies to --strategy beam")
    _check_model_path(args.model)
    if os.path.exists(args.output):
        raise CommandError(f"OUT {args.output}: already exists; export to a new directory")
    _check_writable(args.output, "OUT")
    from ..decoding import get_strategy
    from ..export import export_model

    options = {} if args.beam_width is None else {"beam_width": args.beam_width}
    export_model(_load(args.model), args.output, args.format,
                 get_strategy(args.strategy, **options), jit_compile=not args.no_xla)
    _say(f"exported {args.model} ({args.strategy}) to {args.output}")
    return 0


def _cmd_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..serving import ServerSettings, serve

    settings = ServerSettings(
        max_delay_ms=args.max_delay_ms, max_batch=args.max_batch,
        batching=not args.no_batching, max_texts=args.max_texts, max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes, max_beam_width=args.max_beam_width,
        warmup=args.warmup)
    serve(args.model, host=args.host, port=args.port, settings=settings,
          workers=args.workers, shutdown_timeout=args.shutdown_timeout,
          log_level=args.log_level, echo=_say)
    return 0
