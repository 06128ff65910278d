"""Serve a model over HTTP: a JSON API with dynamic batching, and a chat page.

``shorttext-s2s serve MODEL`` runs it from the command line; :func:`serve` from Python, or
:func:`create_app` to mount the application in an ASGI server of your own. It needs the
``serve`` extra (FastAPI and uvicorn): ``pip install "shorttext-s2s[serve]"``.

Endpoints: ``POST /v1/decode``, ``GET /v1/model``, ``GET /healthz`` (liveness: answers as soon
as the process serves), ``GET /readyz`` (readiness: 200 once the decoder is compiled, 503
before), the chat page at ``/`` and FastAPI's OpenAPI pages at ``/docs`` and
``/openapi.json``. ``serve(..., workers=N)`` runs N worker processes on one port, each with
its own model and batcher; SIGTERM stops them after the requests in flight are answered.
Requests that arrive within a few milliseconds of each other are decoded together, in one
compiled batch per decoding setting (:class:`~shorttext_s2s.batching.DynamicBatcher`);
decoding runs in a worker thread, so the server keeps answering while it decodes. A bad
request gets a 4xx answer whose JSON body names the field at fault: ``{"error": {"field":
"texts[2]", "message": "..."}}``; a text longer than the model reads (``maxlen - 1``
characters) is refused so. An answer says which texts the model did not read as given
(empty, or with characters it never saw) in ``warnings``: ``[{"field": "texts[1]",
"message": "empty"}]``. A model trained with features takes each text's tags in
``features`` (``{"texts": ["sing"], "features": ["V;PST"]}``).
"""

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import socket
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Annotated, Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple

from ._checks import check_int, check_number
from .batching import DynamicBatcher
from .exceptions import ServerStartError
from .extras import import_extra

__all__ = ["ServerSettings", "create_app", "serve"]

logger = logging.getLogger(__name__)

_EXTRA = "serve"
_PURPOSE = "serving a model"
# Where a worker process of `serve(..., workers=N)` reads what to serve.
_WORKER_ENV = "SHORTTEXT_S2S_SERVE_WORKER"
# Highest sampling temperature a request may ask for: far above it the output is noise.
_MAX_TEMPERATURE = 10.0


@dataclass(frozen=True)
class ServerSettings:
    """How the server batches and what it accepts.

    Args:
        max_delay_ms: the longest a request waits for others to be decoded with it, in
            milliseconds (a number >= 0). Defaults to 5.
        max_batch: most texts decoded in one compiled call. Defaults to 256.
        batching: gather concurrent requests (True, the default) or decode each one alone.
        max_texts: most texts in one request. Defaults to 64.
        max_chars: most characters in one text; the model's own limit, ``maxlen - 1``
            characters, applies too when it is lower. Defaults to 1000.
        max_body_bytes: largest request body, in bytes. Defaults to 1 MiB.
        max_beam_width: largest ``beam_width`` a request may ask for. Defaults to 16.
        warmup: strategies (``"greedy"``, ``"sample"``, ``"beam"``, with their default
            options) compiled at start-up for every batch size and length bucket the server
            can meet. Defaults to ``("greedy",)``; other settings compile on first use.

    Raises:
        ValueError: a setting is out of range (the message names it).

    Example:

    >>> ServerSettings(max_texts=8).max_texts
    8
    """

    max_delay_ms: float = 5.0
    max_batch: int = 256
    batching: bool = True
    max_texts: int = 64
    max_chars: int = 1000
    max_body_bytes: int = 1 << 20
    max_beam_width: int = 16
    warmup: Tuple[str, ...] = ("greedy",)

    def __post_init__(self) -> None:
        from .decoding import STRATEGIES

        delay = self.max_delay_ms
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) \
                or not math.isfinite(delay) or delay < 0:
            raise ValueError(f"Received an invalid value for argument `max_delay_ms`, "
                             f"expected a finite number >= 0, got {delay!r}.")
        for name in ("max_batch", "max_texts", "max_chars", "max_body_bytes",
                     "max_beam_width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Received an invalid value for argument `{name}`, "
                                 f"expected a positive integer, got {value!r}.")
        if isinstance(self.warmup, str) or any(name not in STRATEGIES for name in self.warmup):
            raise ValueError(f"Received an invalid value for argument `warmup`, expected "
                             f"names among {sorted(STRATEGIES)}, got {self.warmup!r}.")
        object.__setattr__(self, "warmup", tuple(self.warmup))


