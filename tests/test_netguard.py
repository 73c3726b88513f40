import socket

import pytest


def test_connection_to_a_non_loopback_address_fails_the_test():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="network guard"):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    finally:
        sock.close()


def test_connection_to_loopback_is_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()


def test_subprocesses_started_by_the_tests_load_the_guard_too():
    import subprocess
    import sys

    code = (
        "import socket\n"
        "s = socket.socket()\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 80))\n"
        "except OSError as e:\n"
        "    print('refused' if 'network guard' in str(e) else 'other', end='')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout == "refused"
