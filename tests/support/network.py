"""No network for unit tests: what ``tests/conftest.py`` patches in for each of them."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest


class NetworkInUnitTest(RuntimeError):
    """A unit test tried to open a network connection."""


def refuse_network(monkeypatch: pytest.MonkeyPatch, test: str) -> None:
    """Make socket connects (Unix sockets aside) and PostgreSQL connections raise
    :class:`NetworkInUnitTest` naming ``test``, until ``monkeypatch`` undoes it."""

    def refused(address: object) -> NetworkInUnitTest:
        return NetworkInUnitTest(
            f"{test} connected to {address!r}: unit tests use no network; "
            "a test that talks to a service belongs in tests/integration"
        )

    def guarded(real: Callable[..., Any]) -> Callable[..., Any]:
        def connect(sock: socket.socket, address: object, *args: object) -> Any:
            if sock.family == socket.AF_UNIX:
                return real(sock, address, *args)
            raise refused(address)

        return connect

    def no_postgres(*args: object, **kwargs: object) -> Any:  # libpq opens its own sockets
        raise refused(kwargs.get("host") or args or "PostgreSQL")

    monkeypatch.setattr(socket.socket, "connect", guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(socket.socket.connect_ex))
    monkeypatch.setattr("psycopg2.connect", no_postgres)
