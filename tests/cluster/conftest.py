"""Fixtures of the mnpd cluster tests (helpers live in cluster_harness.py,
which imports the conformance harness from tests/conformance).

Every missing service (PostgreSQL, Redis, moto, psql, the mnpd binary) makes
the tests fail with a message naming it; nothing here skips.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cluster_harness as ch  # noqa: E402
from cluster_harness import Cluster, FileServer, PrivatePostgres, harness  # noqa: E402

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


def pytest_sessionfinish(session, exitstatus):
    # The session's moto S3 server.
    harness.ClusterServices.shutdown()


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def services():
    """PostgreSQL (through psql), Redis, the moto S3 server and the mnpd
    binary; fails naming the one that is missing."""
    harness.mnpd_bin()
    if not shutil.which("psql"):
        pytest.fail("psql is not installed (the tests read PostgreSQL directly)", pytrace=False)
    cp = subprocess.run(["psql", harness.POSTGRES_ADMIN_URL + "/postgres", "-XAtqc", "SELECT 1"],
                        capture_output=True, text=True, timeout=30)
    if cp.returncode != 0 or cp.stdout.strip() != "1":
        pytest.fail(f"PostgreSQL at {harness.POSTGRES_ADMIN_URL} does not answer "
                    f"(run scripts/services): {cp.stderr.strip()}", pytrace=False)
    why = ch.redis_ping(harness.REDIS_URL)
    if why:
        pytest.fail(f"Redis at {harness.REDIS_URL} does not answer PING (run scripts/services): "
                    f"{why}", pytrace=False)
    return harness.ClusterServices.get()


# ---------------------------------------------------------------------------
# Clusters
# ---------------------------------------------------------------------------


@pytest.fixture
def make_cluster(services, tmp_path):
    """make_cluster(label, **kw) -> Cluster on a fresh database and bucket;
    every node still running at teardown must stop on SIGTERM with status 0."""
    made: list[Cluster] = []

    def make(label: str, **kw) -> Cluster:
        c = Cluster(services, tmp_path / label, label, **kw)
        made.append(c)
        return c

    yield make
    errors = []
    for c in made:
        errors += c.stop_all()
        c.drop()
    assert not errors, "\n".join(errors)


@pytest.fixture
def cluster(make_cluster) -> Cluster:
    """Two nodes on one fresh database, one bucket and Redis, with a rate
    limit no test trips by accident."""
    c = make_cluster("pair")
    c.new_node("--rate-limit", "100000")
    c.new_node("--rate-limit", "100000")
    return c


@pytest.fixture
def private_postgres():
    """A PostgreSQL server of the test's own, which it may stop and start."""
    pg = PrivatePostgres()
    yield pg
    pg.close()


# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def file_server(tmp_path_factory) -> FileServer:
    fs = FileServer(tmp_path_factory.mktemp("cluster-files"))
    yield fs
    fs.close()


@pytest.fixture(scope="session")
def heavy_package() -> bytes:
    """A valid mini program whose validation takes a while (~190 MiB to
    unpack), so that a node holds its task long enough to be caught."""
    return ch.heavy_package()
