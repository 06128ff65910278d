"""The other subcommands: demo, decode, chat, evaluate and serve."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any, Iterable, Iterator, Optional

from .common import (
    PROG,
    _batches,
    _check_model_path,
    _check_writable,
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
    generator = _load(args.model)
    seed = args.seed
    for batch in _batches(lines, args.batch_size):
        for output in generator.decode_batch(batch, strategy=strategy, seed=seed):
            sys.stdout.write(output + "\n")
        sys.stdout.flush()
        if seed is not None:
            # A different but reproducible stream for each batch.
            seed += 1
    return 0


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
    pairs = read_pairs(args.pairs, limit=args.limit)
    strategy = _strategy(args, parser)
    metrics = ["exact_match", "cer"] + (["ser"] if args.target_sep is not None else [])
    if importlib.util.find_spec("sacrebleu") is not None:
        metrics += ["chrf", "bleu"]
    else:
        _say(f'{PROG}: chrF and BLEU left out: they need sacrebleu, installed with: '
             f'pip install "shorttext-s2s[metrics]"', sys.stderr)
    generator = _load(args.model)
    scores = generator.evaluate(pairs, strategy=strategy, metrics=metrics,
                                target_sep=args.target_sep)
    if args.json:
        import json

        _say(json.dumps({key: _plain(value) for key, value in scores.items()}, sort_keys=True))
    else:
        for key, value in scores.items():
            label = SCORE_LABELS.get(key, key)
            _say(f"{label + ':':<13}{value if key == 'n' else format(value, '.4f')}")
    return 0


def _cmd_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..serving import ServerSettings, serve

    settings = ServerSettings(
        max_delay_ms=args.max_delay_ms, max_batch=args.max_batch,
        batching=not args.no_batching, max_texts=args.max_texts, max_chars=args.max_chars,
        max_body_bytes=args.max_body_bytes, max_beam_width=args.max_beam_width,
        warmup=args.warmup)
    serve(args.model, host=args.host, port=args.port, settings=settings,
          log_level=args.log_level, echo=_say)
    return 0
