"""The outermost ASGI layer: statistics and injected faults around the contract endpoints."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fincome_airflow import contract
from fincome_sandbox.state import SandboxState
from fincome_sandbox.stats import RESET_STATUS

log = logging.getLogger(__name__)

#: Paths outside the contract: never counted, never faulted.
UNCOUNTED_PREFIXES = ("/_sandbox", "/openapi.json", "/docs", "/redoc")
UNMATCHED = "(unmatched)"


def _abort_connection(send: Send) -> bool:
    """Drop the client's TCP connection with a reset; return whether it was possible.

    Works with uvicorn when this layer is the outermost app: ``send`` is then a method of
    uvicorn's request cycle, which holds the asyncio transport.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - the close still drops the connection
            log.debug("SO_LINGER not settable; dropping the connection with a FIN")
    transport.abort()
    return True


async def _send_json(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class SandboxMiddleware:
    """Count contract requests and inject the configured faults before the app answers."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state
        self.routes: list[Any] = list(getattr(app, "routes", []))

    def route_of(self, scope: Scope) -> str:
        """Return ``"METHOD /path/{template}"`` of a request."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                template = getattr(route, "path_format", None) or route.path
                return f"{scope['method']} {template}"
        return f"{scope['method']} {UNMATCHED}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCOUNTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        state = self.state
        stats = state.stats
        route = self.route_of(scope)
        status: int | str = 500
        stats.started()
        try:
            faults = state.faults
            retry_after = faults.retry_after()
            if retry_after is not None:
                status = contract.STATUS_RATE_LIMITED
                await _send_json(
                    send,
                    status,
                    "Rate limit exceeded",
                    {contract.RETRY_AFTER_HEADER: str(retry_after)},
                )
                return
            fault = faults.draw()
            if fault is not None:
                stats.fault(fault)
            if fault == "reset" and _abort_connection(send):
                status = RESET_STATUS
                await asyncio.sleep(0)
                return
            if fault == "stall":
                await asyncio.sleep(faults.options.stall_seconds)
            if faults.options.latency_ms:
                await asyncio.sleep(faults.options.latency_ms / 1000)
            if fault == "error":
                status = faults.error_status()
                await _send_json(send, status, "Injected server error", {})
                return

            async def send_capturing(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            await self.app(scope, receive, send_capturing)
        finally:
            stats.finished(route, status)
