"""What ``POST /v1/decode`` accepts and ``GET /v1/model`` answers, from the catalog.

The request's strategies and their options are the catalog's
(:data:`shorttext_s2s.catalog.STRATEGIES`), so a strategy added there is served too.
"""

import hashlib
import json
import os
from typing import Annotated, Any, Dict, List, Literal, Optional, Sequence

from .. import catalog
from .._version import __version__
from ..catalog import MisplacedOption, strategy_options
from ..decoding import get_strategy
from .settings import ServerSettings

__all__ = ["RequestError", "model_info", "input_limit", "request_model", "strategy_of",
           "read_json", "field_name", "file_sha256"]


class RequestError(Exception):
    """A request the server refuses: the HTTP ``status``, the ``field`` at fault (None for
    the whole request) and a ``message`` for the client."""

    def __init__(self, status: int, field: Optional[str], message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def model_info(generator: Any, path: Optional[str], settings: ServerSettings) -> Dict:
    """What ``GET /v1/model`` answers: the network, sizes, units, selection, file digest,
    versions and limits."""
    import keras

    config = generator.get_config()
    encoder = generator.encoder
    selection = generator.selection
    return {
        "network": generator.network_name,
        "bidirectional": bool(config.get("bidirectional", False)),
        "latent_dim": generator.latent_dim,
        "vocabulary_size": len(generator.encoder),
        "maxlen": generator.maxlen,
        "max_input_chars": input_limit(generator, settings),
        "example_input": generator.example_input,
        "reverse_input": generator.reverse_input,
        "units": {"source_sep": encoder.source_sep, "target_sep": encoder.target_sep,
                  "features": list(encoder.features), "features_sep": encoder.features_sep},
        "selection": None if selection is None else selection.to_config(),
        "file": None if path is None else os.path.basename(path),
        "sha256": None if path is None else file_sha256(path),
        "library_version": __version__,
        "backend": keras.backend.backend(),
        "strategies": sorted(catalog.STRATEGIES),
        "limits": settings.public(),
    }


def input_limit(generator: Any, settings: ServerSettings) -> int:
    """The most characters of a text the server accepts: the model reads ``maxlen - 1``
    (units: characters unless the model's inputs have a separator, whose units may be
    longer, so that only the server's own limit applies)."""
    if generator.encoder.source_sep is not None:
        return settings.max_chars
    return min(settings.max_chars, generator.maxlen - 1)


def request_model(pydantic: Any, settings: ServerSettings, vocabulary: int,
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
        strategy=(Literal[tuple(catalog.STRATEGIES)], field(catalog.DEFAULT_STRATEGY)),
        **_strategy_fields(pydantic, {"temperature": catalog.MAX_TEMPERATURE,
                                      "top_k": vocabulary,
                                      "beam_width": settings.max_beam_width}),
        seed=(Optional[int], field(None, ge=0, le=2 ** 32 - 1,
                                   description="sample: random seed (repeatable answers)")))


def _strategy_fields(pydantic: Any, highest: Dict[str, float]) -> Dict[str, Any]:
    """A request field for each option of the catalog's strategies, none required:
    integers or finite numbers from 1 (0 for those that may be 0) up to ``highest``'s
    bound, where it has one."""
    fields: Dict[str, Any] = {}
    for entry in catalog.STRATEGIES.values():
        for option in entry.options:
            if option.name in fields or option.kind == "flag":
                continue
            number = float if option.kind.endswith("float") else int
            lowest = 0 if option.kind.startswith("non_negative") or number is float else 1
            extra = {"allow_inf_nan": False} if number is float else {}
            fields[option.name] = (Optional[number], pydantic.Field(
                None, ge=lowest, le=highest.get(option.name),
                description=f"{entry.name}: {option.help}", **extra))
    return fields


def strategy_of(request: Any, max_beam_width: int) -> Any:
    """The :class:`~shorttext_s2s.decoding.DecodingStrategy` a parsed request asks for.

    Raises:
        RequestError: an option of another strategy, or more results than the beam has.
    """
    given = {name: getattr(request, name) for options in catalog.STRATEGY_OPTIONS.values()
             for name in options}
    try:
        options = strategy_options(request.strategy, given)
    except MisplacedOption as error:
        raise RequestError(422, error.option, str(error)) from None
    if request.strategy == catalog.BEAM:
        # The library's default width, unless the server allows less.
        default = catalog.STRATEGIES[catalog.BEAM].option("beam_width").default
        options.setdefault("beam_width", min(default, max_beam_width))
    width = options.get("beam_width", 0)
    if options.get("num_results", 1) > width + 1:
        raise RequestError(422, "num_results", f"num_results must be at most beam_width + 1 "
                                                f"= {width + 1}, got {request.num_results}")
    return get_strategy(request.strategy, **options)


async def read_json(request: Any, limit: int) -> Any:
    """The request's JSON body, read up to ``limit`` bytes.

    Raises:
        RequestError: a larger body (413), or one that is not JSON (400).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, "body", f"the body has {declared} bytes, more than the "
                                         f"limit of {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, "body", f"the body is larger than the limit of {limit} "
                                             f"bytes")

    def no_constants(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(bytes(body).decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestError(400, "body", f"malformed JSON: {exc}") from None


def field_name(location: Sequence[Any]) -> str:
    """A validation error's location as the client wrote it: ``texts[2]``."""
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"
