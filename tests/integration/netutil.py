"""Small network helpers for the integration tests, importable by name
(tests/flood has a conftest.py too, so "from conftest import" is ambiguous
when both directories run in one pytest session)."""
import socket

LOOPBACK = "127.0.0.1"


def free_port(addr=LOOPBACK):
    """A port that is free for both UDP and TCP on `addr` right now."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((addr, 0))
            port = u.getsockname()[1]
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind((addr, port))
            except OSError:
                continue
            finally:
                t.close()
            return port
        finally:
            u.close()
    raise RuntimeError("no free loopback port found")
