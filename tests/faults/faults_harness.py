"""Helpers of the mnpd fault tests: crashes, a full disk and load against one
embedded node (SQLite and a folder).

The process, file server, package and signing helpers are the conformance
suite's (tests/conformance/harness.py, imported through sys.path, the way
tests/cluster does it). This module adds what faults need: a read-only view
of a data directory (SQLite opened with `mode=ro`, the blob and staging
folders), the durability invariants, a raw signed client with its own
keep-alive session, watching a process's open files, an RSS sampler and the
results files. Fixtures live in conftest.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import sqlite3
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Optional

import pytest
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "conformance"))
# These tests are about the embedded store (SQLite, a folder, in-process
# limits): they read its files directly.
os.environ["MNPD_CONFORMANCE_BACKEND"] = "embedded"

import harness  # noqa: E402
from harness import FileServer, MnpdServer, ServerFactory  # noqa: E402,F401

for _var in harness.PROXY_VARS:
    os.environ.pop(_var, None)

RESULTS_DIR = HERE / ".results"

TASK_PENDING, TASK_RUNNING, TASK_FAILED, TASK_SUCCEEDED = 1, 20, 30, 60
BLOB_NAME_RE = re.compile(r"^[0-9a-f]{64}$")

# How many times a task may be interrupted before it is failed
# (RunnerSettings.max_attempts in crates/mnpd/src/serve.rs).
MAX_ATTEMPTS = 3


# ---------------------------------------------------------------------------
# A data directory, read from the outside
# ---------------------------------------------------------------------------


class DataDir:
    """The files of an embedded mnpd: `mnpd.db` (read through SQLite in
    read-only mode, so the test never writes to it), `blobs/aa/<sha256>`
    and `tmp/`."""

    def __init__(self, path: Path):
        # Resolved: paths are compared with /proc/<pid>/fd link targets.
        self.path = Path(os.path.realpath(path))
        self.db_path = self.path / "mnpd.db"
        self.blob_dir = self.path / "blobs"
        self.tmp_dir = self.path / "tmp"

    # -- SQLite ---------------------------------------------------------------

    @contextlib.contextmanager
    def connect(self):
        assert self.db_path.is_file(), f"no database at {self.db_path}"
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=15)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        for attempt in range(50):
            try:
                with self.connect() as conn:
                    return conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.OperationalError as e:
                # A checkpoint of the running server can make a read-only
                # connection busy for a moment.
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                time.sleep(0.02)
        raise AssertionError(f"the database stayed busy for {sql!r}")

    def tasks(self) -> dict[str, dict]:
        return {r["task_id"]: dict(r) for r in self.query("SELECT * FROM tasks")}

    def versions(self) -> list[dict]:
        return [dict(r) for r in self.query("SELECT * FROM versions")]

    def status_counts(self) -> dict[int, int]:
        return {int(r[0]): int(r[1]) for r in
                self.query("SELECT status, count(*) FROM tasks GROUP BY status")}

    def version_count(self) -> int:
        return int(self.query("SELECT count(*) FROM versions")[0][0])

    def referenced(self) -> set[str]:
        """What start-up must keep: the packages of versions and of tasks
        that are not failed (the server's own rule, `referenced_blobs`)."""
        return {r[0] for r in self.query(
            "SELECT sha256 FROM versions UNION SELECT sha256 FROM tasks WHERE status <> 30")}

    def integrity(self) -> str:
        rows = self.query("PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)

    # -- files ------------------------------------------------------------------

    def blobs(self) -> set[str]:
        """Every stored package's sha256; anything else under blobs/ fails."""
        out = set()
        if not self.blob_dir.exists():
            return out
        for shard in self.blob_dir.iterdir():
            assert shard.is_dir() and re.fullmatch(r"[0-9a-f]{2}", shard.name), (
                f"unexpected entry in blobs/: {shard}")
            for f in shard.iterdir():
                assert f.is_file() and BLOB_NAME_RE.match(f.name) and f.name[:2] == shard.name, (
                    f"unexpected entry in blobs/: {f}")
                out.add(f.name)
        return out

    def blob_path(self, sha256: str) -> Path:
        return self.blob_dir / sha256[:2] / sha256

    def live_task_of(self, mnp_id: str, version: str, file_url: str) -> Optional[str]:
        """The TaskId the server answers to a repeat of this request (a task
        that is not failed), or None."""
        rows = self.query("SELECT task_id FROM tasks WHERE mnp_id = ? AND mnp_version = ? "
                          "AND file_url = ? AND status <> 30 ORDER BY created_at DESC LIMIT 1",
                          (mnp_id, version, file_url))
        return rows[0][0] if rows else None

    def tmp_files(self) -> list[str]:
        if not self.tmp_dir.exists():
            return []
        return sorted(p.name for p in self.tmp_dir.iterdir())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------
# The invariants
# ---------------------------------------------------------------------------


def check_versions_have_blobs(dd: DataDir) -> int:
    """Every version's package is stored, whole: the file exists, its size is
    the recorded size and its content hashes to its name."""
    versions = dd.versions()
    for v in versions:
        p = dd.blob_path(v["sha256"])
        assert p.is_file(), (
            f"version {v['mnp_version_id']} ({v['mnp_id']} {v['version']}) names package "
            f"{v['sha256']}, which is missing from blobs/")
        assert p.stat().st_size == v["size"], (
            f"package {v['sha256']} is {p.stat().st_size} bytes, version "
            f"{v['mnp_version_id']} recorded {v['size']}")
        assert sha256_file(p) == v["sha256"], f"package {v['sha256']} does not hash to its name"
    return len(versions)


def check_after_startup(dd: DataDir, referenced_before: set[str]) -> dict:
    """What start-up must have done: `tmp/` is empty, every stored package
    is one the database named before the start (versions, tasks not failed),
    and every version's package is there. Call it right after start-up,
    before any new CreateMNPVersion."""
    leftovers = dd.tmp_files()
    assert not leftovers, f"tmp/ is not empty after start-up: {leftovers}"
    blobs = dd.blobs()
    unreferenced = blobs - referenced_before
    assert not unreferenced, (
        f"packages no version or live task names survived start-up: {sorted(unreferenced)}")
    versions = check_versions_have_blobs(dd)
    assert dd.integrity() == "ok"
    return {"blobs": len(blobs), "versions": versions}


def wait_settled(dd: DataDir, timeout: float = 30, interval: float = 0.05,
                 server: Optional[MnpdServer] = None) -> dict:
    """Waits until no task is at 1 or 20; the status counts."""
    deadline = time.monotonic() + timeout
    counts: dict = {}
    while time.monotonic() < deadline:
        counts = dd.status_counts()
        if not counts.get(TASK_PENDING) and not counts.get(TASK_RUNNING):
            return counts
        if server is not None and not server.running:
            pytest.fail(f"mnpd exited while tasks were pending: {server.log_tail()}",
                        pytrace=False)
        time.sleep(interval)
    stuck = [(t["task_id"], t["status"], t["attempts"], t["lease_owner"], t["lease_until"])
             for t in dd.tasks().values() if t["status"] in (TASK_PENDING, TASK_RUNNING)]
    pytest.fail(f"tasks still at 1/20 after {timeout}s: {counts}; {stuck[:10]}", pytrace=False)


def interrupted_msg(msg: str) -> bool:
    return "interrupted" in msg or "stopped" in msg


def check_tasks_ended(dd: DataDir, answered: Iterable[str], *,
                      allow_interrupted_failures: bool = False) -> dict:
    """Every answered TaskId is in the database at 30 or 60 (none at 1/20);
    each task at 60 has exactly one version (and names it), each at 30 none.
    A task may end at 30 only when `allow_interrupted_failures` and it was
    interrupted more than MAX_ATTEMPTS times (its TaskMsg says so)."""
    answered = list(answered)
    tasks = dd.tasks()
    versions = dd.versions()
    per_task: dict[str, list] = {}
    for v in versions:
        per_task.setdefault(v["task_id"], []).append(v)
    lost = [t for t in answered if t not in tasks]
    assert not lost, f"TaskIds answered to clients but absent from the database: {lost[:10]}"
    unfinished = [(t["task_id"], t["status"]) for t in tasks.values()
                  if t["status"] not in (TASK_FAILED, TASK_SUCCEEDED)]
    assert not unfinished, f"tasks that did not end: {unfinished[:10]}"
    ids = [v["mnp_version_id"] for v in versions]
    assert len(ids) == len(set(ids)), "an MNPVersionId was handed out twice"
    pairs = [(v["mnp_id"], v["version"]) for v in versions]
    assert len(pairs) == len(set(pairs)), "a version number was recorded twice"
    failed = []
    for t in tasks.values():
        rows = per_task.get(t["task_id"], [])
        if t["status"] == TASK_SUCCEEDED:
            assert len(rows) == 1, (
                f"task {t['task_id']} is at 60 with {len(rows)} version rows: {rows}")
            v = rows[0]
            assert v["mnp_version_id"] == t["mnp_version_id"], (t, v)
            assert (v["mnp_id"], v["version"], v["sha256"], v["size"]) == (
                t["mnp_id"], t["mnp_version"], t["sha256"], t["size"]), (t, v)
            assert t["msg"] == "Success", t
        else:
            assert not rows, f"failed task {t['task_id']} has a version: {rows}"
            assert t["mnp_version_id"] is None, t
            failed.append(t)
    for t in failed:
        ok = (allow_interrupted_failures and t["attempts"] > MAX_ATTEMPTS
              and interrupted_msg(t["msg"]))
        assert ok, (f"task {t['task_id']} ({t['mnp_id']} {t['mnp_version']}) failed after "
                    f"{t['attempts']} attempts: {t['msg']!r}")
    return {
        "tasks": len(tasks),
        "answered": len(answered),
        "succeeded": sum(1 for t in tasks.values() if t["status"] == TASK_SUCCEEDED),
        "failed_after_interruptions": len(failed),
        "lost": len(lost),
    }


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def open_files(pid: int) -> list[str]:
    """Targets of the process's open file descriptors (gone ones skipped)."""
    out = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return out


def wait_for(predicate: Callable[[], object], timeout: float, what: str,
             interval: float = 0.001):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)


def freeze(server: MnpdServer):
    os.kill(server.proc.pid, signal.SIGSTOP)


def thaw(server: MnpdServer):
    os.kill(server.proc.pid, signal.SIGCONT)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (KiB) of a process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out


class RssSampler:
    """Samples /proc/<pid>/status every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.hwm_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                st = proc_status(self.pid)
                self.samples.append((time.monotonic(), st.get("VmRSS", 0)))
                self.hwm_kib = max(self.hwm_kib, st.get("VmHWM", 0))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    @property
    def peak_kib(self) -> int:
        return max((s[1] for s in self.samples), default=0)


# ---------------------------------------------------------------------------
# Raw signed requests over a keep-alive session
# ---------------------------------------------------------------------------

# The codes mnpd may answer anywhere (README: common errors) besides the
# spec's own list.
COMMON_CODES = {
    "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure",
    "AuthFailure.SignatureExpire", "AuthFailure.InvalidAuthorization",
    "MissingParameter", "InvalidAction", "NoSuchVersion", "UnsupportedRegion",
    "UnsupportedOperation", "UnknownParameter", "InvalidParameter",
    "RequestSizeLimitExceeded", "RequestLimitExceeded", "ResourceUnavailable",
    "InternalError",
}


def known_codes() -> set[str]:
    return set(harness.load_spec()["errorCodes"]) | COMMON_CODES


class Answer:
    """One HTTP answer of mnpd, checked for the API 3.0 envelope."""

    def __init__(self, r: requests.Response, t0: float, t1: float):
        self.status = r.status_code
        self.headers = {k.lower(): v for k, v in r.headers.items()}
        self.text = r.text
        self.t0, self.t1 = t0, t1
        try:
            self.body = r.json()
        except ValueError:
            self.body = None

    def problems(self) -> list[str]:
        """Why the answer is not a well-formed API 3.0 answer (empty: it is)."""
        out = []
        if self.status != 200:
            out.append(f"HTTP {self.status}")
        if self.headers.get("content-type") != "application/json":
            out.append(f"Content-Type {self.headers.get('content-type')!r}")
        if not isinstance(self.body, dict) or not isinstance(self.body.get("Response"), dict):
            out.append(f"no Response object: {self.text[:200]!r}")
            return out
        resp = self.body["Response"]
        rid = resp.get("RequestId")
        if not (isinstance(rid, str) and harness.UUID_RE.match(rid)):
            out.append(f"RequestId {rid!r} is not a UUID")
        err = resp.get("Error")
        if err is not None:
            if not isinstance(err, dict) or set(err) != {"Code", "Message"}:
                out.append(f"Error is not {{Code, Message}}: {err!r}")
            elif not (isinstance(err["Message"], str) and err["Message"].strip()):
                out.append(f"{err.get('Code')} with an empty message")
            if set(resp) != {"Error", "RequestId"}:
                out.append(f"an error answer with other fields: {sorted(resp)}")
        return out

    @property
    def response(self) -> dict:
        return self.body["Response"]

    @property
    def code(self) -> Optional[str]:
        err = self.response.get("Error")
        return err.get("Code") if err else None

    @property
    def message(self) -> str:
        err = self.response.get("Error")
        return err.get("Message", "") if err else ""

    def __repr__(self):
        return f"<Answer {self.status} {self.text[:300]!r}>"


class Client:
    """TC3-HMAC-SHA256 POSTs signed here (harness.tc3_authorization), over a
    keep-alive session of its own. Connection failures raise
    requests.RequestException."""

    def __init__(self, server: MnpdServer, creds: Optional[harness.Credentials] = None,
                 timeout: float = 60):
        self.endpoint = server.endpoint
        self.creds = creds or server.creds
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def close(self):
        self.session.close()

    def headers(self, action: str, payload: bytes, *,
                creds: Optional[harness.Credentials] = None,
                secret_key: Optional[str] = None) -> dict:
        creds = creds or self.creds
        ts = int(time.time())
        return {
            "Content-Type": "application/json",
            "Host": self.endpoint,
            "X-TC-Action": action,
            "X-TC-Version": harness.API_VERSION,
            "X-TC-Region": harness.REGION,
            "X-TC-Timestamp": str(ts),
            "Authorization": harness.tc3_authorization(
                creds.secret_id, secret_key or creds.secret_key, method="POST",
                host=self.endpoint, query="", content_type="application/json",
                payload=payload, timestamp=ts),
        }

    def post(self, action: str, params=None, *, body: Optional[bytes] = None,
             creds: Optional[harness.Credentials] = None, secret_key: Optional[str] = None,
             timeout: Optional[float] = None) -> Answer:
        """`creds` signs as another account; `secret_key` signs with a wrong key."""
        payload = body if body is not None else json.dumps(params or {}).encode()
        headers = self.headers(action, payload, creds=creds, secret_key=secret_key)
        t0 = time.monotonic()
        r = self.session.post(f"http://{self.endpoint}/", data=payload, headers=headers,
                              timeout=timeout or self.timeout)
        return Answer(r, t0, time.monotonic())

    def raw_bytes(self, action: str, params: dict) -> bytes:
        """The whole signed HTTP/1.1 request, for a socket of the test's own."""
        payload = json.dumps(params).encode()
        headers = self.headers(action, payload)
        headers["Content-Length"] = str(len(payload))
        head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode() + b"\r\n" + payload

    def ok(self, action: str, params: dict, **kw) -> dict:
        """The Response of a call that must succeed."""
        a = self.post(action, params, **kw)
        assert not a.problems(), f"{action}: {a.problems()}: {a!r}"
        assert a.code is None, f"{action} {params} answered {a.code}: {a.message}"
        return a.response


# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------


def unique_package(tag: str = "") -> bytes:
    """The realistic mini program plus a small asset naming `tag`, so every
    call gives a package of its own (its own sha256, its own blob)."""
    files = harness.mini_program_files()
    files["assets/build-id.txt"] = f"{tag or uuid.uuid4().hex}\n".encode()
    return harness.zip_bytes(files)


def heavy_package(entries: int = 10, mib: int = 24, small: int = 6000) -> bytes:
    """A legal package that takes the validator a while: `entries` assets of
    `mib` MiB (a 16 KiB random block repeated, so they deflate ~130:1, under
    the ratio limit of 200; 240 MiB in all, under the 256 MiB limit) and
    `small` little random files (under the 10,000-entry limit). About 6 MiB."""
    block = os.urandom(16384)
    filler = block * (mib * 1024 * 1024 // len(block))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in harness.mini_program_files().items():
            zf.writestr(name, data)
        for i in range(entries):
            zf.writestr(f"assets/heavy/{i:02d}.bin", filler)
        for i in range(small):
            zf.writestr(f"assets/small/{i:05d}.txt", os.urandom(256))
    return buf.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

_results_lock = threading.Lock()
_session_results: dict[str, dict] = {}


def record(file: str, section: str, values: dict) -> None:
    """Merges `values` into `section` of this session's `file` under
    tests/faults/.results/ (rewritten whole: it shows the last run) and
    prints them."""
    with _results_lock:
        data = _session_results.setdefault(file, {})
        data.setdefault(section, {}).update(values)
        out = dict(data)
        out["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        out["machine"] = {"cpus": os.cpu_count(), "mnpd_bin": str(harness.mnpd_bin())}
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / file).write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"\n[faults results] {file} {section}: {json.dumps(values, sort_keys=True)}")
