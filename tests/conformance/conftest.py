"""Fixtures of the mnpd conformance suite (helpers live in harness.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness
from harness import FileServer, MnpdServer, ServerFactory

# The SDK and requests read proxy settings from the environment; loopback
# traffic must never go through a proxy.
for _var in harness.PROXY_VARS:
    os.environ.pop(_var, None)


# ---------------------------------------------------------------------------
# No silent skips: a skipped test is a failed prerequisite.
# ---------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped tests are not allowed in this suite: {reason}"


# ---------------------------------------------------------------------------
# Basics
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mnpd_bin() -> Path:
    return harness.mnpd_bin()


@pytest.fixture(scope="session")
def spec() -> dict:
    return harness.load_spec()


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mnpd-conformance")


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server(session_dir, mnpd_bin) -> MnpdServer:
    """The shared default server. Its rate limit is raised so that the rest of
    the suite never trips it by accident (test_common_errors tests the limit
    on a server of its own)."""
    factory = ServerFactory(session_dir / "default")
    s = factory.new("--rate-limit", "10000")
    yield s
    assert s.running, f"the default server died during the run: {s.log_tail()}"
    factory.stop_all()


@pytest.fixture
def server_factory(tmp_path, mnpd_bin) -> ServerFactory:
    factory = ServerFactory(tmp_path)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def api(server) -> harness.Api:
    """SDK (TC3-HMAC-SHA256, POST) calls as the bootstrap account on its platform."""
    return server.api()


@pytest.fixture
def mnp_id(api) -> str:
    """A fresh mini program on the default server's platform."""
    return api.create_mnp()


# ---------------------------------------------------------------------------
# Package file server and packages
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def file_server(session_dir) -> FileServer:
    fs = FileServer(session_dir / "files")
    yield fs
    fs.close()


class Packages:
    """Package URLs on the file server, built on first use."""

    def __init__(self, fs: FileServer, tmp: Path):
        self.fs = fs
        self.tmp = tmp
        self._names: dict[str, str] = {}

    def _name(self, key: str, build) -> str:
        if key not in self._names:
            self._names[key] = self.fs.add(build())
        return self._names[key]

    def fresh_url(self, data: bytes, route: str = "files") -> str:
        """A URL of its own for `data` (so its downloads can be counted)."""
        name = self.fs.add(data)
        return self.fs.url(f"/{route}/{name}")

    @property
    def mini_program(self) -> str:
        return self.fs.file_url(self._name("mp", harness.mini_program_zip))

    @property
    def mini_program_name(self) -> str:
        return self._name("mp", harness.mini_program_zip)

    @property
    def wrapped_mini_program(self) -> str:
        return self.fs.file_url(self._name(
            "wrapped", lambda: harness.mini_program_zip(prefix="conformance-miniprogram/")))

    @property
    def mini_game(self) -> str:
        return self.fs.file_url(self._name(
            "game", lambda: harness.zip_bytes(harness.mini_game_files())))

    def large_blob_name(self, size: int) -> str:
        return self._name(f"blob-{size}", lambda: os.urandom(size))


@pytest.fixture(scope="session")
def packages(file_server, session_dir) -> Packages:
    return Packages(file_server, session_dir)


@pytest.fixture(scope="session")
def broken_packages(session_dir):
    return harness.broken_packages(session_dir)


def pytest_sessionfinish(session, exitstatus):
    # The cluster backend's S3 server and databases live for the session.
    harness.ClusterServices.shutdown()
