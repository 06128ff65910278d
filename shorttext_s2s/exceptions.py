"""Exceptions raised by :mod:`shorttext_s2s`.

Every error the library raises on purpose derives from :class:`ShorttextS2SError`, so
``except shorttext_s2s.ShorttextS2SError`` catches all of them. Each subclass also derives
from the closest built-in exception (``ValueError``, ``FileNotFoundError``), so code written
against the built-in types keeps working.
"""

from __future__ import annotations

import os
import signal
from typing import Optional, Union

__all__ = [
    "ShorttextS2SError",
    "ModelNotTrainedException",
    "ModelFileError",
    "ModelFileNotFoundError",
    "InputDataError",
    "ExportError",
    "ServerStartError",
    "DistributedError",
    "TrainingStopped",
    "InputWarning",
]

PathLike = Union[str, "os.PathLike[str]"]


class ShorttextS2SError(Exception):
    """Base class of every exception the library raises on purpose."""


class ModelNotTrainedException(ShorttextS2SError):
    """Raised when a model that was never trained (nor loaded) is saved or used.

    Args:
        message: what was attempted. Defaults to a generic explanation.
    """

    def __init__(self, message: str = "The model has not been trained yet; call train() or "
                                      "load a saved model first.") -> None:
        super().__init__(message)


class ModelFileError(ShorttextS2SError, ValueError):
    """A model file cannot be read: wrong kind, unknown version, truncated or corrupted.

    Args:
        path: the file that was being read.
        reason: what is wrong with it.

    Attributes:
        path: the offending file, as given.
        reason: the explanation, without the path.
    """

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelFileNotFoundError(ModelFileError, FileNotFoundError):
    """The model file to load does not exist.

    Args:
        path: the missing file.
    """

    def __init__(self, path: PathLike) -> None:
        super().__init__(path, "no such model file")


class InputDataError(ShorttextS2SError, ValueError):
    """Training or vocabulary input that cannot be used, located as precisely as possible.

    Args:
        reason: what is wrong.
        source: the file (or a description of the input) where it was found, if known.
        line: the 1-based line number, if known.

    Attributes:
        source: as given.
        line: as given.
        reason: the explanation, without the location.
    """

    def __init__(self, reason: str, source: Optional[PathLike] = None,
                 line: Optional[int] = None) -> None:
        self.source = None if source is None else os.fspath(source)
        self.line = line
        self.reason = reason
        where = ""
        if self.source is not None:
            where = self.source
            if line is not None:
                where += f", line {line}"
        elif line is not None:
            where = f"line {line}"
        super().__init__(f"{where}: {reason}" if where else reason)


class ExportError(ShorttextS2SError, ValueError):
    """A model cannot be exported as asked: the format, the decoding strategy or the backend
    (the message says why), or the destination exists."""


class ServerStartError(ShorttextS2SError, RuntimeError):
    """The worker processes of ``serve(..., workers=N)`` could not start serving (each
    worker's log says why: the model file, memory, the backend)."""


class DistributedError(ShorttextS2SError, RuntimeError):
    """Training across processes cannot run as asked: the backend has no multi-process runtime
    here (TensorFlow), or the processes could not form the run (the message says which
    setting)."""


class TrainingStopped(ShorttextS2SError):
    """Training stopped at a batch boundary after SIGINT or SIGTERM (on any process of a
    multi-process run: all of them stop at the same batch).

    The generator keeps the weights of the batch it stopped at; the best completed epoch is in
    its ``s2sgenerator.selection`` (None before the first epoch ended), and a checkpoint, if
    any, holds the last completed epoch.

    Attributes:
        signum: the signal that asked for the stop (on a process that received none, the one
            its peer received).
    """

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(f"training stopped by {signal.Signals(self.signum).name}")


class InputWarning(UserWarning):
    """Texts to decode that the model will not read as given: empty ones, ones with characters
    it never saw (read as the unknown character), or ones longer than it reads (cut).

    Decoding warns once per call, naming the texts; the HTTP server says it in its answer's
    ``warnings``. ``warnings.simplefilter("ignore", InputWarning)`` silences it.
    """
