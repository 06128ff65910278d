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
compiled batch per decoding setting (:class:`~shorttext_s2s.serving.batcher.DynamicBatcher`);
decoding runs in a worker thread, so the server keeps answering while it decodes. A bad
request gets a 4xx answer whose JSON body names the field at fault: ``{"error": {"field":
"texts[2]", "message": "..."}}``; a text longer than the model reads (``maxlen - 1``
characters) is refused so. An answer says which texts the model did not read as given
(empty, or with characters it never saw) in ``warnings``: ``[{"field": "texts[1]",
"message": "empty"}]``. A model trained with features takes each text's tags in
``features`` (``{"texts": ["sing"], "features": ["V;PST"]}``).

The package: :mod:`~shorttext_s2s.serving.app` (the web application),
:mod:`~shorttext_s2s.serving.schema` (what a request may hold and what the model's
description says), :mod:`~shorttext_s2s.serving.settings` (limits),
:mod:`~shorttext_s2s.serving.batcher` (dynamic batching) and
:mod:`~shorttext_s2s.serving.supervisor` (one process or several).
"""

from .app import create_app
from .batcher import DynamicBatcher
from .settings import ServerSettings
from .supervisor import serve

__all__ = ["ServerSettings", "create_app", "serve", "DynamicBatcher"]
