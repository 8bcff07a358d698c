"""Helpers of the mnpd cluster tests: several `mnpd serve` nodes sharing one
PostgreSQL database, one S3 bucket (a moto server) and Redis.

The process, package and client helpers come from the conformance harness
(tests/conformance/harness.py); this module adds what a cluster needs: nodes
that share a database instead of getting one each, direct SQL through psql,
the bucket's listing, a private PostgreSQL server that a test may stop, load
generators, the exactly-once checks and the results file. Fixtures live in
conftest.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import pytest
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "conformance"))
# The harness gives every server the cluster backends' environment (the S3
# endpoint of the session's moto server) only in cluster mode; the nodes of
# these tests always run on the cluster backends.
os.environ["MNPD_CONFORMANCE_BACKEND"] = "cluster"

import harness  # noqa: E402
from harness import FileServer, MnpdServer  # noqa: E402

# Loopback traffic (the SDK's, the server's package downloads) never goes
# through a proxy.
for _var in harness.PROXY_VARS:
    os.environ.pop(_var, None)

RESULTS_DIR = HERE / ".results"
RESULTS_FILE = RESULTS_DIR / "throughput.json"

LEASE_SECS = 5
# How often an idle worker looks for tasks it was not woken for (expired
# leases, tasks recorded by another node): RunnerSettings.poll in serve.rs.
WORKER_POLL_SECS = 2


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


def redis_ping(url: str, timeout: float = 2.0) -> Optional[str]:
    """None when Redis at `url` answers PING, else why not."""
    u = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379),
                                      timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            answer = s.recv(64)
    except OSError as e:
        return repr(e)
    return None if answer.startswith(b"+PONG") else f"answered {answer!r}"


# ---------------------------------------------------------------------------
# SQL through psql
# ---------------------------------------------------------------------------


class PsqlError(AssertionError):
    pass


def psql_once(url: str, sql: str, timeout: float = 30) -> list[tuple]:
    """Rows of `sql` (tab-separated fields, strings), one psql process."""
    cp = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-F", "\t",
                         "-v", "ON_ERROR_STOP=1", "-c", sql],
                        capture_output=True, text=True, timeout=timeout)
    if cp.returncode != 0:
        raise PsqlError(f"psql {url}: {sql}: {cp.stderr.strip()}")
    return [tuple(line.split("\t")) for line in cp.stdout.splitlines() if line]


class Psql:
    """One long-lived psql process, for polling many times a second without
    starting a process per query. Values must not contain newlines or tabs."""

    def __init__(self, url: str):
        self.url = url
        self.proc = subprocess.Popen(
            ["psql", url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def query(self, sql: str, timeout: float = 10) -> list[tuple]:
        marker = f"--end-{uuid.uuid4().hex}--"
        with self.lock:
            if self.proc.poll() is not None:
                raise PsqlError(f"psql {self.url} exited ({self.proc.returncode})")
            self.proc.stdin.write(sql.strip().rstrip(";") + ";\n\\echo " + marker + "\n")
            self.proc.stdin.flush()
            out, deadline = [], time.monotonic() + timeout
            while True:
                try:
                    line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    raise PsqlError(f"psql gave no answer to {sql!r} within {timeout}s")
                if line is None:
                    raise PsqlError(f"psql exited while answering {sql!r}: {out}")
                if line == marker:
                    break
                out.append(line)
        errors = [l for l in out if "ERROR:" in l or "FATAL:" in l or l.startswith("psql:")]
        if errors:
            raise PsqlError(f"{sql}: {errors}")
        return [tuple(l.split("\t")) for l in out if l]

    def close(self):
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        with contextlib.suppress(Exception):
            self.proc.wait(5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# ---------------------------------------------------------------------------
# The bucket
# ---------------------------------------------------------------------------

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def list_bucket(endpoint: str, bucket: str, prefix: str) -> list[str]:
    """Every key under `prefix` (ListObjectsV2, all pages), through moto's
    plain HTTP API."""
    keys, token = [], None
    while True:
        params = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        if token:
            params["continuation-token"] = token
        r = requests.get(f"{endpoint}/{bucket}", params=params, timeout=30,
                         proxies={"http": None, "https": None})
        assert r.status_code == 200, f"listing s3://{bucket}/{prefix}: {r.status_code} {r.text[:300]}"
        root = ET.fromstring(r.content)
        keys += [c.findtext(f"{S3_NS}Key") for c in root.findall(f"{S3_NS}Contents")]
        if root.findtext(f"{S3_NS}IsTruncated") != "true":
            return keys
        token = root.findtext(f"{S3_NS}NextContinuationToken")


def pending_multipart_uploads(endpoint: str, bucket: str) -> list[str]:
    r = requests.get(f"{endpoint}/{bucket}", params={"uploads": ""}, timeout=30,
                     proxies={"http": None, "https": None})
    assert r.status_code == 200, f"listing uploads of {bucket}: {r.status_code} {r.text[:300]}"
    root = ET.fromstring(r.content)
    return [u.findtext(f"{S3_NS}Key") for u in root.findall(f"{S3_NS}Upload")]


# ---------------------------------------------------------------------------
# Nodes and clusters
# ---------------------------------------------------------------------------


class ClusterNode(MnpdServer):
    """An mnpd process of a cluster: its own port and data directory, the
    cluster's database, bucket and Redis."""

    def __init__(self, cluster: "Cluster", name: str, node_args: list, extra_args: list):
        super().__init__(cluster.root / name, secret_id=cluster.creds.secret_id,
                         secret_key=cluster.creds.secret_key, platform_id=cluster.platform_id,
                         extra_args=extra_args, log_path=cluster.root / f"{name}.log")
        self.name = name
        self.node_args = node_args
        self.database_url = cluster.database_url

    def command(self, port: int) -> list[str]:
        return [str(harness.mnpd_bin()), "serve", "--listen", f"127.0.0.1:{port}",
                "--data-dir", str(self.data_dir)] + self.node_args + self.extra_args

    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`mnpd admin` on the cluster's database (the conformance harness
        would give each data directory a database of its own)."""
        cmd = [str(harness.mnpd_bin()), "admin", "--database-url", self.database_url,
               "--data-dir", str(self.data_dir), "--json", *args]
        cp = subprocess.run(cmd, capture_output=True, text=True, env=harness.clean_env(),
                            timeout=30)
        if check and cp.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed ({cp.returncode}): {cp.stderr}",
                        pytrace=False)
        return cp


class Cluster:
    """A fresh database (on `pg_admin_url`'s server) and a fresh bucket (on
    the session's moto server); nodes started on them share the bootstrap
    credentials and platform."""

    def __init__(self, services: harness.ClusterServices, root: Path, label: str, *,
                 pg_admin_url: str = harness.POSTGRES_ADMIN_URL,
                 redis_url: str = harness.REDIS_URL):
        self.services = services
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.pg_admin_url = pg_admin_url
        self.redis_url = redis_url
        self.db = f"mnpd_k_{label}_{uuid.uuid4().hex[:8]}"
        psql_once(f"{pg_admin_url}/postgres", f"CREATE DATABASE {self.db}")
        self.database_url = f"{pg_admin_url}/{self.db}"
        self.bucket = self.db.replace("_", "-")
        r = requests.put(f"{services.s3_endpoint}/{self.bucket}", timeout=10,
                         proxies={"http": None, "https": None})
        assert r.status_code == 200, f"creating bucket {self.bucket}: {r.status_code} {r.text}"
        self.creds = harness.new_credentials("K")
        self.platform_id = harness.new_platform_id()
        self.nodes: list[ClusterNode] = []
        self._psql: Optional[Psql] = None

    def node_args(self, redis_url: Optional[str] = None) -> list[str]:
        return ["--database-url", self.database_url,
                "--storage-url", f"s3://{self.bucket}/packages",
                "--redis-url", redis_url or self.redis_url,
                "--task-lease-secs", str(LEASE_SECS)]

    def new_node(self, *extra_args: str, redis_url: Optional[str] = None,
                 start: bool = True) -> ClusterNode:
        node = ClusterNode(self, f"{self.label}-node{len(self.nodes) + 1}",
                           self.node_args(redis_url), list(extra_args))
        self.nodes.append(node)
        if start:
            node.start()
        return node

    # -- SQL -------------------------------------------------------------------

    def sql(self, query: str, timeout: float = 30) -> list[tuple]:
        return psql_once(self.database_url, query, timeout)

    @property
    def poller(self) -> Psql:
        if self._psql is None:
            self._psql = Psql(self.database_url)
        return self._psql

    def status_counts(self) -> dict:
        return {int(s): int(n) for s, n in
                self.poller.query("SELECT status, count(*) FROM tasks GROUP BY status")}

    # -- bucket ------------------------------------------------------------------

    def blob_keys(self) -> list[str]:
        return list_bucket(self.services.s3_endpoint, self.bucket, "packages/")

    # -- end ---------------------------------------------------------------------

    def stop_all(self) -> list[str]:
        errors = []
        for n in self.nodes:
            if n.running:
                # A node a failed test left frozen (SIGSTOP) must see SIGTERM.
                os.kill(n.proc.pid, signal.SIGCONT)
                rc = n.stop(timeout=15)
                if rc != 0:
                    errors.append(f"{n.name} exited {rc} after SIGTERM: {n.log_tail(1500)}")
        if self._psql:
            self._psql.close()
            self._psql = None
        return errors

    def drop(self):
        with contextlib.suppress(Exception):
            psql_once(f"{self.pg_admin_url}/postgres",
                      f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")


# ---------------------------------------------------------------------------
# A private PostgreSQL server, for tests that stop it
# ---------------------------------------------------------------------------


def _pg_bindir() -> Path:
    if shutil.which("pg_config"):
        cp = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if cp.returncode == 0 and (Path(cp.stdout.strip()) / "initdb").exists():
            return Path(cp.stdout.strip())
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL's initdb/pg_ctl are not installed (needed for a private "
                    "PostgreSQL server the outage test may stop)", pytrace=False)
    return found[-1].parent


class PrivatePostgres:
    """A throw-away PostgreSQL server on a free loopback port (initdb into a
    temporary folder, trust authentication), so stopping it disturbs nobody
    else's tests. As root, it runs as the `postgres` user."""

    def __init__(self):
        self.bindir = _pg_bindir()
        self.port = harness.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mnpd-cluster-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "-A", "trust", "--no-sync", "-E", "UTF8"], timeout=120)
        self.admin_url = f"postgres://postgres@127.0.0.1:{self.port}"
        self.start()

    def _run(self, cmd: list[str], timeout: float = 60, check: bool = True):
        cp = subprocess.run(self.as_user + cmd, capture_output=True, text=True, timeout=timeout,
                            cwd=self.dir)
        if check and cp.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed: {cp.stdout}{cp.stderr}", pytrace=False)
        return cp

    def start(self):
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                   "-o", opts, "-w", "-t", "60", "start"], timeout=90)

    def stop(self, mode: str = "fast", check: bool = True):
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                   "-t", "60", "stop"], timeout=90, check=check)

    def running(self) -> bool:
        cp = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
                       check=False)
        return cp.returncode == 0

    def close(self):
        with contextlib.suppress(Exception):
            if self.running():
                self.stop("immediate", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Served:
    """A package on the file server."""
    url: str
    sha256: str
    size: int


def serve(fs: FileServer, data: bytes, route: str = "files") -> Served:
    """`data` under a fresh name of its own on `fs` (route: files, trickle/SECS, ...)."""
    name = fs.add(data)
    return Served(fs.url(f"/{route}/{name}"), sha256_hex(data), len(data))


def package_variants() -> list[bytes]:
    """A few distinct, valid packages: the realistic mini program, the same
    wrapped in a folder, with an extra asset, and a mini game."""
    with_asset = harness.mini_program_files()
    with_asset["images/banner.png"] = harness.tiny_png(64, 24)
    return [
        harness.mini_program_zip(),
        harness.mini_program_zip(prefix="cluster-miniprogram/"),
        harness.zip_bytes(with_asset),
        harness.zip_bytes(harness.mini_game_files()),
    ]


BROKEN_CULPRIT = "pages/logs/logs.js"


def broken_package() -> bytes:
    """The realistic mini program without one page's script: its task must
    end at 30 with a TaskMsg naming BROKEN_CULPRIT."""
    files = harness.mini_program_files()
    del files[BROKEN_CULPRIT]
    return harness.zip_bytes(files)


def heavy_package(entries: int = 10, mib: int = 24) -> bytes:
    """The realistic mini program plus `entries` assets of `mib` MiB, each a
    16 KiB random block repeated: they deflate about 130:1 (under the
    validator's ratio limit of 200) and unpack to entries*mib MiB (under its
    256 MiB total), so the package is valid, about 2 MiB, and takes a
    noticeable time to validate."""
    block = os.urandom(16384)
    filler = block * (mib * 1024 * 1024 // len(block))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in harness.mini_program_files().items():
            zf.writestr(name, data)
        for i in range(entries):
            zf.writestr(f"assets/heavy-{i}.bin", filler)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------


def run_threads(fns: Iterable[Callable[[], object]], timeout: float = 120) -> list:
    """Runs every function in a thread of its own; their results in order.
    The first exception of any thread (an assertion, pytest.fail, an SDK
    error) is raised here."""
    fns = list(fns)
    results: list = [None] * len(fns)
    errors: list = []

    def wrap(i, fn):
        try:
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i, fn), daemon=True)
               for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        pytest.fail(f"client threads still running after {timeout}s", pytrace=False)
    if errors:
        raise errors[0]
    return results


