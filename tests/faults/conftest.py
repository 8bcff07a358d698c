"""Fixtures of the mnpd fault tests (helpers live in faults_harness.py, which
imports the conformance harness from tests/conformance).

A missing prerequisite (the mnpd binary, root for mounting a tmpfs) fails
the test with a message naming it; nothing here skips.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import faults_harness as fh  # noqa: E402
from faults_harness import FileServer, ServerFactory, harness  # noqa: E402

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
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mnpd_bin() -> Path:
    return harness.mnpd_bin()


@pytest.fixture
def factory(tmp_path, mnpd_bin) -> ServerFactory:
    """Starts mnpd servers; every one still running at teardown must stop on
    SIGTERM with status 0 (a frozen one is thawed first)."""
    f = ServerFactory(tmp_path)
    yield f
    for s in f.servers:
        if s.running:
            fh.thaw(s)
    f.stop_all()


@pytest.fixture(scope="session")
def file_server(tmp_path_factory) -> FileServer:
    fs = FileServer(tmp_path_factory.mktemp("faults-files"))
    yield fs
    fs.close()


@pytest.fixture(scope="session")
def heavy_package() -> bytes:
    return fh.heavy_package()
