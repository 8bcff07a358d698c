"""The benchmarks' laboratory: mnpd processes on either backend set, nginx as
the reference server, wrk as the load tool, a TC3 signer, package builders
and process memory readings. No figures are computed here."""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
SID, SKEY, PLATFORM = "AKIDbench", "bench-secret-key-0001", "TBENCH"
MNP_TYPE = "Life Service->144_Lilliputian Services"
POSTGRES_URL = os.environ.get("MNPD_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("MNPD_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
MOTO = ROOT / ".cache/services/moto/bin/moto_server"
MIB = 1 << 20
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
              "http_proxy", "https_proxy", "all_proxy", "no_proxy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port: int, path: str = "/healthz") -> bool:
    """One GET on a fresh connection; True on a 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def wait_healthy(port: int, proc: subprocess.Popen, path: str, timeout: float = 60.0) -> float:
    """Seconds from now until `path` answers 200, polling every millisecond."""
    t0 = time.perf_counter()
    while not healthy(port, path):
        if proc.poll() is not None:
            raise SystemExit(f"process on port {port} exited with {proc.returncode}")
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"http://127.0.0.1:{port}{path} did not answer 200 in {timeout} s")
        time.sleep(0.001)
    return time.perf_counter() - t0


def clean_env(extra: Optional[dict] = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in PROXY_VARS and not k.startswith("MNPD_")}
    env.update(extra or {})
    return env


API_VERSION = "2024-08-01"
# mnpd's own actions (gradual releases), on the same endpoint.
EXT_VERSION = "2026-12-01"


def tc3_headers(host: str, action: str, body: bytes, ts: int,
                version: str = API_VERSION) -> dict:
    """A TC3-HMAC-SHA256 signature as the official SDK makes it."""
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    canonical = "\n".join([
        "POST", "/", "", f"content-type:application/json\nhost:{host}\n",
        "content-type;host", hashlib.sha256(body).hexdigest()])
    scope = f"{date}/tcmpp/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    k = hmac.new(("TC3" + SKEY).encode(), date.encode(), hashlib.sha256).digest()
    for part in ("tcmpp", "tc3_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json", "Host": host, "X-TC-Action": action,
        "X-TC-Version": version, "X-TC-Timestamp": str(ts), "X-TC-Region": "ap-guangzhou",
        "Authorization": f"TC3-HMAC-SHA256 Credential={SID}/{scope}, "
                         f"SignedHeaders=content-type;host, Signature={sig}",
    }


def psql(url: str, sql: str, stdin: Optional[str] = None) -> str:
    cp = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                        input=stdin, capture_output=True, text=True)
    if cp.returncode != 0:
        raise SystemExit(f"psql: {sql[:200]}: {cp.stderr.strip()}")
    return cp.stdout


# ---------------------------------------------------------------------------
# Backend sets
# ---------------------------------------------------------------------------


@dataclass
class Deployment:
    """One mnpd deployment: what its nodes share (a database, a bucket) and
    where each node keeps its own files."""
    backend: "Backend"
    dir: Path
    args: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    database_url: Optional[str] = None
    bucket: Optional[str] = None

    def node_dir(self, node: int) -> Path:
        # The embedded store lives in the first node's data directory.
        return self.dir / f"node{node}"

    @property
    def sqlite_path(self) -> Path:
        return self.node_dir(0) / "mnpd.db"


class Backend:
    name = ""
    label = ""
    multi_node = False

    def __init__(self, work: Path):
        self.work = work
        self.count = 0

    def deployment(self) -> Deployment:
        raise NotImplementedError

    def object_url(self, dep: Deployment, sha256: str) -> Optional[str]:
        """Where the package `sha256` can be fetched from storage directly."""
        return None

    def upload_url(self, dep: Deployment, name: str) -> Optional[str]:
        """Where a reference may PUT a file next to the packages."""
        return None

    def close(self):
        pass


class Embedded(Backend):
    """SQLite and a folder in the data directory, limits in process."""
    name, label = "embedded", "SQLite + folder"

    def deployment(self) -> Deployment:
        self.count += 1
        return Deployment(self, self.work / f"embedded-{self.count}")


class Cluster(Backend):
    """PostgreSQL, an S3 bucket on a moto server and Redis, as
    tests/conformance/harness.py (ClusterServices) sets them up: one moto
    server for the run, a database and a bucket per deployment."""
    name, label = "cluster", "PostgreSQL + S3 (moto) + Redis"
    multi_node = True

    def __init__(self, work: Path):
        super().__init__(work)
        if not MOTO.exists():
            raise SystemExit("moto_server is not installed; run scripts/services")
        self.s3_port = free_port()
        self.s3 = f"http://127.0.0.1:{self.s3_port}"
        self.moto = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(self.s3_port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=clean_env())
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.s3, timeout=1).close()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or self.moto.poll() is not None:
                    raise SystemExit("the moto S3 server did not start (run scripts/services)")
                time.sleep(0.1)
        self.databases: list[str] = []
        self.tag = f"{os.getpid()}_{int(time.time())}"

    def deployment(self) -> Deployment:
        self.count += 1
        name = f"mnpd_bench_{self.tag}_{self.count}"
        psql(POSTGRES_URL + "/postgres", f"DROP DATABASE IF EXISTS {name}")
        psql(POSTGRES_URL + "/postgres", f"CREATE DATABASE {name}")
        self.databases.append(name)
        bucket = name.replace("_", "-")
        urllib.request.urlopen(urllib.request.Request(f"{self.s3}/{bucket}", method="PUT")).close()
        url = f"{POSTGRES_URL}/{name}"
        return Deployment(
            self, self.work / name,
            args=["--database-url", url, "--storage-url", f"s3://{bucket}/packages",
                  "--redis-url", REDIS_URL],
            env={"MNPD_S3_ENDPOINT": self.s3, "MNPD_S3_ACCESS_KEY_ID": "test",
                 "MNPD_S3_SECRET_ACCESS_KEY": "test", "MNPD_S3_REGION": "us-east-1"},
            database_url=url, bucket=bucket)

    def object_url(self, dep: Deployment, sha256: str) -> Optional[str]:
        return f"{self.s3}/{dep.bucket}/packages/blobs/{sha256[:2]}/{sha256}"

    def upload_url(self, dep: Deployment, name: str) -> Optional[str]:
        return f"{self.s3}/{dep.bucket}/reference/{name}"

    def close(self):
        self.moto.terminate()
        self.moto.wait(10)
        for name in self.databases:
            subprocess.run(["psql", POSTGRES_URL + "/postgres", "-X", "-q", "-c",
                            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                           capture_output=True)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


class Mnpd:
    """One `mnpd serve` node of a deployment."""

    def __init__(self, binary: Path, dep: Deployment, node: int = 0, workers: int = 4):
        self.dep = dep
        self.dir = dep.node_dir(node)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        env = clean_env(dict(dep.env, MNPD_BOOTSTRAP_SECRET_ID=SID, MNPD_BOOTSTRAP_SECRET_KEY=SKEY,
                             MNPD_BOOTSTRAP_PLATFORM_ID=PLATFORM, MNPD_LOG="warn"))
        self.stdout = self.dir / "stdout.log"
        with open(self.stdout, "ab") as out, open(self.dir / "stderr.log", "ab") as err:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(
                [str(binary), "serve", "--listen", self.host, "--data-dir", str(self.dir),
                 "--rate-limit", "1000000", "--max-package-bytes", str(64 * MIB),
                 "--workers", str(workers), *dep.args],
                stdout=out, stderr=err, env=env)
        wait_healthy(self.port, self.proc, "/healthz")
        # From spawning the process to the first 200 of /healthz.
        self.startup_s = time.perf_counter() - t0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def team_id(self) -> str:
        """The default team printed at the deployment's first start."""
        for log in sorted(self.dep.dir.glob("node*/stdout.log")):
            m = re.search(r"TeamId\s+(\S+)", log.read_text())
            if m:
                return m.group(1)
        raise SystemExit("no TeamId in the first start's output")

    def request(self, action: str, params: dict,
                version: str = API_VERSION) -> tuple[dict, bytes]:
        body = json.dumps(params).encode()
        return tc3_headers(self.host, action, body, int(time.time()), version), body

    def raw(self, action: str, params: dict, version: str = API_VERSION) -> bytes:
        """The answer's bytes."""
        headers, body = self.request(action, params, version)
        req = urllib.request.Request(f"http://{self.host}/", data=body, method="POST",
                                     headers=headers)
        with urllib.request.urlopen(req) as r:
            return r.read()

    def call(self, action: str, params: dict, version: str = API_VERSION) -> dict:
        out = json.loads(self.raw(action, params, version))["Response"]
        if "Error" in out:
            raise SystemExit(f"{action}: {out['Error']}")
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nginx:
    """nginx serving `root`: small files as configured by default, /pkg/
    with sendfile as Debian's stock configuration serves files, and any
    `extra` locations."""

    def __init__(self, work: Path, root: Path, extra: str = ""):
        work.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.root = root
        self.conf = work / "nginx.conf"
        self.port = free_port()
        self.conf.write_text(f"""
worker_processes auto;
daemon off;
{"user root;" if os.geteuid() == 0 else ""}
error_log {work}/nginx-error.log;
pid {work}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{self.port};
    root {root};
    location / {{ default_type application/json; }}
    location /pkg/ {{ default_type application/zip; sendfile on; tcp_nopush on; }}
    {extra}
  }}
}}
""")
        self.start()

    def start(self) -> float:
        """Seconds from spawning nginx to its first 200."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(["nginx", "-c", str(self.conf), "-p", str(self.work)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(self.port, self.proc, "/healthz")
        return time.perf_counter() - t0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


# ---------------------------------------------------------------------------
# Load and measurements
# ---------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def lua_script(path: Path, method: str, headers: dict, body: bytes = b"") -> Path:
    """A wrk script replaying one request."""
    lines = [f'wrk.method = "{method}"']
    if body:
        lines.append("wrk.body = " + json.dumps(body.decode()))
    for k, v in headers.items():
        if k != "Host":
            lines.append(f'wrk.headers["{k}"] = {json.dumps(v)}')
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk_command(url: str, lua: Optional[Path], seconds: float, threads: int, conns: int) -> list:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "30s"]
    if lua:
        cmd += ["-s", str(lua)]
    return cmd + [url]


def parse_wrk(out: str) -> Load:
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
        n = int(re.search(r"(\d+) requests in", out).group(1))
    except AttributeError:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    return Load(rps, _ms(*p50.groups()), _ms(*p99.groups()), n, errors)


def wrk(url: str, lua: Optional[Path], seconds: float, threads: int = 2, conns: int = 64) -> Load:
    return wrk_parallel([(url, lua)], seconds, threads, conns)


def wrk_parallel(targets: list, seconds: float, threads: int, conns: int) -> Load:
    """One wrk process per (url, lua) target, all at once; requests per
    second summed, latency percentiles the worst of the processes'."""
    procs = [subprocess.Popen(wrk_command(url, lua, seconds, threads, conns),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for url, lua in targets]
    loads = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"wrk failed: {err}")
        loads.append(parse_wrk(out))
    bad = [load for load in loads if load.errors]
    if bad:
        raise SystemExit(f"wrk saw {sum(b.errors for b in bad)} failed requests: {targets}")
    return Load(sum(x.rps for x in loads), max(x.p50_ms for x in loads),
                max(x.p99_ms for x in loads), sum(x.requests for x in loads), 0)


def package(path: Path, size: int) -> Path:
    """A valid mini program whose bulk is an incompressible image, so that
    every package has a different hash."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("app.json", json.dumps({"pages": ["pages/index/index"]}))
        z.writestr("app.js", "App({})")
        for ext in ("js", "json", "wxml", "wxss"):
            z.writestr(f"pages/index/index.{ext}", "// page")
        z.writestr("images/bundle.bin", os.urandom(max(0, size - 4096)),
                   compress_type=zipfile.ZIP_STORED)
    return path


def proc_status(pid: int, key: str) -> int:
    """A `VmRSS`/`VmHWM`-like line of /proc/PID/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"/proc/{pid}/status has no {key}")


def reset_peak_rss(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux ≥ 4.0); False when refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def tools_missing() -> list:
    return [t for t in ("nginx", "wrk", "curl", "unzip", "sha256sum", "psql")
            if shutil.which(t) is None]
