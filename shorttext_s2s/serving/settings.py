"""The server's limits and batching, with their defaults from the catalog."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional, Tuple

from .. import catalog

__all__ = ["ServerSettings", "LOOPBACK_NAMES"]

_LIMITS = catalog.SERVER_LIMITS
#: The ``Host`` names a server bound to a loopback address answers by default.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


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
        api_key: if given, every request but the probes (``/healthz``, ``/readyz``) and the
            chat page must carry ``Authorization: Bearer <api_key>`` (401 otherwise).
            Defaults to None: no key.
        allowed_hosts: the names a request's ``Host`` header may give (without the port;
            ``"*"`` for any), 400 otherwise: a page on another site cannot reach a server on
            this machine by pointing a name of its own at 127.0.0.1 (DNS rebinding). Defaults
            to None: any, except that :func:`~shorttext_s2s.serving.serve` bound to a
            loopback address allows :data:`LOOPBACK_NAMES` only.

    Raises:
        ValueError: a setting is out of range (the message names it).

    Example:

    >>> ServerSettings(max_texts=8).max_texts
    8
    """

    max_delay_ms: float = _LIMITS["max_delay_ms"].default
    max_batch: int = _LIMITS["max_batch"].default
    batching: bool = True
    max_texts: int = _LIMITS["max_texts"].default
    max_chars: int = _LIMITS["max_chars"].default
    max_body_bytes: int = _LIMITS["max_body_bytes"].default
    max_beam_width: int = _LIMITS["max_beam_width"].default
    warmup: Tuple[str, ...] = catalog.SERVER_WARMUP
    api_key: Optional[str] = field(default=None, repr=False)
    allowed_hosts: Optional[Tuple[str, ...]] = None

    def __post_init__(self) -> None:
        delay = self.max_delay_ms
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) \
                or not math.isfinite(delay) or delay < 0:
            raise ValueError(f"Received an invalid value for argument `max_delay_ms`, "
                             f"expected a finite number >= 0, got {delay!r}.")
        for name in (option.name for option in _LIMITS.values()
                     if option.kind == "positive_int"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Received an invalid value for argument `{name}`, "
                                 f"expected a positive integer, got {value!r}.")
        strategies = catalog.STRATEGIES
        if isinstance(self.warmup, str) or any(name not in strategies for name in self.warmup):
            raise ValueError(f"Received an invalid value for argument `warmup`, expected "
                             f"names among {sorted(strategies)}, got {self.warmup!r}.")
        object.__setattr__(self, "warmup", tuple(self.warmup))
        if self.api_key is not None:
            if not isinstance(self.api_key, str) or not self.api_key.strip():
                raise ValueError("Received an invalid value for argument `api_key`, expected "
                                 "a non-empty string or None.")
            # As a client sends it: the guard compares the token without surrounding blanks.
            object.__setattr__(self, "api_key", self.api_key.strip())
        if self.allowed_hosts is not None:
            if isinstance(self.allowed_hosts, str) or not all(
                    isinstance(host, str) and host for host in self.allowed_hosts):
                raise ValueError(f"Received an invalid value for argument `allowed_hosts`, "
                                 f"expected host names, got {self.allowed_hosts!r}.")
            object.__setattr__(self, "allowed_hosts",
                               tuple(host.lower() for host in self.allowed_hosts))

    def public(self) -> Dict[str, Any]:
        """The settings ``GET /v1/model`` shows: all but the key (whether there is one)."""
        shown = asdict(self)
        shown["api_key"] = self.api_key is not None
        return shown
