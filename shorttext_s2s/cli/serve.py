"""``shorttext-s2s serve``: a model over HTTP, with its limits from the catalog."""

from __future__ import annotations

import argparse
from typing import Any, Iterable

from .. import catalog
from .common import say
from .types import KINDS, strategy_list

NAME = "serve"
TAKES_MODEL = True
HELP = "serve a trained model over HTTP (JSON API and chat page)"
DESCRIPTION = (
    "Serve a model over HTTP until Ctrl-C or SIGTERM (which let the requests in flight "
    "finish): POST /v1/decode, GET /v1/model, GET /healthz (liveness), GET /readyz "
    "(readiness: 503 until the decoder is compiled), a chat page at / and the API "
    "documentation at /docs. Concurrent requests are decoded together; --workers runs "
    "several processes on the port. Needs the 'serve' extra.")


def _add_options(group: Any, options: Iterable[catalog.Option]) -> None:
    for option in options:
        extra = {"choices": catalog.LOG_LEVELS} if option.name == "log_level" else {}
        group.add_argument(option.flag, type=KINDS[option.kind], default=option.default,
                           metavar=None if extra else option.metavar,
                           help=f"{option.help} (default: %(default)s)", **extra)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own options."""
    _add_options(parser, catalog.SERVE_OPTIONS.values())
    limits = parser.add_argument_group("batching and limits")
    _add_options(limits, catalog.SERVER_LIMITS.values())
    limits.add_argument("--no-batching", action="store_true",
                        help="decode each request alone (to measure what batching gains)")
    limits.add_argument("--warmup", type=strategy_list, default=catalog.SERVER_WARMUP,
                        metavar="STRATEGIES",
                        help=f"strategies compiled at start-up, comma-separated, or 'none' "
                             f"(default: {','.join(catalog.SERVER_WARMUP)}; others compile "
                             f"on first use)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    from ..serving import ServerSettings, serve

    settings = ServerSettings(batching=not args.no_batching, warmup=args.warmup,
                              **{name: getattr(args, name) for name in catalog.SERVER_LIMITS})
    serve(args.model, settings=settings, echo=say,
          **{name: getattr(args, name) for name in catalog.SERVE_OPTIONS})
    return 0