# ---------------------------------------------------------------------------
# CreateMNPVersion load
# ---------------------------------------------------------------------------


@dataclass
class Created:
    """A CreateMNPVersion request that answered a TaskId."""
    task_id: str
    mnp_id: str
    version: str
    sha256: str
    node: str
    url: str


def create_mnps(nodes: list, count: int, threads: int = 4) -> list[str]:
    """`count` mini programs, created alternately through each node."""
    def work(k):
        apis = [n.api() for n in nodes]
        return [apis[i % len(apis)].create_mnp() for i in range(k, count, threads)]
    out = run_threads([lambda k=k: work(k) for k in range(threads)])
    return [m for part in out for m in part]


def version_load(nodes: list, mnps: list[str], versions: int, packages: list[Served],
                 threads: int = 8) -> tuple[list[Created], float]:
    """CreateMNPVersion for every mini program and `versions` increasing
    version numbers. Client thread k owns mnps[k::threads] and sends their
    versions in increasing order, its request j to nodes[(k + j) % n], so
    the requests alternate between the nodes. The package of (mini program
    i, version v) is packages[(5 * i + v) % len(packages)].

    Returns what answered a TaskId and the monotonic time of the first request.
    """
    index = {m: i for i, m in enumerate(mnps)}
    barrier = threading.Barrier(threads + 1)

    def client(k):
        apis = [(n.name, n.api()) for n in nodes]
        own = mnps[k::threads]
        barrier.wait()
        out, j = [], 0
        for v in range(versions):
            for mnp in own:
                name, api = apis[(k + j) % len(apis)]
                j += 1
                pkg = packages[(5 * index[mnp] + v) % len(packages)]
                version = f"1.{v}.0"
                task = api.create_version(mnp, version, pkg.url,
                                          intro=f"cluster load {version}")
                out.append(Created(task, mnp, version, pkg.sha256, name, pkg.url))
        return out

    started: dict = {}

    def starter():
        barrier.wait()
        started["t"] = time.monotonic()

    parts = run_threads([starter] + [lambda k=k: client(k) for k in range(threads)])
    return [c for part in parts[1:] for c in part], started["t"]


