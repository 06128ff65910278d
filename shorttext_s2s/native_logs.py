"""The backends' native log lines, kept off standard error.

TensorFlow's and XLA's C++ runtimes (JAX shares XLA) log through absl straight to file
descriptor 2, not through Python: the absl notice, the oneDNN notice, the CPU-feature line,
"Compiled cluster using XLA!". ``TF_CPP_MIN_LOG_LEVEL`` hides some of them on some builds and
not others (TensorFlow 2.21 prints the oneDNN lines at every level), and the only variable
that removes the oneDNN lines, ``TF_ENABLE_ONEDNN_OPTS=0``, changes the numerics and the speed.
So the lines are taken out where they are written: :func:`quiet_native_logs` points
descriptor 2 at a pipe and passes on everything but the backend's log records.

The command line does this unless ``--verbose``. From Python, wrap the work in the same
context manager::

    with shorttext_s2s.native_logs.quiet_native_logs():
        generator = shorttext_s2s.loadCharBasedSeq2SeqGenerator("model.h5")
        print(generator.decode("Happy Holiday!"))
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import threading
from typing import Iterator, List, Optional

__all__ = ["quiet_native_logs", "is_native_log_record"]

# absl's and glog's record prefix: severity, MMDD, time, thread id, file:line, then "] ".
_RECORD = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] ")
# Printed once per process by absl before its logging is initialised, without a prefix.
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"


def is_native_log_record(line: str) -> bool:
    """Whether ``line`` starts one of the native runtime's log records that are dropped.

    Information, warning and error records are dropped: the runtime's errors that matter
    reach the user as Python exceptions, while its error-level notices do not stop anything
    (``oneDNN supports DT_BOOL only on platforms with AVX-512``). Fatal records, which come
    just before the process aborts, are kept.

    >>> is_native_log_record("I0000 00:00:1796224335.068453    2190 device_compiler.h:208] "
    ...                      "Compiled cluster using XLA!")
    True
    >>> is_native_log_record("F0000 00:00:1.5 12 check.cc:1] Check failed")
    False
    """
    return line.startswith(_ABSL_NOTICE) or (_RECORD.match(line) is not None
                                             and not line.startswith("F"))


class _Filter:
    """Reads what is written to the pipe and passes on all but the native log records.

    A record's continuation lines (the CPU-feature record spans two) go with it: the lines
    after it, up to the next record, that arrived in the same read. A record and its
    continuation are one ``write`` of the runtime's logger, which a pipe delivers whole, so
    the line of another writer that comes later is not taken for one.
    """

    def __init__(self, read_fd: int, out_fd: int) -> None:
        self.read_fd, self.out_fd = read_fd, out_fd
        self.thread = threading.Thread(target=self._run, name="native-log-filter", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            self._pass_on([line + b"\n" for line in lines])
        if pending:
            self._pass_on([pending])
        os.close(self.read_fd)

    def _pass_on(self, lines: List[bytes]) -> None:
        kept, dropping = [], False
        for line in lines:
            text = line.decode("utf-8", "replace")
            if is_native_log_record(text):
                dropping = True
            elif _RECORD.match(text):  # a fatal record: kept, and so is what follows it
                dropping = False
                kept.append(line)
            elif not dropping:
                kept.append(line)
        if kept:
            with contextlib.suppress(OSError):
                os.write(self.out_fd, b"".join(kept))


def _python_stderr_fd() -> Optional[int]:
    """The descriptor ``sys.stderr`` writes to, or None when it is no real file (pytest)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return None


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Drop the backend's native log records from standard error while the block runs.

    Descriptor 2 is pointed at a pipe read by a thread that passes everything on to the real
    standard error except the records :func:`is_native_log_record` names. Python's own
    ``sys.stderr`` writes to the real standard error directly meanwhile, so its messages and
    prompts keep their order with standard output. Both are restored on leaving the block.
    Where descriptor 2 cannot be duplicated (a closed standard error), it does nothing.
    """
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        sys.stderr.flush()
    try:
        real = os.dup(2)
    except OSError:
        yield
        return
    read_fd, write_fd = os.pipe()
    log_filter = _Filter(read_fd, real)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    python_stderr = sys.stderr
    if _python_stderr_fd() == 2:
        sys.stderr = io.TextIOWrapper(
            io.FileIO(real, "w", closefd=False), encoding=python_stderr.encoding,
            errors=python_stderr.errors, line_buffering=True, write_through=True)
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            sys.stderr = python_stderr
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            sys.stderr.flush()
        # Descriptor 2 back on the real standard error closes the pipe's last writer (unless a
        # child process holds it), so the filter reads to the end and stops.
        os.dup2(real, 2)
        log_filter.thread.join(timeout=5)
        os.close(real)