class _RequestError(Exception):
    def __init__(self, status: int, field: Optional[str], message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _file_sha256(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _model_info(generator: Any, path: Optional[str], settings: ServerSettings) -> Dict:
    import keras

    from . import __version__
    from .decoding import STRATEGIES

    config = generator.get_config()
    encoder = generator.encoder
    selection = generator.s2sgenerator.selection
    return {
        "network": getattr(generator, "network", "lstm"),
        "bidirectional": bool(config.get("bidirectional", False)),
        "latent_dim": generator.latent_dim,
        "vocabulary_size": len(generator.encoder),
        "maxlen": generator.maxlen,
        "max_input_chars": _input_limit(generator, settings),
        "example_input": generator.example_input,
        "reverse_input": generator.reverse_input,
        "units": {"source_sep": encoder.source_sep, "target_sep": encoder.target_sep,
                  "features": list(encoder.features), "features_sep": encoder.features_sep},
        "selection": None if selection is None else selection.to_config(),
        "file": None if path is None else os.path.basename(path),
        "sha256": None if path is None else _file_sha256(path),
        "library_version": __version__,
        "backend": keras.backend.backend(),
        "strategies": sorted(STRATEGIES),
        "limits": asdict(settings),
    }


def _input_limit(generator: Any, settings: ServerSettings) -> int:
    """The most characters of a text the server accepts: the model reads ``maxlen - 1``
    (units: characters unless the model's inputs have a separator, whose units may be
    longer, so that only the server's own limit applies)."""
    if generator.encoder.source_sep is not None:
        return settings.max_chars
    return min(settings.max_chars, generator.maxlen - 1)


def _request_model(pydantic: Any, settings: ServerSettings, vocabulary: int,
                   max_chars: int) -> Any:
    """The JSON body of ``POST /v1/decode``: validates it and is its OpenAPI schema."""
    field = pydantic.Field
    text = Annotated[str, pydantic.StringConstraints(max_length=max_chars)]
    tags = Annotated[str, pydantic.StringConstraints(max_length=settings.max_chars)]
    return pydantic.create_model(
        "DecodeRequest", __config__=pydantic.ConfigDict(extra="forbid", strict=True),
        texts=(List[text], field(max_length=settings.max_texts,
                                 description="the input texts")),
        features=(Optional[List[Optional[tags]]], field(
            None, max_length=settings.max_texts,
            description="each text's tags (\"V;PST\"), for a model trained with features")),
        strategy=(Literal["greedy", "sample", "beam"], field("greedy")),
        temperature=(Optional[float], field(None, ge=0, le=_MAX_TEMPERATURE,
                                            allow_inf_nan=False,
                                            description="sample: softmax temperature")),
        top_k=(Optional[int], field(None, ge=1, le=vocabulary,
                                    description="sample: draw among the k most likely")),
        beam_width=(Optional[int], field(None, ge=1, le=settings.max_beam_width,
                                         description="beam: hypotheses kept")),
        num_results=(Optional[int], field(None, ge=1, description="beam: answer the n best "
                                                                  "with their scores")),
        seed=(Optional[int], field(None, ge=0, le=2 ** 32 - 1,
                                   description="sample: random seed (repeatable answers)")))


def _strategy_of(request: Any, max_beam_width: int) -> Any:
    from .decoding import get_strategy
    from .strategy_options import MisplacedOption, strategy_options

    given = {name: getattr(request, name)
             for name in ("temperature", "top_k", "beam_width", "num_results")}
    try:
        options = strategy_options(request.strategy, given)
    except MisplacedOption as error:
        raise _RequestError(422, error.option, str(error)) from None
    if request.strategy == "beam":
        # The library's default width, unless the server allows less.
        options.setdefault("beam_width", min(get_strategy("beam").beam_width, max_beam_width))
    width = options.get("beam_width", 0)
    if options.get("num_results", 1) > width + 1:
        raise _RequestError(422, "num_results", f"num_results must be at most beam_width + 1 "
                                                f"= {width + 1}, got {request.num_results}")
    return get_strategy(request.strategy, **options)


async def _read_json(request: Any, limit: int) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _RequestError(413, "body", f"the body has {declared} bytes, more than the "
                                         f"limit of {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _RequestError(413, "body", f"the body is larger than the limit of {limit} "
                                             f"bytes")

    def no_constants(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(bytes(body).decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _RequestError(400, "body", f"malformed JSON: {exc}") from None


def _field_name(location: Sequence[Any]) -> str:
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def create_app(model: Any, settings: Optional[ServerSettings] = None) -> Any:
    """Build the FastAPI application serving a model.

    Args:
        model: a model file path, or a trained
            :class:`~shorttext_s2s.CharBasedSeq2SeqGenerator`.
        settings: batching and limits. Defaults to :class:`ServerSettings` ``()``.

    Returns:
        The ``fastapi.FastAPI`` application (start-up warms the compiled decoder).

    Raises:
        MissingExtraError: FastAPI is not installed (the ``serve`` extra).
        ModelFileError: the model file is missing or unusable.
    """
    fastapi = import_extra("fastapi", _EXTRA, _PURPOSE)
    responses = import_extra("fastapi.responses", _EXTRA, _PURPOSE)
    pydantic = import_extra("pydantic", _EXTRA, _PURPOSE)
    from starlette.exceptions import HTTPException

    from .decoding import get_strategy
    from .generator import loadCharBasedSeq2SeqGenerator

    settings = settings or ServerSettings()
    path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    generator = loadCharBasedSeq2SeqGenerator(path) if path is not None else model
    info = _model_info(generator, path, settings)
    max_chars = info["max_input_chars"]
    body_model = _request_model(pydantic, settings, len(generator.encoder), max_chars)
    batcher = DynamicBatcher(generator, settings.max_delay_ms / 1000.0, settings.max_batch,
                             settings.batching)
    page = resources.files(__package__).joinpath("static", "chat.html").read_text("utf-8")

    # Start-up returns at once and the decoder compiles in the background, so that liveness
    # (/healthz) answers during a long warm-up; decoding requests wait until it is done, and
    # /readyz says when it is.
    ready = asyncio.Event()
    warm_up_error: List[str] = []

    async def warm_up(app: Any) -> None:
        try:
            strategies = [get_strategy(name) for name in settings.warmup]
            for callback in app.state.on_warm_up:
                callback(batcher.warm_up_shapes(strategies))
            shapes = await asyncio.to_thread(batcher.warm_up, strategies)
            logger.info("warmed up %d decoding shapes", shapes)
            for callback in app.state.on_ready:
                callback()
        except Exception as exc:  # a request then compiles what it needs, or fails alone
            logger.exception("warm-up failed")
            warm_up_error.append(f"warm-up failed: {type(exc).__name__}: {exc}")
        finally:
            ready.set()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any):
        warming = asyncio.create_task(warm_up(app))
        yield
        await warming
        await batcher.close()

    app = fastapi.FastAPI(title="shorttext-s2s", version=info["library_version"],
                          lifespan=lifespan)
    # Called with the number of shapes to compile before warming up, and once ready.
    app.state.on_warm_up = []
    app.state.on_ready = []
    app.state.batcher = batcher

    def error(status: int, field: Optional[str], message: str) -> Any:
        return responses.JSONResponse({"error": {"field": field, "message": message}},
                                      status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        return error(exc.status_code, None, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(request, exc):
        logger.exception("unexpected error answering %s", request.url.path)
        return error(500, None, "internal error; the server log has the details")

    @app.post("/v1/decode", summary="Decode texts", openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {
            "schema": body_model.model_json_schema()}}}})
    async def decode(request: fastapi.Request):
        """Answer each text; with ``num_results`` (beam), also the n best with scores."""
        try:
            payload = await _read_json(request, settings.max_body_bytes)
            try:
                parsed = body_model.model_validate(payload)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                name = _field_name(first["loc"])
                if first["type"] == "string_too_long" and name.startswith("texts["):
                    raise _RequestError(422, name, (
                        f"{name}: {len(first['input'])} characters, more than the "
                        f"{max_chars} this model reads (maxlen {generator.maxlen})"
                        if max_chars < settings.max_chars else
                        f"{name}: {len(first['input'])} characters, more than the server's "
                        f"limit of {max_chars}")) from None
                raise _RequestError(422, name, f"{name}: {first['msg']}") from None
            strategy = _strategy_of(parsed, settings.max_beam_width)
            if parsed.features is not None and len(parsed.features) != len(parsed.texts):
                raise _RequestError(422, "features", f"features: {len(parsed.features)} "
                                                     f"given for {len(parsed.texts)} texts; "
                                                     f"give one (or null) for each text")
        except _RequestError as exc:
            return error(exc.status, exc.field, exc.message)
        await ready.wait()
        found = await batcher.decode(parsed.texts, strategy, parsed.seed,
                                     parsed.num_results or 1, parsed.features)
        answer: Dict[str, Any] = {"outputs": [each[0][0] for each in found]}
        if parsed.num_results is not None:
            answer["nbest"] = [[{"text": text, "log_prob": score} for text, score in each]
                               for each in found]
        notes = generator.input_notes(parsed.texts, parsed.features)
        if any(notes):
            answer["warnings"] = [{"field": f"texts[{index}]", "message": note}
                                  for index, note in enumerate(notes) if note]
        # A response object skips FastAPI's generic encoding: the answer is plain JSON already,
        # and under load that per-request work competes with decoding for the CPU.
        return responses.JSONResponse(answer)

    @app.get("/v1/model", summary="The model served and the server's limits")
    async def model_info():
        """Network, sizes, file digest (SHA-256 of the file's bytes), version, limits."""
        return info

    @app.get("/healthz", summary="Liveness, with the request and batch counts")
    async def health():
        """``{"status": "ok", "requests": ..., "batches": ..., "pid": ...}``: the process
        answers (``pid`` tells the workers of ``serve --workers N`` apart)."""
        return {"status": "ok", "requests": batcher.requests, "batches": batcher.batches,
                "pid": os.getpid()}

    @app.get("/readyz", summary="Readiness: the model is loaded and its decoder compiled",
             responses={503: {"description": "Still compiling, or the warm-up failed"}})
    async def readiness():
        """200 ``{"status": "ready"}`` once the start-up warm-up is done; 503
        ``{"status": "warming up"}`` before, or ``{"status": "warm-up failed: ..."}``."""
        if warm_up_error or not ready.is_set():
            return responses.JSONResponse(
                {"status": warm_up_error[0] if warm_up_error else "warming up"},
                status_code=503)
        return {"status": "ready"}

    @app.get("/", include_in_schema=False)
    async def chat_page():
        return responses.HTMLResponse(page)

    return app


def serve(model: Any, host: str = "127.0.0.1", port: int = 8000,
          settings: Optional[ServerSettings] = None, *, workers: int = 1,
          shutdown_timeout: float = 30.0, log_level: str = "info",
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
        settings: batching and limits. Defaults to :class:`ServerSettings` ``()``.
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
    uvicorn = import_extra("uvicorn", _EXTRA, _PURPOSE)
    workers = check_int(workers, "workers")
    shutdown_timeout = check_number(shutdown_timeout, "shutdown_timeout", minimum=0)
    settings = settings or ServerSettings()
    path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    if workers > 1 and path is None:
        raise ValueError(f"Received an invalid value for argument `model`: {workers} workers "
                         f"each load the model, so give its file path, not a generator.")
    if workers == 1:
        app = create_app(model, settings)
    else:
        from .fileformat import read_model_file

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
        # survive a fork); they find what to serve in the environment they inherit.
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
