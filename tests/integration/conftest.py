"""Shared helpers for the integration tests.

Generic fixtures only: nothing here knows about a particular test.

`start_server` yields a function that starts a server binary on a free
loopback port, waits until it answers a DNS query, and kills it at teardown:

    def test_x(start_server):
        srv = start_server("/usr/sbin/rbldnsd",
                           ["-n", "-u", "nobody", "-b", "127.0.0.1/{port}",
                            "bl.test:ip4set:/tmp/d/list"])
        ... srv.port, srv.addr, srv.proc, srv.log_text() ...

Every argument may contain `{port}` and `{addr}`; they are replaced by the
chosen port and loopback address.  If the binary exits or does not answer
within `timeout` seconds, the test fails with the binary's own output.
"""

import os
import shlex
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from netutil import LOOPBACK, free_port  # noqa: F401 (tests import it from here too)


def dns_probe(addr, port, qname="version.bind.", qtype=16, qclass=3,
              timeout=0.2):
    """Send one plain DNS query; True if any DNS reply with our id came back."""
    qid = int.from_bytes(os.urandom(2), "big")
    wire = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        if label:
            wire += bytes([len(label)]) + label.encode()
    wire += b"\0" + struct.pack(">HH", qtype, qclass)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(wire, (addr, port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, _ = s.recvfrom(65535)
            except (socket.timeout, ConnectionRefusedError):
                return False
            if len(data) >= 12 and data[:2] == wire[:2]:
                return True
        return False
    finally:
        s.close()


class ServerHandle:
    """One started server: its process, address, port and output file."""

    def __init__(self, name, argv, addr, port, proc, log_path):
        self.name = name
        self.argv = argv
        self.addr = addr
        self.port = port
        self.proc = proc
        self.log_path = log_path

    @property
    def command_line(self):
        return " ".join(shlex.quote(a) for a in self.argv)

    def alive(self):
        return self.proc.poll() is None

    def log_text(self, limit=20000):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        return text[-limit:]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass


@pytest.fixture
def start_server(tmp_path_factory):
    """Yield start(binary, args, ...) -> ServerHandle; stops them all after."""
    started = []
    logdir = tmp_path_factory.mktemp("server-logs")

    def start(binary, args, name=None, addr=LOOPBACK, timeout=10.0,
              probe=None, env=None, cwd=None, attempts=3):
        """Start `binary args` on a free port of `addr` and wait for answers.

        probe: callable(addr, port) -> bool telling whether the server
        answers; defaults to a CH TXT version.bind query over UDP (any reply,
        even REFUSED, counts).
        """
        name = name or os.path.basename(binary)
        if not os.path.exists(binary):
            pytest.fail(f"{name}: binary {binary} does not exist")
        probe = probe or (lambda a, p: dns_probe(a, p))
        last_error = ""
        for attempt in range(attempts):
            port = free_port(addr)
            argv = [binary] + [str(a).replace("{port}", str(port))
                               .replace("{addr}", addr) for a in args]
            fd, log_path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log",
                                            dir=str(logdir))
            log = os.fdopen(fd, "w")
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                    start_new_session=True)
            log.close()
            handle = ServerHandle(name, argv, addr, port, proc, log_path)
            started.append(handle)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                if probe(addr, port):
                    return handle
                time.sleep(0.05)
            handle.stop()
            last_error = (f"{name} did not answer on {addr}/{port} "
                          f"(exit status {proc.poll()})\n"
                          f"command: {handle.command_line}\n"
                          f"output:\n{handle.log_text()}")
            # Retry only when the port was taken between choosing and binding.
            if "in use" not in handle.log_text().lower():
                break
        pytest.fail(last_error)

    yield start

    for handle in started:
        handle.stop()
