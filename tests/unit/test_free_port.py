"""Ports for the test servers: outside the range the kernel gives outgoing connections."""

from __future__ import annotations

import socket

from fincome_sandbox.launcher import free_port


def test_free_ports_are_below_the_ephemeral_range_distinct_and_bindable():
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(20_000 <= port < 32_768 for port in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", ports[-1]))
