"""Make the *Test* button of a ``fincome`` connection work in Airflow 3.3.2.

The connection list's *Test* button posts the stored connection with ``"port": 0`` when its port
is empty (hidden in our form); the API then sees a port that differs from the stored one and
answers "Bad Request" instead of testing. For ``fincome`` connections port 0 means "none" (the
Base URL carries the port): this ASGI middleware drops ``"port": 0`` from such test requests, so
the API tests the stored connection. Every other request passes through untouched.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fincome_airflow.provider_info import CONN_TYPE

TEST_PATH: Final = "/api/v2/connections/test"
#: Larger bodies are not a connection form; they pass untouched.
MAX_BODY: Final = 1_000_000


def without_port_zero(body: bytes) -> bytes:
    """The test request's body, ``"port": 0`` dropped for a ``fincome`` connection."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or data.get("conn_type") != CONN_TYPE or data.get("port") != 0:
        return body
    data.pop("port")
    return json.dumps(data).encode()


class PortZeroMiddleware:
    """Pure ASGI middleware (registered by the plugin as a root middleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != TEST_PATH:
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if len(body) <= MAX_BODY:
            body = without_port_zero(body)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        replay = _replay([{"type": "http.request", "body": body, "more_body": False}])
        await self.app({**scope, "headers": headers}, replay, send)


def _replay(messages: list[dict]) -> Any:
    pending = list(messages)

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive
