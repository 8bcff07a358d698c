"""Helpers of the mnpd conformance suite: the server process, the package
file server, package builders, SDK clients and a raw TC3 signer.

Everything here talks to a real `mnpd` binary over real sockets; nothing is
mocked. Fixtures wrapping these helpers live in conftest.py.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import hmac
import http.server
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import pytest
import requests
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tcmpp.v20240801 import tcmpp_client

# ---------------------------------------------------------------------------
# Locations and constants
# ---------------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SPEC_PATH = REPO_ROOT / "spec" / "tcmpp-2024-08-01.json"

API_VERSION = "2024-08-01"
SERVICE = "tcmpp"
REGION = "ap-guangzhou"

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I
)
MNP_ID_RE = re.compile(r"^mp[a-z0-9]{14}$")
TASK_ID_RE = re.compile(r"^[0-9]{19}$")

TASK_PENDING, TASK_RUNNING, TASK_FAILED, TASK_SUCCEEDED = 1, 20, 30, 60
TASK_STATES = {TASK_PENDING, TASK_RUNNING, TASK_FAILED, TASK_SUCCEEDED}

# Proxies from the environment would route loopback traffic (the SDK's, and
# the server's package downloads) elsewhere: the suite never wants that.
PROXY_VARS = [
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
]


def clean_env(extra: Optional[dict] = None, *, backend: bool = True) -> dict:
    """The environment for mnpd processes: no proxies, no MNPD_* settings of
    the caller, and the settings of the backend under test."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.pop("MNPD_LOG_FORMAT", None)
    # The server's own settings must come from the flags the suite passes.
    for k in list(env):
        if k.startswith("MNPD_") and k != "MNPD_BIN":
            env.pop(k)
    if backend:
        env.update(backend_env())
    if extra:
        env.update(extra)
    return env


def mnpd_bin() -> Path:
    """The server binary: $MNPD_BIN (relative paths are taken from the repo
    root), else target/debug/mnpd of this repo. Fails (never skips) when it
    is missing."""
    raw = os.environ.get("MNPD_BIN", "target/debug/mnpd")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"mnpd binary not found at {path}; build it with `cargo build -p mnpd` "
            "or point MNPD_BIN at it",
            pytrace=False,
        )
    return path


def load_spec() -> dict:
    if not SPEC_PATH.is_file():
        pytest.fail(f"the API spec is missing: {SPEC_PATH}", pytrace=False)
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    return free_port()


# Mini program types the spec's own examples use (so the real service takes
# them too).
MNP_TYPE = "Life Service->144_Lilliputian Services"
OTHER_MNP_TYPE = "Medical Service->26_Public Medical Institutions"


def unique_name(prefix: str = "mnp") -> str:
    """A mini program name unique across the session, at most 30 chars."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"[:30]


# ---------------------------------------------------------------------------
# The mnpd process
# ---------------------------------------------------------------------------


@dataclass
class Credentials:
    secret_id: str
    secret_key: str



# ---------------------------------------------------------------------------
# Backends: the suite runs on the embedded default, or (with
# MNPD_CONFORMANCE_BACKEND=cluster) on PostgreSQL + an S3-compatible server +
# Redis, each server of the suite getting its own database and bucket.
# ---------------------------------------------------------------------------

BACKEND = os.environ.get("MNPD_CONFORMANCE_BACKEND", "embedded")
POSTGRES_ADMIN_URL = os.environ.get("MNPD_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("MNPD_TEST_REDIS_URL", "redis://127.0.0.1:6379")


class ClusterServices:
    """The shared services of a cluster-backend run: one moto S3 server for
    the session, a PostgreSQL database and an S3 bucket per data directory
    (so a restarted server finds its state again)."""

    _instance: Optional["ClusterServices"] = None

    def __init__(self):
        moto = REPO_ROOT / ".cache/services/moto/bin/moto_server"
        if not moto.exists():
            pytest.fail("moto_server is not installed; run scripts/services", pytrace=False)
        self.s3_port = free_port()
        self.moto = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.s3_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=clean_env(backend=False),
        )
        self.s3_endpoint = f"http://127.0.0.1:{self.s3_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.s3_endpoint, timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or self.moto.poll() is not None:
                    pytest.fail("the moto S3 server did not start", pytrace=False)
                time.sleep(0.2)
        self.databases: dict[str, str] = {}

    @classmethod
    def get(cls) -> "ClusterServices":
        if cls._instance is None:
            cls._instance = ClusterServices()
        return cls._instance

    @staticmethod
    def _psql(sql: str):
        cp = subprocess.run(["psql", POSTGRES_ADMIN_URL + "/postgres", "-v", "ON_ERROR_STOP=1",
                             "-qc", sql], capture_output=True, text=True, timeout=60)
        if cp.returncode != 0:
            pytest.fail(f"PostgreSQL: {sql}: {cp.stderr} (run scripts/services)", pytrace=False)

    def name_for(self, data_dir: Path) -> str:
        return "mnpd_c_" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]

    def database_url(self, data_dir: Path) -> str:
        name = self.name_for(data_dir)
        if name not in self.databases:
            self._psql(f"DROP DATABASE IF EXISTS {name}")
            self._psql(f"CREATE DATABASE {name}")
            bucket = name.replace("_", "-")
            r = requests.put(f"{self.s3_endpoint}/{bucket}", timeout=10)
            assert r.status_code in (200, 409), r.text
            self.databases[name] = bucket
        return f"{POSTGRES_ADMIN_URL}/{name}"

    def args(self, data_dir: Path) -> list[str]:
        db = self.database_url(data_dir)
        bucket = self.databases[self.name_for(data_dir)]
        # Short leases: a killed node's tasks are taken over within seconds.
        return ["--database-url", db, "--storage-url", f"s3://{bucket}/packages",
                "--redis-url", REDIS_URL, "--task-lease-secs", "5"]

    def env(self) -> dict:
        return {"MNPD_S3_ENDPOINT": self.s3_endpoint, "MNPD_S3_ACCESS_KEY_ID": "test",
                "MNPD_S3_SECRET_ACCESS_KEY": "test", "MNPD_S3_REGION": "us-east-1"}

    @classmethod
    def shutdown(cls):
        inst = cls._instance
        if inst is None:
            return
        inst.moto.terminate()
        with contextlib.suppress(Exception):
            inst.moto.wait(10)
        for name in inst.databases:
            with contextlib.suppress(BaseException):
                inst._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cls._instance = None


def backend_args(data_dir: Path) -> list[str]:
    return ClusterServices.get().args(data_dir) if BACKEND == "cluster" else []


def backend_env() -> dict:
    return ClusterServices.get().env() if BACKEND == "cluster" else {}


class MnpdServer:
    """One `mnpd serve` process on a loopback port and its data directory."""

    LISTEN_RE = re.compile(r"mnpd listening on (https?)://([0-9.]+):([0-9]+)")
    TEAM_RE = re.compile(r"^\s*TeamId\s+(\S+)\s*$")

    def __init__(
        self,
        data_dir: Path,
        *,
        secret_id: str,
        secret_key: str,
        platform_id: str,
        extra_args: Iterable[str] = (),
        tls: Optional["TlsFiles"] = None,
        team_id: Optional[str] = None,
        log_path: Optional[Path] = None,
    ):
        self.data_dir = Path(data_dir)
        self.creds = Credentials(secret_id, secret_key)
        self.platform_id = platform_id
        self.team_id = team_id
        self.extra_args = list(extra_args)
        self.tls = tls
        self.log_path = log_path or self.data_dir.parent / f"{self.data_dir.name}.log"
        # MNPD_* settings for the process beyond the bootstrap key and platform.
        self.extra_env: dict[str, str] = {}
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.scheme = "https" if tls else "http"
        self.stdout_lines: list[str] = []
        self._ready = threading.Event()
        self._reader: Optional[threading.Thread] = None
        self._log = None

    # -- lifetime --------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.endpoint}/"

    @property
    def verify(self):
        return str(self.tls.cert) if self.tls else True

    def command(self, port: int) -> list[str]:
        cmd = [
            str(mnpd_bin()), "serve",
            "--listen", f"127.0.0.1:{port}",
            "--data-dir", str(self.data_dir),
        ]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        return cmd + backend_args(self.data_dir) + self.extra_args

    def start(self, timeout: float = 30.0) -> "MnpdServer":
        assert not self.running, "already running"
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        env = clean_env({
            "MNPD_BOOTSTRAP_SECRET_ID": self.creds.secret_id,
            "MNPD_BOOTSTRAP_SECRET_KEY": self.creds.secret_key,
            "MNPD_BOOTSTRAP_PLATFORM_ID": self.platform_id,
            "MNPD_LOG": "info",
            **self.extra_env,
        })
        for attempt in range(3):  # a port taken between probe and bind: retry
            self.port = free_port()
            self.stdout_lines = []
            self._ready.clear()
            self._log = open(self.log_path, "ab")
            self._log.write(f"\n=== start {' '.join(self.command(self.port))}\n".encode())
            self._log.flush()
            log_start = self._log.tell()
            self.proc = subprocess.Popen(
                self.command(self.port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=env,
                text=True,
                bufsize=1,
            )
            self._reader = threading.Thread(target=self._read_stdout, daemon=True)
            self._reader.start()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not self._ready.is_set():
                if self.proc.poll() is not None:
                    break
                self._ready.wait(0.05)
            if self._ready.is_set():
                break
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
                self._close_log()
                pytest.fail(
                    f"mnpd did not print its listening line within {timeout}s; "
                    f"stdout={self.stdout_lines!r}; log: {self.log_tail()}",
                    pytrace=False,
                )
            rc = self.proc.returncode
            self._close_log()
            with open(self.log_path, "rb") as f:
                f.seek(log_start)
                this_run = f.read().decode(errors="replace")
            if "in use" not in this_run or attempt == 2:
                pytest.fail(f"mnpd exited with {rc} before listening: {this_run[-3000:]}",
                            pytrace=False)

        m = next(
            (self.LISTEN_RE.search(l) for l in self.stdout_lines if self.LISTEN_RE.search(l)),
            None,
        )
        assert m, self.stdout_lines
        assert m.group(1) == self.scheme, f"expected {self.scheme}, server says {m.group(0)}"
        assert int(m.group(3)) == self.port, f"listening on {m.group(0)}, asked for {self.port}"
        for line in self.stdout_lines:
            t = self.TEAM_RE.match(line)
            if t:
                self.team_id = t.group(1)
        self.wait_healthy()
        return self

    def _read_stdout(self):
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.stdout_lines.append(line)
            if self._log:
                with contextlib.suppress(Exception):
                    self._log.write(f"[stdout] {line}\n".encode())
                    self._log.flush()
            if self.LISTEN_RE.search(line):
                self._ready.set()

    def wait_healthy(self, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                r = requests.get(
                    f"{self.scheme}://{self.endpoint}/healthz",
                    timeout=2,
                    verify=self.verify,
                    proxies={"http": None, "https": None},
                )
                if r.status_code == 200 and r.text.strip() == "ok":
                    return
                last = f"{r.status_code} {r.text!r}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.05)
        pytest.fail(f"/healthz never answered 200 ok (last: {last}); log: {self.log_tail()}",
                    pytrace=False)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM; the process must exit 0 within `timeout` seconds."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self._close_log()
                pytest.fail(
                    f"mnpd did not exit within {timeout}s of SIGTERM; log: {self.log_tail()}",
                    pytrace=False,
                )
        rc = self.proc.returncode
        self._close_log()
        return rc

    def kill9(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close_log()

    def _close_log(self):
        if self._reader:
            self._reader.join(5)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, n: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""

    # -- operator commands -------------------------------------------------

    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(mnpd_bin()), "admin", "--data-dir", str(self.data_dir), "--json", *args]
        if BACKEND == "cluster":
            cmd[2:2] = ["--database-url", ClusterServices.get().database_url(self.data_dir)]
        cp = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=30)
        if check and cp.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed ({cp.returncode}): {cp.stderr}", pytrace=False)
        return cp

    def admin_json(self, *args: str):
        out = self.admin(*args).stdout.strip()
        try:
            return json.loads(out)
        except ValueError:
            pytest.fail(f"`mnpd admin --json {' '.join(args)}` printed non-JSON: {out!r}",
                        pytrace=False)

    def create_account(self) -> Credentials:
        out = self.admin_json("account", "create", "--name", unique_name("acct"))
        assert out.get("SecretId") and out.get("SecretKey"), out
        return Credentials(out["SecretId"], out["SecretKey"])

    def create_platform(self, secret_id: str, **kw) -> dict:
        args = ["platform", "create", "--secret-id", secret_id]
        if "expires_at" in kw:
            args += ["--expires-at", kw["expires_at"]]
        if "platform_id" in kw:
            args += ["--platform-id", kw["platform_id"]]
        out = self.admin_json(*args)
        assert out.get("PlatformId") and out.get("TeamId"), out
        return out

    # -- clients -----------------------------------------------------------

    def client(self, creds: Optional[Credentials] = None, **kw) -> "tcmpp_client.TcmppClient":
        return sdk_client(self, creds or self.creds, **kw)

    def api(self, creds: Optional[Credentials] = None, platform_id: Optional[str] = None,
            **kw) -> "Api":
        return Api(self.client(creds, **kw), platform_id or self.platform_id)


def new_credentials(tag: str = "") -> Credentials:
    sid = f"AKID{tag}{uuid.uuid4().hex[:20]}"
    key = f"sk{uuid.uuid4().hex}"
    return Credentials(sid, key)


def new_platform_id() -> str:
    return "T" + uuid.uuid4().hex[:18].upper()


@dataclass
class TlsFiles:
    cert: Path
    key: Path


def make_self_signed_cert(folder: Path) -> TlsFiles:
    """A self-signed certificate for IP 127.0.0.1, made with the openssl CLI."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.fail("openssl is needed to make the test TLS certificate", pytrace=False)
    cp = subprocess.run(
        [
            openssl, "req", "-x509",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
            "-addext", "extendedKeyUsage=serverAuth",
        ],
        capture_output=True, text=True, timeout=60,
    )
    if cp.returncode != 0:
        pytest.fail(f"openssl failed: {cp.stderr}", pytrace=False)
    return TlsFiles(cert, key)


