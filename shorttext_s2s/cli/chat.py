"""``shorttext-s2s chat``: talk to a trained model, a line at a time."""

from __future__ import annotations

import argparse
import sys

from .common import load_generator, say, strategy_from
from .options import add_strategy_options

NAME = "chat"
TAKES_MODEL = True
HELP = "talk to a trained model"
DESCRIPTION = "Read a line, print the model's reply, until end of input (Ctrl-D) or Ctrl-C."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    add_strategy_options(parser)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    strategy = strategy_from(args, parser)
    generator = load_generator(args.model)
    interactive = sys.stdin.isatty()
    if interactive:
        say(f"Chatting with {args.model}. Type a sentence and press Enter; Ctrl-D or Ctrl-C "
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
            say(generator.decode_batch([line], strategy=strategy, seed=seed)[0])
            turn += 1
    except (EOFError, KeyboardInterrupt):
        # Both are the documented ways to leave the chat, not errors.
        if interactive:
            say()
        return 0
