"""The FileUrl address policy and hostile file servers, end to end through
CreateMNPVersion.

`CreateMNPVersion` makes the server fetch a URL the caller chose: a request
forgery vector. Link-local and cloud metadata addresses are never fetched
from, however they are spelled or reached (redirects included);
loopback and private addresses are refused by a server listening beyond
loopback unless `--fetch-allow-private` (failures there then read alike,
whatever happened), and always under `--fetch-deny-private`; and
`--fetch-allow-hosts` limits FileUrl to a list of hosts. A refusal is
`FailedOperation.FileDownloadFailed` whose message says the address (or
host) is not allowed, answered at once.

File servers that never finish their headers, trickle, stall or lie about
the length get `FileDownloadFailed` within `--download-timeout`, while the
server keeps answering other requests.

Besides the harness's FileServer (loopback), this module runs a raw-socket
HTTP server of its own (`Hostile`) with the misbehaviours the harness does
not have, on loopback or on a non-private address of this machine.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import select
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from typing import Optional

import pytest

import harness
from harness import expect_error

DOWNLOAD_FAILED = "FailedOperation.FileDownloadFailed"
NOT_ALLOWED = "not allowed"
# How any failure at a loopback or private address is told.
UNTOLD = "no package was fetched from this loopback or private address"
TIMEOUT = 3  # --download-timeout of the slow-server tests
# How much later than the timeout an answer may come (a debug build, 2 cores).
MARGIN = 2.5


# ---------------------------------------------------------------------------
# A raw-socket HTTP server with hostile behaviours
# ---------------------------------------------------------------------------


class Hostile:
    """An HTTP/1.1 server on (host, random port) whose answer to every GET
    is chosen by the request path's first segment:

      /silent/...          reads the request, never answers
      /endless-headers/... a status line, then one header line every 0.5 s,
                           never the blank line
      /trickle/...         Content-Length of the package, then 1 byte per
                           second
      /stall/...           Content-Length of the package, half of it, then
                           nothing (the connection stays open)
      /longer/...          Content-Length of the package, the package and
                           junk in the same write, then junk at 1 byte per
                           second, never closing
      /longer-later/...    the same, the junk starting a second later
      /shorter/...         Content-Length 100, the whole package, then
                           nothing (the connection stays open)
      /serve/...           the package, with Content-Length
      /redirect?to=URL     302 to URL

    `closed_after` records, per path, how long after the request the client
    hung up (the server under test giving up)."""

    def __init__(self, host: str, package: bytes):
        self.package = package
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.requests: list[str] = []
        self.closed_after: dict[str, float] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def close(self):
        self.stop.set()
        self.sock.close()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _wait(self, conn, seconds: float) -> bool:
        """Sleeps up to `seconds`; False as soon as the client hung up."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            readable, _, _ = select.select([conn], [], [], min(left, 0.1))
            if readable:
                try:
                    if not conn.recv(4096):
                        return False
                except OSError:
                    return False
        return False

    def _serve(self, conn: socket.socket):
        started = time.monotonic()
        path = "?"
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            path = head.split(b" ", 2)[1].decode("latin-1")
            with self._lock:
                self.requests.append(path)
            kind = urllib.parse.urlsplit(path).path.strip("/").split("/")[0]
            self._behave(conn, kind, path)
        except OSError:
            pass
        finally:
            with self._lock:
                self.closed_after[path] = time.monotonic() - started
            conn.close()

    def _behave(self, conn: socket.socket, kind: str, path: str):
        data = self.package
        ok = (f"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
              f"Content-Length: {len(data)}\r\n\r\n").encode()
        if kind == "silent":
            while self._wait(conn, 1):
                pass
        elif kind == "endless-headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            i = 0
            while self._wait(conn, 0.5):
                conn.sendall(f"X-Header-{i}: still coming\r\n".encode())
                i += 1
        elif kind == "trickle":
            conn.sendall(ok)
            for b in data:
                conn.sendall(bytes([b]))
                if not self._wait(conn, 1):
                    return
        elif kind == "stall":
            conn.sendall(ok + data[: len(data) // 2])
            while self._wait(conn, 1):
                pass
        elif kind in ("longer", "longer-later"):
            conn.sendall(ok + data + (b"JUNK" * 256 if kind == "longer" else b""))
            while self._wait(conn, 1):
                conn.sendall(b"J")
        elif kind == "shorter":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"
                         b"Content-Length: 100\r\n\r\n" + data)
            while self._wait(conn, 1):
                pass
        elif kind == "serve":
            conn.sendall(ok + data)
        elif kind == "redirect":
            to = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["to"][0]
            # One request per connection: a client following a chain of
            # redirects here must not wait on this one for the next.
            conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {to}\r\n"
                         f"Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


# ---------------------------------------------------------------------------
# What the server under test considers private (README: --fetch-deny-private)
# ---------------------------------------------------------------------------

PRIVATE_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "255.255.255.255/32")]
PRIVATE_V6 = [ipaddress.ip_network(n) for n in ("::/127", "fc00::/7", "fe80::/10", "ff00::/8")]