def wait_finished(cluster: "Cluster", total: int, timeout: float = 90,
                  interval: float = 0.05) -> float:
    """Polls the tasks table until `total` tasks are at 30 or 60 and none is
    at 1 or 20; the monotonic time it was first seen."""
    deadline = time.monotonic() + timeout
    counts: dict = {}
    while time.monotonic() < deadline:
        counts = cluster.status_counts()
        finished = counts.get(30, 0) + counts.get(60, 0)
        if finished >= total and not counts.get(1) and not counts.get(20):
            return time.monotonic()
        time.sleep(interval)
    pytest.fail(f"after {timeout}s the tasks are {counts} (status: count); expected {total} "
                f"at 30/60 and none at 1/20", pytrace=False)


# ---------------------------------------------------------------------------
# What the database and the bucket must show
# ---------------------------------------------------------------------------


@dataclass
class TaskRow:
    task_id: str
    status: int
    attempts: int
    mnp_version_id: Optional[int]
    mnp_id: str
    version: str
    sha256: str
    lease_owner: str
    lease_until: Optional[int]
    updated_at: int
    msg: str


def db_tasks(cluster: "Cluster") -> dict[str, TaskRow]:
    rows = cluster.sql(
        "SELECT task_id, status, attempts, coalesce(mnp_version_id::text, ''), mnp_id, "
        "mnp_version, sha256, coalesce(lease_owner, ''), coalesce(lease_until::text, ''), "
        "updated_at, translate(msg, E'\\n\\t', '  ') FROM tasks")
    out = {}
    for r in rows:
        out[r[0]] = TaskRow(r[0], int(r[1]), int(r[2]), int(r[3]) if r[3] else None, r[4], r[5],
                            r[6], r[7], int(r[8]) if r[8] else None, int(r[9]), r[10])
    return out