class ServerFactory:
    """Starts mnpd servers with special flags; stops every one still running
    at teardown with SIGTERM and requires exit status 0 within 10 s."""

    def __init__(self, root: Path):
        self.root = root
        self.servers: list[MnpdServer] = []
        self._n = 0

    def new(self, *extra_args: str, data_dir: Optional[Path] = None, creds=None,
            platform_id: Optional[str] = None, tls=None, team_id: Optional[str] = None,
            start: bool = True) -> MnpdServer:
        self._n += 1
        creds = creds or new_credentials()
        server = MnpdServer(
            data_dir or self.root / f"data-{self._n}",
            secret_id=creds.secret_id,
            secret_key=creds.secret_key,
            platform_id=platform_id or new_platform_id(),
            extra_args=extra_args,
            tls=tls,
            team_id=team_id,
            log_path=self.root / f"server-{self._n}.log",
        )
        self.servers.append(server)
        if start:
            server.start()
        return server

    def restart(self, old: MnpdServer, *extra_args: str) -> MnpdServer:
        """A new process on the data directory of `old` (which must be stopped)."""
        assert not old.running
        return self.new(*(extra_args or old.extra_args), data_dir=old.data_dir,
                        creds=old.creds, platform_id=old.platform_id, tls=old.tls,
                        team_id=old.team_id)

    def stop_all(self):
        errors = []
        for s in self.servers:
            if s.running:
                rc = s.stop(timeout=10)
                if rc != 0:
                    errors.append(f"mnpd on {s.endpoint} exited {rc} after SIGTERM: "
                                  f"{s.log_tail(1500)}")
        assert not errors, "\n".join(errors)



# ---------------------------------------------------------------------------
# SDK clients
# ---------------------------------------------------------------------------


def sdk_client(server: MnpdServer, creds: Credentials, *, sign_method: str = "TC3-HMAC-SHA256",
               req_method: str = "POST", region: str = REGION,
               timeout: int = 60) -> "tcmpp_client.TcmppClient":
    hp = HttpProfile(protocol=server.scheme, endpoint=server.endpoint,
                     reqMethod=req_method, reqTimeout=timeout)
    if server.tls:
        hp.certification = str(server.tls.cert)
    profile = ClientProfile(signMethod=sign_method, httpProfile=hp)
    cred = credential.Credential(creds.secret_id, creds.secret_key)
    return tcmpp_client.TcmppClient(cred, region, profile)


def expect_error(fn: Callable, code: str, *fragments: str) -> TencentCloudSDKException:
    """Calls fn; it must raise the SDK exception with exactly `code`, a
    non-empty message containing every fragment (case-insensitive), and a
    UUID RequestId."""
    try:
        result = fn()
    except TencentCloudSDKException as e:
        got = e.get_code()
        msg = e.get_message() or ""
        assert got == code, f"expected error {code}, got {got}: {msg}"
        assert isinstance(msg, str) and msg.strip(), f"{code} came with an empty message"
        for frag in fragments:
            assert frag.lower() in msg.lower(), (
                f"{code} message should mention {frag!r}: {msg!r}")
        rid = e.get_request_id()
        assert rid and UUID_RE.match(rid), f"RequestId {rid!r} is not a UUID"
        return e
    pytest.fail(f"expected error {code}, but the call succeeded: {result!r}", pytrace=False)


