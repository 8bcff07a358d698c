"""Connections that never send a byte: they are closed after the idle
timeout, and at the connection cap the oldest of them makes room, so a
signed request is still answered while hundreds of them are open against a
server whose open-file limit is smaller than their number."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import faults_harness as fh
from faults_harness import harness

OPEN_FILES = 512


def with_open_file_limit(monkeypatch, tmp_path, limit: int):
    """Servers started from here on run under `ulimit -n limit` (soft and
    hard), through a wrapper script in place of the binary."""
    binary = harness.mnpd_bin()
    wrapper = tmp_path / "mnpd-ulimit"
    wrapper.write_text(f'#!/bin/sh\nulimit -n {limit} || exit 97\nexec "{binary}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(harness, "mnpd_bin", lambda: wrapper)


def silent_connections(server, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        socks.append(s)
    return socks


def is_closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.01)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (socket.timeout, BlockingIOError):
        return False


def test_silent_connections_beyond_the_cap_leave_the_api_answering(factory, monkeypatch,
                                                                     tmp_path):
    with_open_file_limit(monkeypatch, tmp_path, OPEN_FILES)
    server = factory.new("--rate-limit", "1000")
    limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
    assert f"Max open files            {OPEN_FILES}" in limits, limits
    client = fh.Client(server, timeout=20)
    socks = silent_connections(server, 600)
    try:
        t0 = time.monotonic()
        answer = client.post("DescribeMNPList",
                             {"Offset": 0, "Limit": 10, "PlatformId": server.platform_id})
        elapsed = time.monotonic() - t0
        assert answer.response.get("Error") is None, answer
        assert elapsed < 2, (
            f"DescribeMNPList took {elapsed:.2f}s with 600 silent connections open")
        fds = len(fh.open_files(server.proc.pid))
        assert fds < OPEN_FILES, f"{fds} open files under a limit of {OPEN_FILES}"
        closed = sum(is_closed_by_server(s) for s in socks)
        # 256 of the 512 files are kept for the database and files.
        assert closed >= 600 - (OPEN_FILES - 256), (
            f"only {closed} of 600 silent connections were closed for room")
        fh.record("faults.json", "connections", {"silent_connections": 600,
                                         "closed_for_room": closed,
                                         "server_open_files": fds,
                                         "signed_request_s": round(elapsed, 3)})
    finally:
        client.close()
        for s in socks:
            s.close()


def test_silent_connections_are_closed_after_the_idle_timeout(factory):
    server = factory.new("--idle-timeout", "2")
    socks = silent_connections(server, 20)
    try:
        time.sleep(0.5)
        assert not any(is_closed_by_server(s) for s in socks), "closed before the timeout"
        fh.wait_for(lambda: all(is_closed_by_server(s) for s in socks), 5,
                    "every silent connection closed 2 s after it opened")
        # A connection that speaks is served as before.
        answer = fh.Client(server).post(
            "DescribeMNPList", {"Offset": 0, "Limit": 10, "PlatformId": server.platform_id})
        assert answer.response.get("Error") is None, answer
    finally:
        for s in socks:
            s.close()


def test_silent_http2_connection_is_closed_when_it_ignores_pings(factory):
    """Past the preface, HTTP/2 has no head timeout: a connection that then
    says nothing, not even to a ping, is closed after two idle timeouts."""
    server = factory.new("--idle-timeout", "2")
    s = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    try:
        # The client preface and an empty SETTINGS frame, then silence.
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
        t0 = time.monotonic()
        while True:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
        closed_after = time.monotonic() - t0
        assert closed_after < 8, f"closed after {closed_after:.1f} s"
    except socket.timeout:
        raise AssertionError("a silent HTTP/2 connection was still open after 15 s")
    finally:
        s.close()
