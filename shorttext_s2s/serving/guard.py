"""Who may call the server: the ``Host`` names it answers and the API key it asks for.

:class:`Guard` is a plain ASGI middleware (no per-request cost beyond two header lookups)
that refuses, with the server's JSON errors, a request whose ``Host`` is none of
:attr:`~shorttext_s2s.serving.ServerSettings.allowed_hosts` (400: a page on another site
that points a name of its own at 127.0.0.1, DNS rebinding, reaches nothing) and, with an
:attr:`~shorttext_s2s.serving.ServerSettings.api_key`, a request to anything but the probes
and the chat page without ``Authorization: Bearer <key>`` (401).
"""

from __future__ import annotations

import hmac
from typing import Any, Callable, Optional

from .settings import ServerSettings

__all__ = ["Guard", "host_name", "OPEN_PATHS"]

#: What answers without the key: the probes (a kubelet has no key) and the chat page, whose
#: requests then ask for it.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/"})


def host_name(header: str) -> str:
    """The name of a ``Host`` header, without its port, in lower case.

    Example:

    >>> [host_name(value) for value in ("127.0.0.1:8000", "[::1]:8000", "LocalHost")]
    ['127.0.0.1', '::1', 'localhost']
    """
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 address, with or without a port
        return value[1:value.find("]")] if "]" in value else value[1:]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class Guard:
    """The ASGI middleware that checks ``Host`` and the API key before the application.

    Args:
        app: the ASGI application it guards.
        settings: the :class:`~shorttext_s2s.serving.ServerSettings` with ``allowed_hosts``
            and ``api_key``.
        refuse: makes the response of a refused request from ``(status, field, message)``.
    """

    def __init__(self, app: Any, settings: ServerSettings,
                 refuse: Callable[[int, str, str], Any]) -> None:
        self.app, self.refuse = app, refuse
        hosts = settings.allowed_hosts
        self.hosts: Optional[frozenset] = (None if hosts is None or "*" in hosts
                                           else frozenset(hosts))
        self.key: Optional[bytes] = (None if settings.api_key is None
                                     else settings.api_key.encode("utf-8"))

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            refused = self._check(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _check(self, scope: dict) -> Any:
        headers = dict(scope.get("headers") or ())
        if self.hosts is not None:
            name = host_name(headers.get(b"host", b"").decode("latin-1"))
            if name not in self.hosts:
                return self.refuse(400, "Host", f"Host: {name!r} is not a name of this server "
                                                f"(allowed: {', '.join(sorted(self.hosts))})")
        if self.key is not None and scope.get("path") not in OPEN_PATHS:
            scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.key):
                response = self.refuse(401, "Authorization", "Authorization: expected "
                                                             "'Bearer' and the server's API key")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        return None
