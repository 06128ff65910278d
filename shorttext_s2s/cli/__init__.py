"""The ``shorttext-s2s`` command line: demo, train, decode, chat, evaluate, serve and export.

Run ``shorttext-s2s --help`` (or ``python -m shorttext_s2s --help``) for the subcommands and
``shorttext-s2s COMMAND --help`` for their options. Every command exits with 0 on success, 1
with a one-line message on standard error when a file is missing or unusable, 2 for invalid
options, and 128 + the signal number when interrupted (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any, Optional, Sequence

from ..exceptions import InputWarning, ShorttextS2SError
from ..extras import check_backend
from ..native_logs import quiet_native_logs
from .common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    PROG,
    CommandError,
    one_line,
    quiet_backend,
    say,
)
from .parser import INTERMIXED, build_parser

__all__ = ["main", "build_parser"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``shorttext-s2s`` command.

    Args:
        argv: the arguments, without the program name. Defaults to ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 for a missing or unusable file (reported in one line
        on standard error), 2 for invalid options, 130 after Ctrl-C.

    Example:

    >>> main(["decode", "model.h5", "Hello!"])  # doctest: +SKIP
    Bonjour !
    0
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, unparsed = parser.parse_known_args(argv)
    if unparsed:
        if args.command not in INTERMIXED:
            parser.error(f"unrecognized arguments: {' '.join(unparsed)}")
        # Sentences after options (`decode MODEL --strategy sample "Hi."`) are left over by a
        # plain parse; the subcommand's own parser can take positionals anywhere.
        args = args.subparser.parse_intermixed_args(argv[argv.index(args.command) + 1:])
    args.argv = argv
    quiet_backend(args.verbose)
    if args.verbose:
        return _run(args)
    with quiet_native_logs():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        check_backend()
        with warnings.catch_warnings():
            # Each call's note on inputs not read as given, as one line of the command's own.
            warnings.simplefilter("always", InputWarning)
            warnings.showwarning = _show_warning
            return args.func(args, args.subparser)
    except KeyboardInterrupt:
        say("", sys.stderr)
        say(f"{PROG}: interrupted", sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except (ShorttextS2SError, OSError, ImportError, CommandError) as error:
        # ImportError: an optional dependency that is missing; the library's messages say
        # which extra installs it.
        say(f"{PROG}: error: {one_line(error)}", sys.stderr)
        return EXIT_ERROR


_default_show_warning = warnings.showwarning


def _show_warning(message: Warning, category: type, filename: str, lineno: int,
                  file: Any = None, line: Optional[str] = None) -> None:
    if issubclass(category, InputWarning):
        say(f"{PROG}: warning: {message}", sys.stderr)
    else:
        _default_show_warning(message, category, filename, lineno, file, line)
