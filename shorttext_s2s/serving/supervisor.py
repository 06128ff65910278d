"""Running the server: one process, or several workers on one port under a supervisor."""

import dataclasses
import ipaddress
import json
import os
import socket
from dataclasses import asdict
from typing import Any, Callable, Optional, Tuple

from .. import catalog
from .._checks import check_int, check_number
from ..exceptions import ServerStartError
from ..extras import import_extra
from ..saving.container import read_model_file
from .app import EXTRA, PURPOSE, create_app
from .settings import LOOPBACK_NAMES, ServerSettings

__all__ = ["serve"]

_OPTIONS = catalog.SERVE_OPTIONS
# Where a worker process of `serve(..., workers=N)` reads what to serve.
_WORKER_ENV = "SHORTTEXT_S2S_SERVE_WORKER"


def serve(model: Any, host: str = _OPTIONS["host"].default,
          port: int = _OPTIONS["port"].default, settings: Optional[ServerSettings] = None, *,
          workers: int = _OPTIONS["workers"].default,
          shutdown_timeout: float = _OPTIONS["shutdown_timeout"].default,
          log_level: str = _OPTIONS["log_level"].default,
          echo: Optional[Callable[[str], None]] = None) -> None:
    """Serve a model until interrupted (Ctrl-C or SIGTERM end it cleanly).

    On SIGTERM (or Ctrl-C) the server stops accepting connections, answers the requests it
    has, for up to ``shutdown_timeout`` seconds, and exits. With ``workers`` > 1, the
    processes share one listening socket (the kernel hands each connection to one of them);
    each loads the model, compiles its decoder and batches its own requests. A worker that
    dies is replaced; SIGHUP replaces them one at a time (uvicorn's supervisor).

    Args:
        model: a model file path or a trained generator (see :func:`create_app`); a path
            with ``workers`` > 1 (each worker process loads it).
        host: the address to listen on. Defaults to ``127.0.0.1`` (this machine only).
        port: the port; 0 picks a free one. Defaults to 8000.
        settings: batching, limits and who may call. Defaults to :class:`ServerSettings`
            ``()``; bound to a loopback address with no ``allowed_hosts``, the server answers
            the names of :data:`~shorttext_s2s.serving.settings.LOOPBACK_NAMES` only.
        workers: worker processes, a positive integer. Defaults to 1 (this process).
        shutdown_timeout: seconds given to the requests in flight on shutdown. Defaults to
            30 (Kubernetes' default grace period).
        log_level: uvicorn's log level. Defaults to ``"info"``.
        echo: called with one line (the URL) once the server is ready. Defaults to
            printing it. With workers, it is called once, with ``starting N workers on
            URL``; each worker prints its own lines to standard output, after ``worker
            PID:``.

    Raises:
        MissingExtraError: FastAPI or uvicorn is not installed (the ``serve`` extra).
        ModelFileError: the model file is missing or unusable.
        ValueError: ``workers`` or ``shutdown_timeout`` is out of range, or ``workers`` > 1
            with a generator instead of a file.
        OSError: the address cannot be listened on.
        ServerStartError: the worker processes could not start (their log says why).
    """
    uvicorn = import_extra("uvicorn", EXTRA, PURPOSE)
    workers = check_int(workers, "workers")
    shutdown_timeout = check_number(shutdown_timeout, "shutdown_timeout", minimum=0)
    settings = settings or ServerSettings()
    if settings.allowed_hosts is None and _is_loopback(host):
        # Reached from this machine only: by its own names only, as no other site's name.
        settings = dataclasses.replace(settings, allowed_hosts=LOOPBACK_NAMES)
    path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    if workers > 1 and path is None:
        raise ValueError(f"Received an invalid value for argument `model`: {workers} workers "
                         f"each load the model, so give its file path, not a generator.")
    if workers == 1:
        app = create_app(model, settings)
    else:
        read_model_file(path)  # one clear error here rather than one per worker
    sock, url = _listen(host, port)
    echo = echo or (lambda line: print(line, flush=True))
    try:
        if workers == 1:
            _announce(app, url, echo)
            server = uvicorn.Server(uvicorn.Config(
                app, log_level=log_level, timeout_graceful_shutdown=shutdown_timeout))
            server.run(sockets=[sock])
            return
        from uvicorn.config import STARTUP_FAILURE
        from uvicorn.supervisors import Multiprocess

        # The workers are new interpreters (spawned, not forked: the backends' threads do not
        # survive a fork); they find what to serve in the environment they inherit (the API
        # key too, as exposed as in SHORTTEXT_S2S_API_KEY).
        os.environ[_WORKER_ENV] = json.dumps({"model": os.path.abspath(path), "url": url,
                                              "settings": asdict(settings)})
        config = uvicorn.Config(f"{__name__}:_worker_app", factory=True, workers=workers,
                                log_level=log_level, timeout_graceful_shutdown=shutdown_timeout)
        echo(f"starting {workers} workers on {url}")
        supervisor = Multiprocess(config, sockets=[sock])
        supervisor.run()
        if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
            raise ServerStartError("a worker process failed to start; its log above says why")
    finally:
        os.environ.pop(_WORKER_ENV, None)
        sock.close()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _listen(host: str, port: int) -> Tuple[socket.socket, str]:
    """A socket listening on ``host:port``, and its URL."""
    sock = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listening now, before uvicorn starts: a client that connects as soon as the ready
        # line is printed waits in the backlog for a moment instead of being refused.
        sock.listen(2048)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port} "
                                 f"({exc.strerror or exc})") from None
    bound = sock.getsockname()
    host = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
    return sock, f"http://{host}:{bound[1]}"


def _announce(app: Any, url: str, echo: Callable[[str], None]) -> None:
    app.state.on_warm_up.append(lambda shapes: echo(
        f"warming up: compiling the decoder for {shapes} batch shapes..."))
    app.state.on_ready.append(lambda: echo(
        f"serving on {url} (chat page {url}/, API docs {url}/docs)"))


def _worker_app() -> Any:
    """The application of one worker of ``serve(..., workers=N)`` (a uvicorn factory)."""
    spec = json.loads(os.environ[_WORKER_ENV])
    app = create_app(spec["model"], ServerSettings(**spec["settings"]))
    prefix = f"worker {os.getpid()}: "
    _announce(app, spec["url"], lambda line: print(prefix + line, flush=True))
    return app