def is_refusable(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    nets = PRIVATE_V4 if ip.version == 4 else PRIVATE_V6
    return any(ip in n for n in nets)


def local_addresses() -> list:
    """Addresses of this machine's interfaces (from `ip`, else the address a
    UDP socket would send from)."""
    found = []
    try:
        out = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True,
                             timeout=10).stdout
        for line in out.splitlines():
            parts = line.split()
            for i, p in enumerate(parts[:-1]):
                if p in ("inet", "inet6"):
                    found.append(parts[i + 1].split("/")[0])
    except (OSError, subprocess.SubprocessError):
        pass
    for probe, family in (("192.0.2.1", socket.AF_INET), ("2001:db8::1", socket.AF_INET6)):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.append(s.getsockname()[0])
        except OSError:
            pass
    return list(dict.fromkeys(found))


def non_private_local_address() -> str:
    """An address of this machine that --fetch-deny-private allows (so a
    first hop can be allowed and its redirect refused)."""
    for addr in local_addresses():
        if "%" in addr or is_refusable(addr):
            continue
        try:
            family = socket.AF_INET6 if ":" in addr else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.bind((addr, 0))
            return addr
        except OSError:
            continue
    pytest.fail("this machine has no non-private interface address to serve an allowed "
                f"first hop from (found {local_addresses()}); the redirect-to-loopback test "
                "under --fetch-deny-private needs one", pytrace=False)


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    f = harness.ServerFactory(tmp_path_factory.mktemp("outbound"))
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def package() -> bytes:
    return harness.mini_program_zip()


@pytest.fixture(scope="module")
def loopback_hostile(package):
    h = Hostile("127.0.0.1", package)
    yield h
    h.close()


@pytest.fixture(scope="module")
def deny_private(factory):
    return factory.new("--rate-limit", "10000", "--fetch-deny-private")


@pytest.fixture(scope="module")
def slow(factory):
    return factory.new("--rate-limit", "10000", "--download-timeout", str(TIMEOUT))


def create_version(server: harness.MnpdServer, url: str, mnp: Optional[str] = None,
                   version: str = "1.0.0"):
    """A callable making one CreateMNPVersion request on a fresh mini program."""
    api = server.api()
    mnp = mnp or api.create_mnp()
    return lambda: api.call("CreateMNPVersion", api.version_params(mnp, version, url))


def refused(server: harness.MnpdServer, url: str, *fragments: str, within: float = 5):
    started = time.monotonic()
    e = expect_error(create_version(server, url), DOWNLOAD_FAILED, *fragments)
    elapsed = time.monotonic() - started
    assert elapsed < within, f"{url}: refused after {elapsed:.1f}s"
    return e


# ---------------------------------------------------------------------------
# 1. Link-local and cloud metadata addresses: always refused
# ---------------------------------------------------------------------------

METADATA_URLS = {
    "aws-gcp-azure": "http://169.254.169.254/latest/meta-data/",
    "aws-ipv6": "http://[fd00:ec2::254]/latest/meta-data/",
    "v4-mapped-v6": "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "v4-mapped-v6-hex": "http://[::ffff:a9fe:a9fe]/",
    "alibaba": "http://100.100.100.200/latest/meta-data/",
    "link-local-other": "http://169.254.0.1/",
    "link-local-v6": "http://[fe80::1]/",
    "decimal": "http://2852039166/latest/meta-data/",
    "hex": "http://0xa9fea9fe/",
    "octal": "http://0251.0376.0251.0376/",
    "short-form": "http://169.254.43518/",
    "with-port": "http://169.254.169.254:80/",
    "with-userinfo": "http://user:pass@169.254.169.254/",
    "https": "https://169.254.169.254/",
    "trailing-dot-name": "http://169.254.169.254./",
}