def db_versions(cluster: "Cluster") -> list[tuple]:
    """(mnp_version_id, task_id, mnp_id, version, sha256) of every version."""
    return [(int(r[0]),) + tuple(r[1:]) for r in cluster.sql(
        "SELECT mnp_version_id, task_id, mnp_id, version, sha256 FROM versions")]


def check_exactly_once(cluster: "Cluster", created: list[Created], *,
                       failing: Iterable[str] = (), allow_unanswered: bool = False,
                       may_fail: bool = False) -> dict:
    """Every task the clients got ended once: TaskIds unique, each at 60 with
    exactly one `versions` row that names it (or at 30, for the packages
    meant to fail, with no row), MNPVersionIds unique, nothing left at 1/20.
    `failing`: URLs whose tasks must fail. `allow_unanswered`: the database
    may hold tasks whose answer was lost (a node killed mid-request); they
    must have ended too. `may_fail`: any task may end at 30 instead of 60."""
    failing = set(failing)
    ids = [c.task_id for c in created]
    dupes = [t for t, n in Counter(ids).items() if n > 1]
    assert not dupes, f"TaskIds answered more than once: {dupes[:10]}"
    tasks = db_tasks(cluster)
    missing = sorted(set(ids) - set(tasks))
    assert not missing, f"TaskIds answered but not in the tasks table: {missing[:10]}"
    unanswered = sorted(set(tasks) - set(ids))
    assert allow_unanswered or not unanswered, (
        f"tasks no client got a TaskId for: {[tasks[t] for t in unanswered[:5]]}")
    stuck = [t for t in tasks.values() if t.status not in (30, 60)]
    assert not stuck, f"{len(stuck)} tasks did not end: {stuck[:5]}"

    versions = db_versions(cluster)
    per_task = Counter(v[1] for v in versions)
    twice = {t: n for t, n in per_task.items() if n > 1}
    assert not twice, f"tasks with more than one version row (finished twice): {twice}"
    version_ids = [v[0] for v in versions]
    assert len(set(version_ids)) == len(version_ids), "MNPVersionIds handed out twice"
    by_task = {v[1]: v for v in versions}

    for c in created:
        t = tasks[c.task_id]
        assert (t.mnp_id, t.version) == (c.mnp_id, c.version), (c, t)
        assert t.sha256 == c.sha256, (
            f"task {c.task_id} stored sha256 {t.sha256}, the served package is {c.sha256}")
        want = 30 if c.url in failing else 60
        assert t.status == want or (may_fail and t.status == 30), (
            f"task {c.task_id} ({c.url}) ended at {t.status}, expected {want}: {t.msg}")
        if c.url in failing:
            assert BROKEN_CULPRIT in t.msg, f"TaskMsg should name {BROKEN_CULPRIT}: {t.msg!r}"
    for t in tasks.values():
        if t.status == 60:
            v = by_task.get(t.task_id)
            assert v, f"task {t.task_id} is at 60 without a version row"
            assert v[0] == t.mnp_version_id, (
                f"task {t.task_id} names MNPVersionId {t.mnp_version_id}, its row is {v[0]}")
            assert (v[2], v[3], v[4]) == (t.mnp_id, t.version, t.sha256), (v, t)
            assert t.msg == "Success", t
        else:
            assert t.task_id not in by_task, f"failed task {t.task_id} has a version row"
            assert t.mnp_version_id is None, t
    assert len(versions) == sum(1 for t in tasks.values() if t.status == 60), (
        "versions rows != succeeded tasks")
    return {
        "tasks": len(tasks),
        "succeeded": sum(1 for t in tasks.values() if t.status == 60),
        "failed": sum(1 for t in tasks.values() if t.status == 30),
        "unanswered": len(unanswered),
        "unanswered_ended_at": sorted(tasks[t].status for t in unanswered),
        "failure_messages": sorted({t.msg for t in tasks.values() if t.status == 30}),
        "attempts": dict(Counter(t.attempts for t in tasks.values())),
    }


