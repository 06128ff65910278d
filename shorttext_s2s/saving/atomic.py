"""Files that appear whole or not at all: written beside their place, then renamed over it."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Iterator

from ..exceptions import PathLike

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Give a temporary path beside ``path``; on success, rename it over ``path``.

    The temporary file is flushed to disk before the rename, and the directory after it, so
    neither an exception, nor a killed process, nor a power cut leaves ``path`` half written:
    it holds its previous content or the new one. If the block raises, the temporary file is
    removed; if the process is killed, it may stay behind as ``.<name>.<random>.tmp``.

    Yields:
        The temporary path to write.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=directory)
    os.close(handle)
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        # mkstemp creates the file as 0600; give it the mode a plain open() would have.
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _mode_for(path: str) -> int:
    """The permission bits of the file being replaced, or the umask's default for a new one."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0o022)  # the only portable way to read the umask is to set it
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
