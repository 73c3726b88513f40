"""Refuse every outgoing connection that is not to a loopback address.

Loaded by the test suite in its own process (conftest) and, through PYTHONPATH, in every
subprocess the tests start (a scheduled crawl, `gonghui demo`). A refused connection raises
at once, so the crawl records an error and the test that caused it fails.
"""

from __future__ import annotations

import ipaddress
import socket

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_installed = False


class NonLoopbackConnection(OSError):
    """A test tried to reach a host other than this machine."""


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths (PostgreSQL socket) and the like stay on the machine
    host = str(address[0])
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise NonLoopbackConnection(f"test network guard: refused connection to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            raise NonLoopbackConnection(f"test network guard: refused connection to {address!r}")
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


install()