@pytest.mark.parametrize("url", METADATA_URLS.values(), ids=METADATA_URLS.keys())
def test_metadata_address_is_refused(server, url):
    """On the default server (private addresses allowed), in every spelling."""
    refused(server, url, NOT_ALLOWED)


# IPv6 forms that carry an IPv4 address and are routed to it by translating
# networks or deprecated mechanisms: IPv4-compatible (::a.b.c.d), NAT64's
# well-known prefix (64:ff9b::/96, RFC 6052), SIIT's IPv4-translated
# (::ffff:0:a.b.c.d) and 6to4 (2002:AABB:CCDD::/48). A policy that checks only
# ::ffff:a.b.c.d lets them through to a connection attempt.
EMBEDDED_METADATA = {
    "ipv4-compatible": "http://[::169.254.169.254]/latest/meta-data/",
    "nat64": "http://[64:ff9b::169.254.169.254]/latest/meta-data/",
    "ipv4-translated": "http://[::ffff:0:169.254.169.254]/latest/meta-data/",
    "6to4": "http://[2002:a9fe:a9fe::1]/latest/meta-data/",
}


@pytest.mark.parametrize("url", EMBEDDED_METADATA.values(), ids=EMBEDDED_METADATA.keys())
def test_metadata_address_embedded_in_ipv6_is_refused(server, url):
    refused(server, url, NOT_ALLOWED)


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://2852039166/",
])
def test_redirect_to_metadata_is_refused(server, file_server, public_hostile, target):
    """An allowed file server answering 302 to a metadata address: the
    redirect is checked like the first URL. From a public address the
    refusal says so; from a loopback one (allowed, as mnpd listens on
    loopback) it is told like any failure there, which reveals nothing of
    what that server answered."""
    url = public_hostile.url("/redirect?" + urllib.parse.urlencode({"to": target}))
    refused(server, url, NOT_ALLOWED)
    assert any(p.startswith("/redirect") for p in public_hostile.requests)
    url = file_server.url("/goto?" + urllib.parse.urlencode({"to": target}))
    refused(server, url, UNTOLD)
    parts = urllib.parse.urlsplit(url)
    assert file_server.hits[f"{parts.path}?{parts.query}"] >= 1, (
        "the allowed first hop was never asked")


def test_redirect_chain_ending_at_metadata_is_refused(server, public_hostile):
    # Two allowed hops, then the metadata address.
    last = public_hostile.url("/redirect?" + urllib.parse.urlencode(
        {"to": "http://169.254.169.254/latest/meta-data/"}))
    url = public_hostile.url("/redirect?" + urllib.parse.urlencode({"to": last}))
    refused(server, url, NOT_ALLOWED)


def test_refusal_leaves_the_version_free(server, packages):
    api = server.api()
    mnp = api.create_mnp()
    expect_error(create_version(server, "http://169.254.169.254/pkg.zip", mnp),
                 DOWNLOAD_FAILED, NOT_ALLOWED)
    api.version_succeeds(mnp, "1.0.0", packages.mini_program)


def test_metadata_stays_refused_when_allow_listed(factory):
    """Putting the metadata address on --fetch-allow-hosts does not open it."""
    s = factory.new("--fetch-allow-hosts", "169.254.169.254,100.100.100.200")
    refused(s, "http://169.254.169.254/latest/meta-data/", NOT_ALLOWED)
    refused(s, "http://100.100.100.200/", NOT_ALLOWED)


# ---------------------------------------------------------------------------
# 2. --fetch-deny-private
# ---------------------------------------------------------------------------


