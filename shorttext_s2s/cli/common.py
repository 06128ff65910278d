"""What the subcommands share: exit codes, one-line errors, loading, output."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any, Iterable, Iterator, List, Optional, TextIO

from .. import catalog
from ..catalog import MisplacedOption, strategy_options
from ..data import check_columns as check_column_numbers
from ..exceptions import ModelFileError, ModelFileNotFoundError, ShorttextS2SError

PROG = "shorttext-s2s"
#: Exit status for a failure the user can fix (missing or bad file, missing extra).
EXIT_ERROR = 1
#: Exit status of argparse for invalid options.
EXIT_USAGE = 2
#: Conventional exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 128 + signal.SIGINT


class CommandError(Exception):
    """A problem found by the command itself (not by argparse), reported in one line."""


def check_writable(path: str, what: str) -> None:
    """Fail before a long training rather than when saving its result."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"{what} {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise CommandError(f"{what} {path}: is a directory")
    if not os.access(directory, os.W_OK):
        raise CommandError(f"{what} {path}: directory {directory} is not writable")


def strategy_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    """The decoding strategy the options ask for, or a usage error for misplaced options.

    The options are checked first; the model file is checked before the strategies (and with
    them Keras) are imported.
    """
    given = {option.name: getattr(args, option.name, None)
             for entry in catalog.STRATEGIES.values() for option in entry.options
             if option.command_line}
    try:
        options = strategy_options(args.strategy, given)
    except MisplacedOption as error:
        parser.error(f"--{error.option.replace('_', '-')} applies to --strategy {error.owner}, "
                     f"not {args.strategy}")
    check_model_path(args.model)
    from ..decoding import get_strategy

    return get_strategy(args.strategy, **options)


def check_model_path(path: str) -> None:
    """A missing model file is reported before Keras is imported (seconds) to load it."""
    if not os.path.exists(path):
        raise ModelFileNotFoundError(path)
    if os.path.isdir(path):
        raise ModelFileError(path, "is a directory, expected a model file")


def columns_of(args: argparse.Namespace) -> dict:
    """The ``read_pairs`` column arguments the user gave (none: the default layout)."""
    names = ("source_column", "target_column", "features_column")
    return {name: getattr(args, name) for name in names
            if getattr(args, name, None) is not None}


def check_columns(columns: dict, parser: argparse.ArgumentParser) -> None:
    """Repeated column numbers are a usage error, found before any file is read."""
    try:
        check_column_numbers(**columns)
    except ValueError as error:
        parser.error(one_line(error))


def load_generator(path: str) -> Any:
    """The generator of a model file (Keras is imported here, not before)."""
    from ..generator import loadCharBasedSeq2SeqGenerator

    return loadCharBasedSeq2SeqGenerator(path)


def batches_of(items: Iterable[str], size: int) -> Iterator[List[str]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch: List[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def progress(quiet: bool) -> Any:
    """Training's ``verbose``: silent, or ``"auto"``: progress bars on a terminal, one line
    per epoch in a log file (a bar redraws itself with terminal escapes a file would keep)."""
    return 0 if quiet else "auto"


def quiet_backend(verbose: bool) -> None:
    """Quiet the backend's Python-side logging unless asked for; runs before Keras is imported.

    ``TF_CPP_MIN_LOG_LEVEL`` 2 spares the native runtime most of its information lines (a
    value the user set is kept); what it still prints, whatever the level on this build (the
    oneDNN notice), is taken out by :func:`~shorttext_s2s.native_logs.quiet_native_logs`,
    which ``main`` runs the command in. ``TF_ENABLE_ONEDNN_OPTS``, which would change the
    numerics, is left alone.
    """
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from absl import logging as absl_logging
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to silence
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def invocation() -> str:
    """How this command was run, as the user would type it again (for hints)."""
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script).startswith(PROG):
        return script
    return "python -m shorttext_s2s"


def say(message: str = "", stream: Optional[TextIO] = None) -> None:
    """Print a line of the command's own, flushed (to standard output by default)."""
    print(message, file=stream or sys.stdout, flush=True)


def one_line(error: BaseException) -> str:
    """An error as the one line the command prints."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and not isinstance(error, ShorttextS2SError):
        # str(OSError) starts with "[Errno N]", which says nothing to a user.
        parts = [error.strerror or text]
        if error.filename is not None:
            parts.insert(0, os.fspath(error.filename))
        text = ": ".join(parts)
    return text


def plain(value: Any) -> Any:
    """Numpy scalars as Python numbers, for JSON."""
    return value.item() if hasattr(value, "item") else value