BLOB_KEY_RE = re.compile(r"^packages/blobs/([0-9a-f]{2})/([0-9a-f]{64})$")


def check_blobs(cluster: "Cluster", *, exact: bool) -> set[str]:
    """The bucket holds the package of every version; `exact`: nothing else
    (no orphan blobs: the blobs are SELECT DISTINCT sha256 FROM versions);
    otherwise every blob is at least named by a task."""
    keys = cluster.blob_keys()
    blobs = set()
    for key in keys:
        m = BLOB_KEY_RE.match(key)
        assert m and m.group(1) == m.group(2)[:2], f"unexpected object {key!r} in the bucket"
        blobs.add(m.group(2))
    assert len(blobs) == len(keys), keys
    in_versions = {r[0] for r in cluster.sql("SELECT DISTINCT sha256 FROM versions")}
    lost = in_versions - blobs
    assert not lost, f"versions whose package is not in the bucket: {sorted(lost)}"
    if exact:
        orphans = blobs - in_versions
        assert not orphans, f"orphan blobs (no version names them): {sorted(orphans)}"
    else:
        in_tasks = {r[0] for r in cluster.sql("SELECT DISTINCT sha256 FROM tasks")}
        orphans = blobs - in_tasks
        assert not orphans, f"orphan blobs (no task names them): {sorted(orphans)}"
    uploads = pending_multipart_uploads(cluster.services.s3_endpoint, cluster.bucket)
    assert not uploads, f"multipart uploads left open: {uploads}"
    return blobs


