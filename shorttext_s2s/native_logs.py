"""The backends' native log lines, kept off standard error.

TensorFlow's and XLA's C++ runtimes (JAX shares XLA) log through absl straight to file
descriptor 2, not through Python: the absl notice, the oneDNN notice, the CPU-feature line,
"Compiled cluster using XLA!". ``TF_CPP_MIN_LOG_LEVEL`` hides some of them on some builds and
not others (TensorFlow 2.21 prints the oneDNN lines at every level), and the only variable
that removes the oneDNN lines, ``TF_ENABLE_ONEDNN_OPTS=0``, changes the numerics and the speed.
So the lines are taken out where they are written: :func:`quiet_native_logs` points
descriptor 2 at a socket and passes on everything but the backend's information and warning
records. The filter is a small process of its own, so that what the runtime writes just before
it aborts (a fatal record, ``Check failed``) still reaches standard error when the process
that wrote it is gone.

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
import signal
import socket
import subprocess
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
# Error records that are notices: they stop nothing, and TensorFlow writes them on every run
# of some machines (the first on each CPU without AVX-512).
_ERROR_NOTICES = ("oneDNN supports DT_BOOL only on platforms with AVX-512",)


def is_native_log_record(line: str) -> bool:
    """Whether ``line`` starts one of the native runtime's log records that are dropped.

    Information and warning records are dropped (the absl notice, the oneDNN and CPU-feature
    lines, "Compiled cluster using XLA!"), and the error records that are known notices
    (``oneDNN supports DT_BOOL only on platforms with AVX-512``). Every other error record and
    every fatal one is kept: a fatal one comes just before the process aborts, and an error
    one may say why something fails.

    >>> is_native_log_record("I0000 00:00:1796224335.068453    2190 device_compiler.h:208] "
    ...                      "Compiled cluster using XLA!")
    True
    >>> is_native_log_record("F0000 00:00:1.5 12 check.cc:1] Check failed")
    False
    """
    record = _RECORD.match(line)
    return line.startswith(_ABSL_NOTICE) or (record is not None and (
        line[0] in "IW" or (line[0] == "E" and line[record.end():].startswith(_ERROR_NOTICES))))


class _Filter:
    """Reads what is written to descriptor 2 and passes on all but the native log records.

    Descriptor 2 is one end of a socket pair of sequenced packets, so that each ``write``
    arrives as one packet. A record's continuation lines (the CPU-feature record spans two)
    are the lines after it in the same packet: the runtime's logger writes a record whole in
    one call, and a line another writer writes right after it is not taken for one.
    """

    def __init__(self, reader: socket.socket, out_fd: int) -> None:
        self.reader, self.out_fd = reader, out_fd

    def run(self) -> None:
        """Pass on what arrives until every writer has closed its end."""
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
            elif _RECORD.match(text):  # an error or fatal record: kept, with what follows it
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

    Descriptor 2 is pointed at a socket read by a filter process (a thread where none can
    start) that passes everything on to the real
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
    finish = _start_filter(reader, real)
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
        finish()
        os.close(real)


def _start_filter(reader: socket.socket, out_fd: int):
    """Run the filter on ``reader`` in a process of its own (reading it on descriptor 0 and
    writing to ``out_fd`` as its descriptor 1), or, where none can start, in a thread; return
    what waits for it to pass on the last of it."""
    child = None
    # A frozen or embedded program's executable is no Python to run the filter with.
    if sys.executable and not getattr(sys, "frozen", False):
        with contextlib.suppress(OSError, ValueError):
            # Isolated (-I: no script directory, user site or PYTHON* variables) and without
            # site (-S): the filter needs the standard library only, and starts in
            # milliseconds.
            child = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__)],
                                     stdin=reader.fileno(), stdout=out_fd)
    if child is not None:
        reader.close()  # the child's now: it sees the end when the last writer closes

        def finish() -> None:
            # A process started inside the block may hold a writer still: the filter then
            # goes on for it, and exits when it does.
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
        return finish
    thread = threading.Thread(target=_Filter(reader, out_fd).run, name="native-log-filter",
                              daemon=True)
    thread.start()
    return lambda: thread.join(timeout=5)


if __name__ == "__main__":
    # The filter process: the process it filters for handles Ctrl-C and SIGTERM, and this one
    # passes on what that one wrote until its end closes, even after it is killed.
    for _signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_signal, signal.SIG_IGN)
    _Filter(socket.socket(fileno=0), 1).run()
