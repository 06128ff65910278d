"""The ``shorttext-s2s`` parser, made of the commands' own modules.

Each command is one module of this package with ``NAME``, ``HELP``, ``DESCRIPTION``,
``TAKES_MODEL``, ``add_arguments(parser)`` (its flags) and ``run(args, parser)``; a new
command is a new module listed in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Tuple

from .._version import __version__
from . import chat, decode, demo, evaluate, export, serve, train
from .common import PROG
from .options import add_verbose_option

__all__ = ["build_parser", "COMMANDS", "INTERMIXED"]

#: The subcommands, in the order of ``--help``.
COMMANDS: Tuple[ModuleType, ...] = (demo, train, decode, chat, evaluate, serve, export)
#: Subcommands whose positional arguments may come after options.
INTERMIXED = tuple(command.NAME for command in COMMANDS
                   if getattr(command, "INTERMIXED", False))


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``shorttext-s2s`` command.

    Returns:
        The parser. Each subcommand sets two defaults: ``func``, its handler, and
        ``subparser``, its own parser (for usage errors found after parsing).
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Character-level sequence-to-sequence models: train, decode, "
                               "chat and evaluate from the command line.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, help=command.HELP,
                                  description=command.DESCRIPTION)
        if command.TAKES_MODEL:
            sub.add_argument("model", metavar="MODEL", help="a model file written by 'train'")
        add_verbose_option(sub)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run, subparser=sub)
    return parser