# ---------------------------------------------------------------------------
# Bursts of signed requests
# ---------------------------------------------------------------------------


def burst(nodes: list, action: str, params: dict, count: int, threads: int = 12) -> dict:
    """`count` identical signed requests of one account, request i to
    nodes[i % n], fired at once from `threads` threads over warm keep-alive
    connections (signed beforehand, so the burst is as short as it can be).
    Every answer must be HTTP 200 with a RequestId, and either succeed or be
    RequestLimitExceeded."""
    payload = json.dumps(params).encode()
    ts = int(time.time())
    headers = []
    for n in nodes:
        headers.append({
            "Content-Type": "application/json", "Host": n.endpoint,
            "X-TC-Action": action, "X-TC-Version": harness.API_VERSION,
            "X-TC-Region": harness.REGION, "X-TC-Timestamp": str(ts),
            "Authorization": harness.tc3_authorization(
                n.creds.secret_id, n.creds.secret_key, method="POST", host=n.endpoint,
                query="", content_type="application/json", payload=payload, timestamp=ts),
        })
    barrier = threading.Barrier(threads)

    def client(k):
        session = requests.Session()
        session.trust_env = False
        for n in nodes:  # open the connections; /healthz is not rate limited
            assert session.get(f"http://{n.endpoint}/healthz", timeout=10).status_code == 200
        barrier.wait()
        out = []
        for i in range(k, count, threads):
            n = i % len(nodes)
            t0 = time.monotonic()
            r = session.post(f"http://{nodes[n].endpoint}/", data=payload, headers=headers[n],
                             timeout=30)
            t1 = time.monotonic()
            assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:300]}"
            resp = r.json()["Response"]
            assert harness.UUID_RE.match(resp.get("RequestId", "")), resp
            code = resp.get("Error", {}).get("Code")
            assert code in (None, "RequestLimitExceeded"), f"{action} answered {resp}"
            if code:
                assert resp["Error"]["Message"].strip(), resp
            out.append((n, t0, t1, code is None))
        session.close()
        return out

    results = [x for part in run_threads([lambda k=k: client(k) for k in range(threads)])
               for x in part]
    span = max(r[2] for r in results) - min(r[1] for r in results)
    per_node = [sum(1 for r in results if r[0] == n and r[3]) for n in range(len(nodes))]
    return {"requests": count, "nodes": len(nodes), "threads": threads,
            "span_s": round(span, 4), "admitted_per_node": per_node,
            "admitted": sum(per_node), "refused": count - sum(per_node)}


def limit_bound(rate: int, span: float) -> int:
    """The most a token bucket of `rate` tokens a second and burst `rate` can
    admit in `span` seconds: the full bucket, what refills meanwhile, and
    one for the rounding at the edges of the window."""
    return rate + math.floor(rate * span) + 1


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

_results_lock = threading.Lock()
# What this session measured; the file is rewritten from it, so it shows the
# last run only.
SESSION_RESULTS: dict = {}


def record_result(section: str, values: dict) -> dict:
    """Merges `values` into `section` of this session's results, writes them
    all to tests/cluster/.results/throughput.json and prints `values`."""
    with _results_lock:
        SESSION_RESULTS.setdefault(section, {}).update(values)
        data = dict(SESSION_RESULTS)
        data["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data["machine"] = {"cpus": os.cpu_count(), "mnpd_bin": str(harness.mnpd_bin())}
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        RESULTS_FILE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n[cluster results] {section}: {json.dumps(values, sort_keys=True)}")
    return data