def test_deny_private_refuses_loopback_and_private(deny_private, file_server, packages):
    port = file_server.port
    name = packages.mini_program_name
    urls = [
        f"http://127.0.0.1:{port}/files/{name}",
        f"http://localhost:{port}/files/{name}",        # a name resolving to loopback
        f"http://LOCALHOST:{port}/files/{name}",
        f"http://[::1]:{port}/files/{name}",
        f"http://[::ffff:127.0.0.1]:{port}/files/{name}",
        f"http://2130706433:{port}/files/{name}",       # 127.0.0.1 as one number
        f"http://0x7f000001:{port}/files/{name}",
        f"http://127.1:{port}/files/{name}",
        f"http://127.255.255.254:{port}/",
        "http://10.0.0.1/pkg.zip",
        "http://172.16.0.1/pkg.zip",
        "http://192.168.1.1/pkg.zip",
        "http://100.64.0.1/pkg.zip",
        "http://[fd00::1]/pkg.zip",
        "http://0.0.0.0/pkg.zip",
        "http://169.254.169.254/latest/meta-data/",
    ]
    wrong = []
    for url in urls:
        try:
            refused(deny_private, url, NOT_ALLOWED)
        except (AssertionError, pytest.fail.Exception) as e:
            wrong.append(f"{url}: {e}")
    assert not wrong, "\n".join(wrong)


def test_deny_private_never_connects_to_loopback(deny_private, loopback_hostile):
    before = len(loopback_hostile.requests)
    for host in ("127.0.0.1", "localhost", "[::1]"):
        url = f"http://{host}:{loopback_hostile.port}/serve/pkg.zip"
        refused(deny_private, url, NOT_ALLOWED)
    assert len(loopback_hostile.requests) == before, (
        f"the loopback server was reached: {loopback_hostile.requests[before:]}")


EMBEDDED_PRIVATE = {
    "ipv4-compatible-loopback": "http://[::127.0.0.1]/pkg.zip",
    "nat64-loopback": "http://[64:ff9b::127.0.0.1]/pkg.zip",
    "nat64-private": "http://[64:ff9b::10.0.0.1]/pkg.zip",
    "6to4-private": "http://[2002:c0a8:101::1]/pkg.zip",
}


@pytest.mark.parametrize("url", EMBEDDED_PRIVATE.values(), ids=EMBEDDED_PRIVATE.keys())
def test_deny_private_refuses_private_addresses_embedded_in_ipv6(deny_private, url):
    refused(deny_private, url, NOT_ALLOWED)


@pytest.fixture(scope="module")
def public_hostile(package):
    """The hostile server on an address --fetch-deny-private allows."""
    h = Hostile(non_private_local_address(), package)
    yield h
    h.close()


def test_deny_private_allows_a_public_address(deny_private, public_hostile):
    """The control: a non-private address of this machine serves the
    package under --fetch-deny-private (so the refusals are the policy's)."""
    api = deny_private.api()
    api.version_succeeds(api.create_mnp(), "1.0.0", public_hostile.url("/serve/pkg.zip"))


@pytest.mark.parametrize("target", ["127.0.0.1", "localhost", "[::1]", "10.0.0.1",
                                    "169.254.169.254"])
def test_deny_private_refuses_a_redirect_to_private(deny_private, public_hostile,
                                                     loopback_hostile, target):
    port = loopback_hostile.port
    before = len(loopback_hostile.requests)
    to = f"http://{target}:{port}/serve/pkg.zip"
    url = public_hostile.url("/redirect?" + urllib.parse.urlencode({"to": to}))
    refused(deny_private, url, NOT_ALLOWED)
    assert any(p.startswith("/redirect") for p in public_hostile.requests)
    assert len(loopback_hostile.requests) == before, "the redirect target was reached"


# ---------------------------------------------------------------------------
# 3. --fetch-allow-hosts
# ---------------------------------------------------------------------------


def test_allow_hosts_refuses_other_hosts(factory, file_server, packages):
    s = factory.new("--fetch-allow-hosts", "some.other.host")
    e = refused(s, packages.mini_program, NOT_ALLOWED)
    assert "127.0.0.1" in e.get_message(), e.get_message()
    refused(s, file_server.url("/goto?to=http://some.other.host/pkg.zip"), NOT_ALLOWED)


