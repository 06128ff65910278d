"""The backends' native log lines, kept off standard error.

TensorFlow's and XLA's C++ runtimes (JAX shares XLA) log through absl straight to file
descriptor 2, not through Python: the absl notice, the oneDNN notice, the CPU-feature line,
"Compiled cluster using XLA!". ``TF_CPP_MIN_LOG_LEVEL`` hides some of them on some builds and
not others (TensorFlow 2.21 prints the oneDNN lines at every level), and the only variable
that removes the oneDNN lines, ``TF_ENABLE_ONEDNN_OPTS=0``, changes the numerics and the speed.
So the lines are taken out where they are written: :func:`quiet_native_logs` points
descriptor 2 at a socket and passes on everything but the backend's log records.

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
import socket
import sys
import threading
from typing import Iterator, List, Optional

__all__ = ["quiet_native_logs", "is_native_log_record"]

# absl's and glog's record prefix: severity, MMDD, time, thread id, file:line, then "] ".
_RECORD = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] ")
# The longest write passed on whole; the runtime's records are a few hundred bytes.
_MAX_PACKET = 1 << 20
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
    """Reads what is written to descriptor 2 and passes on all but the native log records.

    Descriptor 2 is one end of a socket pair of sequenced packets, so that each ``write``
    arrives as one packet. A record's continuation lines (the CPU-feature record spans two)
    are the lines after it in the same packet: the runtime's logger writes a record whole in
    one call, and a line another writer writes right after it is not taken for one.
    """

    def __init__(self, reader: socket.socket, out_fd: int) -> None:
        self.reader, self.out_fd = reader, out_fd
        self.thread = threading.Thread(target=self._run, name="native-log-filter", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pending = b""  # the start of a line a writer has not ended yet
        while True:
            try:
                packet = self.reader.recv(_MAX_PACKET)
            except OSError:
                packet = b""
            if not packet:
                break
            *lines, pending = (pending + packet).split(b"\n")
            self._pass_on([line + b"\n" for line in lines])
        if pending:
            self._pass_on([pending])
        self.reader.close()

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

    Descriptor 2 is pointed at a socket read by a thread that passes everything on to the real
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
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for end, option in ((reader, socket.SO_RCVBUF), (writer, socket.SO_SNDBUF)):
        end.setsockopt(socket.SOL_SOCKET, option, _MAX_PACKET)
    log_filter = _Filter(reader, real)
    os.dup2(writer.fileno(), 2)
    writer.close()
    python_stderr = sys.stderr
    if _python_stderr_fd() == 2:
        sys.stderr = io.TextIOWrapper(
            io.FileIO(real, "w", closefd=False), encoding=python_stderr.encoding,
            errors=python_stderr.errors, line_buffering=True)
    try:
        yield
    finally:
        if sys.stderr is not python_stderr:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            sys.stderr = python_stderr
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            sys.stderr.flush()
        # Descriptor 2 back on the real standard error closes the socket's last writer (unless
        # a child process holds it), so the filter reads to the end and stops.
        os.dup2(real, 2)
        log_filter.thread.join(timeout=5)
        os.close(real)
