"""The app's gate (pure ASGI middleware): request size limit, then the access token.

- A body larger than ``max_request_bytes`` gets 413: at once when ``Content-Length`` says
  so, otherwise as soon as the bytes read pass the limit (the response is replaced by 413).
- Every path except ``/login``, ``/logout`` and ``/static/*`` needs a valid token
  (``Authorization: Bearer``, ``X-Vendorlink-Token`` or the login cookie). Without one, API
  paths get 401 with ``WWW-Authenticate: Bearer``; pages redirect to ``/login``.
- The token's name (the *actor* of the audit log) and the client address go in
  ``scope["state"]``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from vendorlink.app.security import COOKIE_NAME, HEADER_NAME, TokenChecker

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = ("/login", "/logout", "/favicon.ico")
API_PREFIXES = ("/api",)


def token_of(headers: dict[bytes, bytes]) -> str | None:
    """The token a request carries: bearer header, then the vendorlink header, then cookie."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    header = headers.get(HEADER_NAME.encode(), b"").decode("latin-1").strip()
    if header:
        return header
    cookie = headers.get(b"cookie", b"").decode("latin-1")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie)
        except Exception:  # a malformed cookie header is the same as none
            return None
        if COOKIE_NAME in jar:
            return jar[COOKIE_NAME].value or None
    return None


class Guard:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, tokens: TokenChecker, max_request_bytes: int) -> None:
        self.app = app
        self.tokens = tokens
        self.max_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path: str = scope["path"]
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                await _json(send, 400, "the Content-Length header is not a number")
                return
            if too_big:
                await _json(send, 413, self._too_large_message())
                return
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        actor = None if public else self.tokens.actor(token_of(headers))
        if not public and actor is None:
            if path.startswith(API_PREFIXES) or not _wants_html(headers):
                await _json(
                    send,
                    401,
                    "a valid token is required (Authorization: Bearer TOKEN, or log in)",
                    [(b"www-authenticate", b"Bearer")],
                )
            else:
                target = path + (("?" + scope["query_string"].decode()) if scope.get(
                    "query_string") else "")  # fmt: skip
                location = "/login?next=" + quote(target, safe="")
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", location.encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": b""})
            return
        state = scope.setdefault("state", {})
        state["actor"] = actor
        client = scope.get("client")
        state["client"] = client[0] if client else None
        await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, counting body bytes; past the limit the response becomes 413."""
        seen = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if not started and message["type"] == "http.response.start":
                    started = True
                    await _json(send, 413, self._too_large_message())
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise  # a real error; only the disconnect we caused is ours to answer
        if exceeded and not started:
            await _json(send, 413, self._too_large_message())

    def _too_large_message(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes:,} bytes"


def _wants_html(headers: dict[bytes, bytes]) -> bool:
    return b"text/html" in headers.get(b"accept", b"")


async def _json(
    send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