def test_allow_hosts_allows_the_listed_host(factory, file_server, packages):
    s = factory.new("--fetch-allow-hosts", "127.0.0.1")
    api = s.api()
    api.version_succeeds(api.create_mnp(), "1.0.0", packages.mini_program)
    # The list is exact: the same machine under another name is not on it,
    # neither directly nor by a redirect from the allowed host.
    port, name = file_server.port, packages.mini_program_name
    refused(s, f"http://localhost:{port}/files/{name}", NOT_ALLOWED)
    refused(s, f"http://[::1]:{port}/files/{name}", NOT_ALLOWED)
    # From the loopback host the refusal is told like any failure there.
    refused(s, file_server.url("/goto?" + urllib.parse.urlencode(
        {"to": f"http://localhost:{port}/files/{name}"})), UNTOLD)


# ---------------------------------------------------------------------------
# 3b. A server that listens beyond loopback: private networks are refused
#     unless --fetch-allow-private, and failures there are told alike
# ---------------------------------------------------------------------------


class EverywhereServer(harness.MnpdServer):
    """mnpd listening on 0.0.0.0 (every address of the machine); the tests
    still reach it on 127.0.0.1."""

    def command(self, port: int) -> list[str]:
        cmd = super().command(port)
        cmd[cmd.index("--listen") + 1] = f"0.0.0.0:{port}"
        return cmd


def everywhere(factory, *extra: str) -> harness.MnpdServer:
    creds = harness.new_credentials()
    n = len(factory.servers) + 1
    s = EverywhereServer(
        factory.root / f"everywhere-{n}", secret_id=creds.secret_id,
        secret_key=creds.secret_key, platform_id=harness.new_platform_id(),
        extra_args=("--rate-limit", "10000") + extra,
        log_path=factory.root / f"everywhere-{n}.log")
    factory.servers.append(s)
    return s.start()


def test_listening_beyond_loopback_refuses_private_by_default(factory, file_server, packages):
    s = everywhere(factory)
    port, name = file_server.port, packages.mini_program_name
    before = file_server.hit_count(packages.mini_program)
    for url in [packages.mini_program, f"http://localhost:{port}/files/{name}",
                "http://10.0.0.1/pkg.zip", "http://192.168.1.1/pkg.zip",
                "http://[fd00::1]/pkg.zip"]:
        refused(s, url, NOT_ALLOWED, "--fetch-allow-private")
    assert file_server.hit_count(packages.mini_program) == before, "a loopback server was reached"


def internal_failure(server, url: str) -> str:
    """The FileDownloadFailed message for `url`, without the URL itself."""
    e = refused(server, url, UNTOLD, within=15)
    msg = e.get_message()
    assert " failed: " in msg, msg
    return msg.split(" failed: ", 1)[1]


def test_internal_failures_are_told_alike(factory, file_server, packages, loopback_hostile):
    """With --fetch-allow-private, a closed port, a 404, a 500, a body cut
    short and a stall on loopback all read the same: FileUrl cannot map
    what listens behind mnpd. What is there is still fetched."""
    s = everywhere(factory, "--fetch-allow-private", "--download-timeout", str(TIMEOUT))
    api = s.api()
    api.version_succeeds(api.create_mnp(), "1.0.0", packages.mini_program)
    urls = {
        "closed port": f"http://127.0.0.1:{harness.refused_port()}/pkg.zip",
        "404": file_server.url("/status/404"),
        "missing file": file_server.url("/files/no-such-file.zip"),
        "500": file_server.url("/status/500"),
        "cut short": file_server.url(f"/truncated/{packages.mini_program_name}"),
        "stall": loopback_hostile.url("/stall/pkg.zip"),
    }
    told = {what: internal_failure(s, url) for what, url in urls.items()}
    assert len(set(told.values())) == 1, told
    text = next(iter(told.values()))
    for detail in ("404", "500", "refused", "connect", "timed out", "within"):
        assert detail not in text, f"{detail!r} in {text!r}"


# ---------------------------------------------------------------------------
# 4. Slow and lying file servers
# ---------------------------------------------------------------------------


def assert_times_out(server, url: str):
    """FileDownloadFailed after about --download-timeout seconds."""
    started = time.monotonic()
    expect_error(create_version(server, url), DOWNLOAD_FAILED)
    elapsed = time.monotonic() - started
    assert TIMEOUT - 0.5 <= elapsed <= TIMEOUT + MARGIN, (
        f"{url}: FileDownloadFailed after {elapsed:.2f}s with --download-timeout {TIMEOUT}")
    return elapsed


