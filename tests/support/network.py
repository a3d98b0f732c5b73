"""No network for unit tests: what ``tests/conftest.py`` patches in for each of them."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable
from typing import Any

import pytest

#: Database drivers whose connections libpq or libmysqlclient open, not Python's socket.
C_DRIVERS = ("psycopg2", "MySQLdb")


class NetworkInUnitTest(RuntimeError):
    """A unit test tried to open a network connection."""


def refuse_network(monkeypatch: pytest.MonkeyPatch, test: str) -> None:
    """Make socket connects (Unix sockets aside) and :data:`C_DRIVERS` connections raise
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

    def no_c_driver(*args: object, **kwargs: object) -> Any:  # they open their own sockets
        raise refused(kwargs.get("host") or args or "a database server")

    monkeypatch.setattr(socket.socket, "connect", guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(socket.socket.connect_ex))
    for driver in C_DRIVERS:
        if importlib.util.find_spec(driver) is not None:
            monkeypatch.setattr(f"{driver}.connect", no_c_driver)
