"""Unit tests run without network: ``tests/conftest.py`` refuses their connections."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import create_engine
from support.network import NetworkInUnitTest


def test_a_unit_test_that_opens_a_tcp_connection_is_told_to_move_to_integration():
    with pytest.raises(NetworkInUnitTest, match="belongs in tests/integration"):
        socket.create_connection(("127.0.0.1", 5432), timeout=1)


def test_a_unit_test_that_connects_to_postgresql_is_refused_before_libpq_dials():
    engine = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    with pytest.raises(NetworkInUnitTest, match=r"test_no_network\.py"):
        engine.connect()


def test_a_unix_socket_pair_still_works_in_a_unit_test():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