def answers_fast(server) -> float:
    started = time.monotonic()
    server.api().call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                          "PlatformId": server.platform_id})
    return time.monotonic() - started


@pytest.mark.parametrize("kind", ["silent", "endless-headers", "trickle", "stall"])
def test_slow_file_server_times_out(slow, loopback_hostile, kind):
    """The download is abandoned at the timeout, the file server's
    connection is closed, and meanwhile other requests are answered at
    once."""
    path = f"/{kind}/{uuid.uuid4().hex[:8]}.zip"
    url = loopback_hostile.url(path)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(assert_times_out, slow, url)
        time.sleep(1)
        during = [answers_fast(slow) for _ in range(3)]
        pending.result(timeout=30)
    assert max(during) < 1.5, f"DescribeMNPList took {max(during):.2f}s during a slow download"
    deadline = time.monotonic() + 5
    while path not in loopback_hostile.closed_after and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path in loopback_hostile.closed_after, "mnpd never hung up on the slow server"
    assert loopback_hostile.closed_after[path] <= TIMEOUT + MARGIN, (
        f"mnpd hung up after {loopback_hostile.closed_after[path]:.1f}s")


def test_many_slow_downloads_at_once(slow, loopback_hostile):
    """Eight slow downloads at the same time all end at the timeout; the
    server answers other requests throughout."""
    kinds = ["silent", "endless-headers", "trickle", "stall"] * 2
    urls = [loopback_hostile.url(f"/{k}/many-{i}.zip") for i, k in enumerate(kinds)]
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
        started = time.monotonic()
        futures = [pool.submit(assert_times_out, slow, u) for u in urls]
        time.sleep(1)
        during = [answers_fast(slow) for _ in range(5)]
        for f in futures:
            f.result(timeout=60)
        total = time.monotonic() - started
    assert max(during) < 1.5, during
    assert total <= TIMEOUT + MARGIN + 1, f"eight parallel slow downloads took {total:.1f}s"


def lying_outcome(server, url: str) -> str:
    """Creates a version from `url`: the answer must come well before the
    timeout (mnpd must not wait for the connection to end), and is either
    FileDownloadFailed or a task; a task's outcome is returned."""
    api = server.api()
    mnp = api.create_mnp()
    started = time.monotonic()
    try:
        task = api.create_version(mnp, "1.0.0", url)
    except harness.TencentCloudSDKException as e:
        assert e.get_code() == DOWNLOAD_FAILED, (e.get_code(), e.get_message())
        outcome = "FileDownloadFailed"
    else:
        data = api.wait_task(task)
        outcome = f"task {data['TaskStatus']}: {data['TaskMsg']}"
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT - 0.5, f"{url}: answered after {elapsed:.2f}s ({outcome})"
    return outcome


@pytest.mark.parametrize("kind", ["longer", "longer-later"])
def test_body_longer_than_content_length(slow, loopback_hostile, kind):
    """Content-Length bytes are the body (HTTP/1.1 framing); what follows on
    the connection is not part of the package. Either the download fails
    (the client saw garbage where the next response should start) or the
    package is exactly the announced bytes (a valid zip: task 60). Never the
    junk, and never a wait for the never-ending junk to stop."""
    outcome = lying_outcome(slow, loopback_hostile.url(f"/{kind}/pkg.zip"))
    assert outcome in ("FileDownloadFailed", "task 60: Success"), outcome


def test_content_length_shorter_than_the_body(slow, loopback_hostile):
    """A server announcing 100 bytes and sending a whole package: either the
    download fails, or the package is the 100 announced bytes, which is not
    a zip (task 30 naming the zip); answered without waiting."""
    outcome = lying_outcome(slow, loopback_hostile.url("/shorter/pkg.zip"))
    assert outcome == "FileDownloadFailed" or (
        outcome.startswith("task 30") and "zip" in outcome.lower()), outcome


def test_slow_download_does_not_hold_the_version_number(slow, loopback_hostile, packages):
    """After a timed-out download the version number is free again."""
    api = slow.api()
    mnp = api.create_mnp()
    expect_error(create_version(slow, loopback_hostile.url("/silent/free.zip"), mnp),
                 DOWNLOAD_FAILED)
    api.version_succeeds(mnp, "1.0.0", packages.mini_program)
