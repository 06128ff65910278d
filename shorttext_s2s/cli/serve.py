"""``shorttext-s2s serve``: a model over HTTP, with its limits from the catalog."""

from __future__ import annotations

import argparse
import os
from typing import Any, Iterable, Tuple

from .. import catalog
from .common import say
from .types import KINDS, strategy_list

#: The environment variable the API key may be given in.
API_KEY_VARIABLE = "SHORTTEXT_S2S_API_KEY"

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


def _hosts(text: str) -> Tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected host names, comma-separated, or '*', "
                                         f"got {text!r}")
    return names


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
    access = parser.add_argument_group("who may call")
    access.add_argument("--api-key", metavar="KEY", default=os.environ.get(API_KEY_VARIABLE),
                        help=f"require 'Authorization: Bearer KEY' on every request but the "
                             f"probes and the chat page (which asks for it); better given in "
                             f"the environment variable {API_KEY_VARIABLE}, which other users "
                             f"of the machine cannot read as they can a command line "
                             f"(default: that variable, else no key)")
    access.add_argument("--allowed-hosts", type=_hosts, metavar="NAMES",
                        help="the names the Host header of a request may give, "
                             "comma-separated, or '*' for any (default: localhost, 127.0.0.1 "
                             "and ::1 when --host is a loopback address, else any)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the command; returns the exit status."""
    from ..serving import ServerSettings, serve

    try:
        settings = ServerSettings(
            batching=not args.no_batching, warmup=args.warmup,
            api_key=args.api_key if args.api_key and args.api_key.strip() else None,
            allowed_hosts=args.allowed_hosts,
            **{name: getattr(args, name) for name in catalog.SERVER_LIMITS})
    except ValueError as error:
        parser.error(str(error))
    serve(args.model, settings=settings, echo=say,
          **{name: getattr(args, name) for name in catalog.SERVE_OPTIONS})
    return 0
