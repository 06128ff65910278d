"""The web application: ``POST /v1/decode`` with dynamic batching, probes, the chat page."""

import asyncio
import contextlib
import json
import logging
import os
from importlib import resources
from typing import Any, Dict, List, Optional

from ..decoding import get_strategy
from ..extras import import_extra
from ..generator import loadCharBasedSeq2SeqGenerator
from .batcher import DynamicBatcher
from .guard import Guard
from . import schema
from .schema import RequestError, field_name, read_json, request_model, strategy_of
from .settings import ServerSettings

__all__ = ["create_app", "json_body", "EXTRA", "PURPOSE"]

logger = logging.getLogger(__name__)

#: The extra that installs what serving needs.
EXTRA = "serve"
#: What the extra is for, in the error raised without it.
PURPOSE = "serving a model"


def json_body(content: Any) -> bytes:
    """``content`` as the bytes of a JSON response, as Starlette writes them (UTF-8, compact);
    where a text holds lone surrogates, which UTF-8 cannot encode (a vocabulary read from
    undecodable bytes has them), with every non-ASCII character escaped instead.

    Example:

    >>> json_body({"outputs": ["é", "\\udce9"]})
    b'{"outputs":["\\\\u00e9","\\\\udce9"]}'
    """
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


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
    fastapi = import_extra("fastapi", EXTRA, PURPOSE)
    responses = import_extra("fastapi.responses", EXTRA, PURPOSE)
    pydantic = import_extra("pydantic", EXTRA, PURPOSE)
    from starlette.exceptions import HTTPException

    settings = settings or ServerSettings()
    path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    generator = loadCharBasedSeq2SeqGenerator(path) if path is not None else model
    # schema's, called by its module: the route below has the name of the endpoint.
    info = schema.model_info(generator, path, settings)
    max_chars = info["max_input_chars"]
    body_model = request_model(pydantic, settings, len(generator.encoder), max_chars)
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

    def answer_json(content: Any, status: int = 200) -> Any:
        return responses.Response(json_body(content), status_code=status,
                                  media_type="application/json")

    def error(status: int, field: Optional[str], message: str) -> Any:
        return answer_json({"error": {"field": field, "message": message}}, status)

    if settings.allowed_hosts is not None or settings.api_key is not None:
        app.add_middleware(Guard, settings=settings, refuse=error)

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
            kind = request.headers.get("content-type", "")
            if kind.split(";")[0].strip().lower() != "application/json":
                # A page on another site may POST text/plain without asking first (no CORS
                # preflight); only JSON, which it cannot send so, reaches the decoder.
                raise RequestError(415, "Content-Type", f"Content-Type: expected "
                                                        f"application/json, got {kind!r}")
            payload = await read_json(request, settings.max_body_bytes)
            try:
                parsed = body_model.model_validate(payload)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                name = field_name(first["loc"])
                if first["type"] == "string_too_long" and name.startswith("texts["):
                    raise RequestError(422, name, (
                        f"{name}: {len(first['input'])} characters, more than the "
                        f"{max_chars} this model reads (maxlen {generator.maxlen})"
                        if max_chars < settings.max_chars else
                        f"{name}: {len(first['input'])} characters, more than the server's "
                        f"limit of {max_chars}")) from None
                raise RequestError(422, name, f"{name}: {first['msg']}") from None
            strategy = strategy_of(parsed, settings.max_beam_width)
            if parsed.features is not None and len(parsed.features) != len(parsed.texts):
                raise RequestError(422, "features", f"features: {len(parsed.features)} "
                                                     f"given for {len(parsed.texts)} texts; "
                                                     f"give one (or null) for each text")
        except RequestError as exc:
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
        return answer_json(answer)

    @app.get("/v1/model", summary="The model served and the server's limits")
    async def model_info():
        """Network, sizes, file digest (SHA-256 of the file's bytes), version, limits."""
        return answer_json(info)

    @app.get("/healthz", summary="Liveness, with the request and batch counts")
    async def health():
        """``{"status": "ok", "requests": ..., "batches": ..., "restarts": ..., "pid": ...}``:
        the process answers (``pid`` tells the workers of ``serve --workers N`` apart;
        ``restarts`` counts the batcher's task started again after it died)."""
        return {"status": "ok", "requests": batcher.requests, "batches": batcher.batches,
                "restarts": batcher.restarts, "pid": os.getpid()}

    @app.get("/readyz", summary="Readiness: the model is loaded and its decoder compiled",
             responses={503: {"description": "Still compiling, or the warm-up failed"}})
    async def readiness():
        """200 ``{"status": "ready"}`` once the start-up warm-up is done; 503
        ``{"status": "warming up"}`` before, ``{"status": "warm-up failed: ..."}``, or, once
        after the batcher's task died, ``{"status": "decoding had stopped: ...; started
        again"}`` (the probe starts it again, so that a server no longer routed to
        recovers)."""
        if warm_up_error or not ready.is_set():
            return answer_json(
                {"status": warm_up_error[0] if warm_up_error else "warming up"}, 503)
        died = batcher.ensure_running()
        if died is not None:
            return answer_json({"status": f"decoding had stopped ({type(died).__name__}: "
                                          f"{died}); started again"}, 503)
        return {"status": "ready"}

    @app.get("/", include_in_schema=False)
    async def chat_page():
        return responses.HTMLResponse(page)

    return app