class Api:
    """JSON calls through the official SDK (`call_json`), for one platform."""

    def __init__(self, client, platform_id: str):
        self.client = client
        self.platform_id = platform_id

    def call(self, action: str, params: dict) -> dict:
        """The `Response` object of a successful call (raises the SDK's
        exception on an error answer)."""
        out = self.client.call_json(action, params)
        assert isinstance(out, dict) and "Response" in out, out
        resp = out["Response"]
        assert "Error" not in resp, resp
        rid = resp.get("RequestId")
        assert isinstance(rid, str) and UUID_RE.match(rid), f"RequestId {rid!r} is not a UUID"
        return resp

    def mnp_params(self, **over) -> dict:
        p = {
            "MNPType": MNP_TYPE,
            "MNPName": unique_name(),
            "MNPIcon": "https://cdn.example.com/icons/app-icon.png",
            "MNPIntro": "A conformance test mini program",
            "MNPDesc": "Created by the mnpd conformance suite.",
            "PlatformId": self.platform_id,
        }
        p.update(over)
        return {k: v for k, v in p.items() if v is not None}

    def create_mnp(self, **over) -> str:
        resp = self.call("CreateMNP", self.mnp_params(**over))
        mnp_id = resp["Data"]["ResourceId"]
        assert isinstance(mnp_id, str) and MNP_ID_RE.match(mnp_id), mnp_id
        return mnp_id

    def version_params(self, mnp_id: str, version: str, url: str,
                       intro: str = "conformance version", **over) -> dict:
        p = {
            "MNPId": mnp_id,
            "MNPVersion": version,
            "FileUrl": url,
            "PlatformId": self.platform_id,
            "MNPVersionIntro": intro,
        }
        p.update(over)
        return p

    def create_version(self, mnp_id: str, version: str, url: str,
                       intro: str = "conformance version", **over) -> str:
        resp = self.call("CreateMNPVersion",
                         self.version_params(mnp_id, version, url, intro, **over))
        task_id = resp["Data"]["TaskId"]
        assert isinstance(task_id, str) and TASK_ID_RE.match(task_id), (
            f"TaskId {task_id!r} is not 19 digits")
        return task_id

    def describe_task(self, task_id: str, platform_id: Optional[str] = None) -> dict:
        resp = self.call("DescribeMNPVersion", {
            "BusinessId": task_id, "PlatformId": platform_id or self.platform_id})
        return resp["Data"]

    def wait_task(self, task_id: str, timeout: float = 45.0) -> dict:
        """Polls DescribeMNPVersion until the task is 30 or 60."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            data = self.describe_task(task_id)
            status = data.get("TaskStatus")
            assert status in TASK_STATES, f"TaskStatus {status!r} is not one of {TASK_STATES}"
            assert data.get("TaskId") == task_id, data
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in (TASK_FAILED, TASK_SUCCEEDED):
                return data
            if time.monotonic() > deadline:
                pytest.fail(f"task {task_id} still at {status} after {timeout}s "
                            f"(states seen {seen}): {data}", pytrace=False)
            time.sleep(0.15)

    def version_succeeds(self, mnp_id: str, version: str, url: str, **kw) -> dict:
        task_id = self.create_version(mnp_id, version, url, **kw)
        data = self.wait_task(task_id)
        assert data["TaskStatus"] == TASK_SUCCEEDED, (
            f"version {version} from {url} should succeed: {data}")
        assert data["TaskMsg"] == "Success", data
        assert data["MNPId"] == mnp_id, data
        return data


# ---------------------------------------------------------------------------
# Raw requests, signed by the suite itself
# ---------------------------------------------------------------------------


def _sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, *, method: str, host: str,
                      query: str, content_type: str, payload: bytes, timestamp: int,
                      service: str = SERVICE, date: Optional[str] = None) -> str:
    """The TC3-HMAC-SHA256 Authorization header value (signed headers:
    content-type;host), written from the public algorithm description."""
    date = date or time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical = "\n".join([
        method, "/", query,
        f"content-type:{content_type}\nhost:{host}\n",
        "content-type;host",
        _sha256_hex(payload),
    ])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         _sha256_hex(canonical.encode("utf-8"))])
    k = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k = _hmac(k, service)
    k = _hmac(k, "tc3_request")
    sig = hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={sig}")


@dataclass
class RawResponse:
    status: int
    headers: dict
    text: str
    body: Optional[dict] = None

    @property
    def response(self) -> dict:
        assert self.body is not None, f"not JSON: {self.text[:300]!r}"
        assert "Response" in self.body, self.body
        return self.body["Response"]

    def assert_envelope(self):
        assert self.status == 200, f"HTTP {self.status}: {self.text[:300]}"
        ctype = self.headers.get("content-type", "")
        # The official SDKs only look for errors when Content-Type is exactly
        # application/json (or text/plain).
        assert ctype == "application/json", f"Content-Type {ctype!r}"
        rid = self.response.get("RequestId")
        assert isinstance(rid, str) and UUID_RE.match(rid), f"RequestId {rid!r}"

    def assert_error(self, code: str, *fragments: str) -> str:
        self.assert_envelope()
        err = self.response.get("Error")
        assert err, f"expected {code}, got success: {self.response}"
        assert err.get("Code") == code, f"expected {code}, got {err}"
        msg = err.get("Message")
        assert isinstance(msg, str) and msg.strip(), f"{code} with empty message"
        for frag in fragments:
            assert frag.lower() in msg.lower(), f"{code} message should mention {frag!r}: {msg!r}"
        assert set(self.response) == {"Error", "RequestId"}, self.response
        assert set(err) == {"Code", "Message"}, err
        return msg

    def assert_ok(self) -> dict:
        self.assert_envelope()
        assert "Error" not in self.response, self.response
        return self.response


def raw_request(server: MnpdServer, *, method: str = "POST", headers: dict,
                body: bytes = b"", query: str = "", timeout: float = 30,
                chunked: bool = False) -> RawResponse:
    """`chunked` sends the body with Transfer-Encoding: chunked (no
    Content-Length)."""
    url = f"{server.scheme}://{server.endpoint}/"
    if query:
        url += "?" + query
    data = body
    if chunked:
        data = (body[i:i + 65536] for i in range(0, len(body), 65536))
    r = requests.request(method, url, headers=headers, data=data, timeout=timeout,
                         verify=server.verify, proxies={"http": None, "https": None})
    try:
        parsed = r.json()
    except ValueError:
        parsed = None
    return RawResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()},
                       r.text, parsed)


def tc3_post(server: MnpdServer, action: Optional[str], params=None, *,
             body: Optional[bytes] = None, creds: Optional[Credentials] = None,
             timestamp: Optional[int] = None, version: Optional[str] = API_VERSION,
             region: Optional[str] = REGION, content_type: str = "application/json",
             authorization: Optional[str] = None, drop: Iterable[str] = (),
             extra_headers: Optional[dict] = None, sign_date: Optional[str] = None,
             service: str = SERVICE, chunked: bool = False) -> RawResponse:
    """A TC3-HMAC-SHA256 POST built and signed by hand. `drop` removes
    headers by name after signing; `authorization` replaces the header."""
    creds = creds or server.creds
    payload = body if body is not None else json.dumps(params or {}).encode("utf-8")
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "Host": server.endpoint,
        "X-TC-Timestamp": str(ts),
    }
    if action is not None:
        headers["X-TC-Action"] = action
    if version is not None:
        headers["X-TC-Version"] = version
    if region is not None:
        headers["X-TC-Region"] = region
    headers["Authorization"] = authorization or tc3_authorization(
        creds.secret_id, creds.secret_key, method="POST", host=server.endpoint, query="",
        content_type=content_type, payload=payload, timestamp=ts, service=service,
        date=sign_date)
    for name in drop:
        headers.pop(name, None)
    if extra_headers:
        headers.update(extra_headers)
    return raw_request(server, method="POST", headers=headers, body=payload, chunked=chunked)


def v1_request(server: MnpdServer, action: Optional[str], params: dict, *,
               method: str = "GET", sign_method: str = "HmacSHA256",
               creds: Optional[Credentials] = None, timestamp: Optional[int] = None,
               version: Optional[str] = API_VERSION, region: Optional[str] = REGION,
               drop: Iterable[str] = ()) -> RawResponse:
    """A HmacSHA1 / HmacSHA256 ("v1") request signed by hand: every
    parameter, Signature included, in the query (GET) or the form body (POST).
    `drop` removes parameters after signing."""
    creds = creds or server.creds
    ts = int(time.time()) if timestamp is None else timestamp
    p = {str(k): str(v) for k, v in params.items()}
    common = {"Action": action, "Version": version, "Region": region,
              "SecretId": creds.secret_id, "Timestamp": str(ts),
              "Nonce": str(uuid.uuid4().int % 1_000_000_000), "SignatureMethod": sign_method}
    p.update({k: v for k, v in common.items() if v is not None})
    to_sign = f"{method}{server.endpoint}/?" + "&".join(f"{k}={p[k]}" for k in sorted(p))
    digest = hashlib.sha1 if sign_method == "HmacSHA1" else hashlib.sha256
    p["Signature"] = base64.b64encode(
        hmac.new(creds.secret_key.encode(), to_sign.encode(), digest).digest()).decode()
    for name in drop:
        p.pop(name, None)
    encoded = urllib.parse.urlencode(p)
    if method == "GET":
        return raw_request(server, method="GET", headers={}, query=encoded)
    return raw_request(server, method="POST", body=encoded.encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


# ---------------------------------------------------------------------------
# The package file server
# ---------------------------------------------------------------------------


class FileServer:
    """A real HTTP server (ThreadingHTTPServer in a thread) serving a folder.

    Routes (NAME is a file in the folder):
      /files/NAME                 the file, with Content-Length
      /nolength/NAME              the file, no Content-Length (ends at close)
      /truncated/NAME             promises len(file) bytes, sends half, closes
      /overlong/NAME              promises len(file) bytes, sends the file then junk
      /trickle/SECS/NAME          the file in small pieces spread over SECS seconds
      /redirect/N/NAME            a chain of N redirects ending at /files/NAME
                                  (?code=301|302|303|307|308, ?relative=1 for a
                                  relative Location)
      /status/CODE                answers CODE
      /goto?to=URL                one redirect to any URL (any scheme)
      /promise/BYTES              announces BYTES in Content-Length, sends 16 bytes,
                                  then stalls for 5 s
      /endless                    zeros without Content-Length, until the client hangs up
    Every request path is counted in `hits`.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: collections.Counter = collections.Counter()
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, fmt, *args):  # quiet
                pass

            def do_GET(self):
                with outer._lock:
                    outer.hits[self.path] += 1
                try:
                    outer._route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- URLs ----------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, data: bytes, suffix: str = ".zip", name: Optional[str] = None) -> str:
        """Stores `data` under a fresh name; returns the name."""
        name = name or f"{uuid.uuid4().hex[:12]}{suffix}"
        (self.root / name).write_bytes(data)
        return name

    def file_url(self, name: str) -> str:
        return self.url(f"/files/{name}")

    def hit_count(self, url: str) -> int:
        path = urllib.parse.urlsplit(url).path
        with self._lock:
            return self.hits[path]

    # -- serving ------------------------------------------------------------

    def _data(self, name: str) -> Optional[bytes]:
        p = self.root / name
        if "/" in name or not p.is_file():
            return None
        return p.read_bytes()

    def _route(self, h: http.server.BaseHTTPRequestHandler):
        parts = urllib.parse.urlsplit(h.path).path.strip("/").split("/")
        kind = parts[0] if parts else ""

        def not_found():
            body = b"not found"
            h.send_response(404)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        if kind == "status" and len(parts) == 2:
            code = int(parts[1])
            body = f"status {code}".encode()
            h.send_response(code)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        if kind == "promise" and len(parts) == 2:
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.send_header("Content-Length", parts[1])
            h.end_headers()
            h.wfile.write(b"PK\x03\x04" + bytes(12))
            h.wfile.flush()
            time.sleep(5)
            return
        if kind == "endless":
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.end_headers()
            chunk = bytes(65536)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                h.wfile.write(chunk)
            return
        if kind == "goto":
            to = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)["to"][0]
            h.send_response(302)
            h.send_header("Location", to)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if kind == "redirect" and len(parts) == 3:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
            code = int(query.get("code", ["302"])[0])
            relative = query.get("relative", ["0"])[0] == "1"
            n = int(parts[1])
            target = f"/redirect/{n - 1}/{parts[2]}" if n > 1 else f"/files/{parts[2]}"
            if n > 1 and (code != 302 or relative):
                target += "?" + urllib.parse.urlencode({"code": code,
                                                         "relative": int(relative)})
            h.send_response(code)
            h.send_header("Location", target if relative else self.url(target))
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        name = parts[-1] if len(parts) >= 2 else ""
        data = self._data(name)
        if data is None:
            return not_found()
        if kind == "files":
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        elif kind == "nolength":
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.end_headers()
            for i in range(0, len(data), 65536):
                h.wfile.write(data[i:i + 65536])
                h.wfile.flush()
        elif kind == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
        elif kind == "overlong":
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data + b"JUNK" * 16384)
            h.wfile.flush()
        elif kind == "trickle" and len(parts) == 3:
            secs = float(parts[1])
            pieces = 20
            h.send_response(200)
            h.send_header("Content-Type", "application/zip")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            step = max(1, -(-len(data) // pieces))
            for i in range(0, len(data), step):
                h.wfile.write(data[i:i + step])
                h.wfile.flush()
                time.sleep(secs / pieces)
        else:
            not_found()


# ---------------------------------------------------------------------------
# Package builders (zipfile)
# ---------------------------------------------------------------------------


def tiny_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGBA PNG, one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" + b"\x1a\x73\xe8\xff" * width
    raw = row * height
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def _page_files(page: str, title: str) -> dict:
    name = page.rsplit("/", 1)[-1]
    return {
        f"{page}.js": (
            "const app = getApp()\n\n"
            "Page({\n"
            f"  data: {{ title: '{title}', items: [] }},\n"
            "  onLoad(query) {\n"
            "    this.setData({ items: app.globalData.logs || [] })\n"
            "  },\n"
            "  onTap(e) {\n"
            f"    wx.navigateTo({{ url: '/pages/logs/logs?from={name}' }})\n"
            "  }\n"
            "})\n"
        ).encode(),
        f"{page}.json": json.dumps({"navigationBarTitleText": title,
                                    "usingComponents": {}}, indent=2).encode(),
        f"{page}.wxml": (
            f'<view class="container {name}">\n'
            '  <text class="title">{{title}}</text>\n'
            '  <block wx:for="{{items}}" wx:key="*this">\n'
            '    <view class="item" bindtap="onTap">{{index + 1}}. {{item}}</view>\n'
            '  </block>\n'
            '</view>\n'
        ).encode(),
        f"{page}.wxss": (
            f".{name} {{ padding: 24rpx; }}\n"
            ".title { font-size: 36rpx; font-weight: bold; }\n"
            ".item { margin: 8rpx 0; color: #333; }\n"
        ).encode(),
    }


MAIN_PAGES = ["pages/index/index", "pages/logs/logs"]
SUB_ROOT = "packageA"
SUB_PAGES = ["pages/cat/cat"]


def mini_program_files() -> dict:
    """The files of a small but realistic mini program (WeChat-style layout)."""
    app_json = {
        "pages": MAIN_PAGES,
        "subpackages": [{"root": SUB_ROOT, "pages": SUB_PAGES}],
        "window": {
            "backgroundTextStyle": "light",
            "navigationBarBackgroundColor": "#fff",
            "navigationBarTitleText": "Conformance",
            "navigationBarTextStyle": "black",
        },
        "tabBar": {"list": [
            {"pagePath": "pages/index/index", "text": "Home", "iconPath": "images/logo.png"},
            {"pagePath": "pages/logs/logs", "text": "Logs", "iconPath": "images/logo.png"},
        ]},
        "style": "v2",
        "sitemapLocation": "sitemap.json",
    }
    files = {
        "app.json": json.dumps(app_json, indent=2).encode(),
        "app.js": (
            "App({\n"
            "  onLaunch() {\n"
            "    const logs = wx.getStorageSync('logs') || []\n"
            "    logs.unshift(Date.now())\n"
            "    wx.setStorageSync('logs', logs)\n"
            "    this.globalData.logs = logs\n"
            "  },\n"
            "  globalData: { logs: [] }\n"
            "})\n"
        ).encode(),
        "app.wxss": b".container { display: flex; flex-direction: column; }\n",
        "sitemap.json": json.dumps({"rules": [{"action": "allow", "page": "*"}]}).encode(),
        "project.config.json": json.dumps({
            "appid": "mp-conformance", "projectname": "conformance",
            "compileType": "miniprogram", "setting": {"es6": True, "minified": True},
        }, indent=2).encode(),
        "utils/util.js": (
            "const pad = n => (n < 10 ? '0' + n : '' + n)\n"
            "module.exports = { formatTime: d => [d.getHours(), d.getMinutes()].map(pad).join(':') }\n"
        ).encode(),
        "images/logo.png": tiny_png(),
    }
    files.update(_page_files("pages/index/index", "Home"))
    files.update(_page_files("pages/logs/logs", "Logs"))
    files.update(_page_files(f"{SUB_ROOT}/pages/cat/cat", "Catalogue"))
    return files


def mini_game_files() -> dict:
    return {
        "game.json": json.dumps({"deviceOrientation": "portrait",
                                 "showStatusBar": False,
                                 "networkTimeout": {"request": 10000}}, indent=2).encode(),
        "game.js": (
            "const canvas = wx.createCanvas()\n"
            "const ctx = canvas.getContext('2d')\n"
            "function frame() {\n"
            "  ctx.fillStyle = '#1a73e8'\n"
            "  ctx.fillRect(0, 0, canvas.width, canvas.height)\n"
            "  requestAnimationFrame(frame)\n"
            "}\n"
            "frame()\n"
        ).encode(),
        "js/main.js": b"export default class Main { constructor() { this.score = 0 } }\n",
        "images/bg.png": tiny_png(32, 32),
        "project.config.json": json.dumps({"compileType": "game"}).encode(),
    }


def zip_bytes(files: dict, *, prefix: str = "", symlinks: Optional[dict] = None,
              dirs: bool = True) -> bytes:
    """Zips {path: bytes} (with folder entries, like an IDE export)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if dirs:
            folders = set()
            for path in files:
                if path.startswith("/") or ".." in path.split("/"):
                    continue
                parts = (prefix + path).split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    folders.add("/".join(parts[:i]) + "/")
            for d in sorted(folders):
                zi = zipfile.ZipInfo(d, date_time=(2024, 8, 1, 12, 0, 0))
                zi.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(zi, b"")
        for path, data in files.items():
            zi = zipfile.ZipInfo(prefix + path, date_time=(2024, 8, 1, 12, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o100644 << 16
            zf.writestr(zi, data)
        for path, target in (symlinks or {}).items():
            zi = zipfile.ZipInfo(prefix + path, date_time=(2024, 8, 1, 12, 0, 0))
            zi.create_system = 3  # unix, so the mode bits mean something
            zi.external_attr = 0o120777 << 16
            zf.writestr(zi, target.encode())
    return buf.getvalue()


def mini_program_zip(**kw) -> bytes:
    return zip_bytes(mini_program_files(), **kw)


def zip_bomb(path: Path, *, entry: str = "assets/filler.bin", mib: int = 128) -> Path:
    """A valid mini program plus one entry of `mib` MiB of zeros, written by
    streaming so the zeros never sit in memory."""
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in mini_program_files().items():
            zf.writestr(name, data)
        zi = zipfile.ZipInfo(entry, date_time=(2024, 8, 1, 12, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(zi, "w", force_zip64=True) as out:
            for _ in range(mib):
                out.write(zeros)
    return path


def zip_of_exact_size(size: int) -> bytes:
    """The realistic mini program plus a stored (uncompressed) random pad,
    sized so the archive is exactly `size` bytes."""
    def build(pad: int) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in mini_program_files().items():
                zf.writestr(name, data)
            zi = zipfile.ZipInfo("assets/pad.bin", date_time=(2024, 8, 1, 12, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            zf.writestr(zi, os.urandom(pad))
        return buf.getvalue()

    base = len(build(0))
    assert size >= base, f"{size} bytes is smaller than the bare package ({base})"
    data = build(size - base)
    assert len(data) == size, (len(data), size)
    return data


def zip_bomb_many_entries(path: Path, *, entries: int = 120) -> Path:
    """A valid mini program plus many 1 MiB entries of zeros: each entry is
    small enough to look harmless, the archive as a whole is a bomb."""
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in mini_program_files().items():
            zf.writestr(name, data)
        for i in range(entries):
            zf.writestr(f"assets/filler-{i:03d}.bin", zeros)
    return path


def zip_with_lying_size(entry: str = "assets/lying.bin", mib: int = 64) -> bytes:
    """A valid mini program plus an entry of `mib` MiB of zeros whose local
    and central headers both claim 1000 bytes uncompressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in mini_program_files().items():
            zf.writestr(name, data)
        zi = zipfile.ZipInfo(entry, date_time=(2024, 8, 1, 12, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(zi, bytes(mib << 20))
    data = bytearray(buf.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(entry)
    fake = struct.pack("<I", 1000)
    local = info.header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    data[local + 22:local + 26] = fake
    name = entry.encode()
    central = data.find(b"PK\x01\x02", local)
    while central != -1 and data[central + 46:central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    assert central != -1
    data[central + 24:central + 28] = fake
    return bytes(data)


@dataclass
class Broken:
    """A package that must fail validation, and words its TaskMsg must hold
    (`culprit`: all of them; `any_of`: at least one)."""
    name: str
    data: bytes
    culprit: tuple
    any_of: tuple = ()


BROKEN_PACKAGE_NAMES = [
    "missing-page-js", "missing-page-wxml", "missing-subpackage-page-js", "no-app-json",
    "not-a-zip", "dotdot-path", "absolute-path", "symlink", "invalid-app-json",
    "game-without-game-js", "zip-bomb", "zip-bomb-many-entries", "zip-bomb-lying-size",
    "manifest-two-levels-deep", "page-path-escapes", "no-pages",
]


def broken_packages(tmp: Path) -> dict:
    """{name: Broken} for every name of BROKEN_PACKAGE_NAMES."""
    mp = mini_program_files

    def without(*paths):
        f = mp()
        for p in paths:
            del f[p]
        return f

    def with_extra(extra: dict):
        f = mp()
        f.update(extra)
        return f

    bad_json = mp()
    bad_json["app.json"] = b'{"pages": ["pages/index/index", "pages/logs/logs"],, "window": {}'

    game_no_js = mini_game_files()
    del game_no_js["game.js"]

    bomb = zip_bomb(tmp / "bomb.zip").read_bytes()

    made = [
        Broken("missing-page-js", zip_bytes(without("pages/logs/logs.js")),
               ("pages/logs/logs.js",)),
        Broken("missing-page-wxml", zip_bytes(without("pages/index/index.wxml")),
               ("pages/index/index.wxml",)),
        Broken("missing-subpackage-page-js",
               zip_bytes(without(f"{SUB_ROOT}/pages/cat/cat.js")),
               (f"{SUB_ROOT}/pages/cat/cat.js",)),
        Broken("no-app-json", zip_bytes(without("app.json")), ("app.json",)),
        Broken("not-a-zip", b"This is a plain text file, not a zip archive.\n" * 20,
               ("zip",)),
        Broken("dotdot-path", zip_bytes(with_extra({"../evil.js": b"alert(1)\n"})),
               ("../evil.js",)),
        Broken("absolute-path", zip_bytes(with_extra({"/tmp/evil.js": b"alert(1)\n"})),
               ("/tmp/evil.js",)),
        Broken("symlink", zip_bytes(mp(), symlinks={"utils/passwd.js": "/etc/passwd"}),
               ("utils/passwd.js",)),
        Broken("invalid-app-json", zip_bytes(bad_json), ("app.json",)),
        Broken("game-without-game-js", zip_bytes(game_no_js), ("game.js",)),
        Broken("zip-bomb", bomb, ("assets/filler.bin",)),
        Broken("zip-bomb-many-entries",
               zip_bomb_many_entries(tmp / "bomb-many.zip").read_bytes(), (),
               ("bomb", "ratio", "unpack", "expand")),
        Broken("zip-bomb-lying-size", zip_with_lying_size(), ("assets/lying.bin",)),
        Broken("manifest-two-levels-deep", zip_bytes(mp(), prefix="outer/inner/"),
               ("app.json",)),
        Broken("page-path-escapes", zip_bytes(with_extra({"app.json": json.dumps(
            {"pages": ["pages/index/index", "../../outside/page"]}).encode()})),
               ("../../outside/page",)),
        Broken("no-pages", zip_bytes(with_extra({"app.json": json.dumps(
            {"pages": [], "window": {}}).encode()})), ("pages",)),
    ]
    out = {b.name: b for b in made}
    assert list(out) == BROKEN_PACKAGE_NAMES
    return out


# ---------------------------------------------------------------------------
# Spec type checks
# ---------------------------------------------------------------------------

_JSON_TYPES = {
    "string": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "object": (dict,),
}


def check_spec_object(spec: dict, obj_name: str, value: dict, nullable: Iterable[str] = (),
                      where: str = "") -> None:
    """Every field of spec object `obj_name` is present in `value` with the
    right JSON type, and there are no fields the spec does not list.
    `nullable` names fields the spec's own example shows as null."""
    fields = spec["objects"][obj_name]
    where = where or obj_name
    assert isinstance(value, dict), f"{where} is {type(value).__name__}, not an object"
    names = {f["name"] for f in fields}
    extra = set(value) - names
    assert not extra, f"{where} has fields the spec does not know: {sorted(extra)}"
    for f in fields:
        name, typ = f["name"], f["type"]
        assert name in value, f"{where}.{name} is missing"
        v = value[name]
        if v is None and name in nullable:
            continue
        want = _JSON_TYPES[typ]
        ok = isinstance(v, want) and not (typ in ("int", "float") and isinstance(v, bool))
        assert ok, f"{where}.{name} should be a JSON {typ}, got {type(v).__name__}: {v!r}"


def example_nulls(spec: dict, action: str) -> set:
    """Fields of the spec's example answer for `action` whose value is null."""
    out = set()
    for ex in spec["examples"].get(action, []):
        data = ex.get("response", {}).get("Response", {}).get("Data")
        if isinstance(data, dict):
            out |= {k for k, v in data.items() if v is None}
    return out


_MEMBER_TYPES = {
    "string": "string", "int64": "int", "uint64": "int", "int": "int",
    "float": "float", "double": "float", "bool": "bool",
}


def check_spec_response(spec: dict, action: str, response: dict,
                        nullable: Iterable[str] = ()) -> None:
    """The whole `Response` object of a successful `action` against the spec,
    recursively: every object (and every element of every list) has exactly
    the spec's fields with the spec's JSON types. `nullable` names fields that
    may be null anywhere (see example_nulls)."""
    nullable = set(nullable)

    def walk(obj_name: str, value, where: str):
        check_spec_object(spec, obj_name, value, nullable, where)
        for f in spec["objects"][obj_name]:
            v, member = value[f["name"]], f.get("member", "")
            if v is None:
                continue
            here = f"{where}.{f['name']}"
            if f["type"] == "object" and member in spec["objects"]:
                walk(member, v, here)
            elif f["type"] == "list":
                for i, item in enumerate(v):
                    if member in spec["objects"]:
                        walk(member, item, f"{here}[{i}]")
                    elif member in _MEMBER_TYPES:
                        typ = _MEMBER_TYPES[member]
                        ok = (isinstance(item, _JSON_TYPES[typ])
                              and not (typ in ("int", "float") and isinstance(item, bool)))
                        assert ok, f"{here}[{i}] should be a JSON {typ}, got {item!r}"

    walk(spec["actions"][action]["output"], response, f"{action}.Response")
