"""mnpd benchmarks, each against a reference measured in the same run on the
same machine with the same load tool. Run through scripts/bench."""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SID, SKEY, PLATFORM = "AKIDbench", "bench-secret-key-0001", "TBENCH"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
            time.sleep(0.01)
        except Exception:
            time.sleep(0.01)
    raise SystemExit(f"{url} did not come up")


def tc3_headers(host: str, action: str, body: bytes, ts: int) -> dict:
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
        "X-TC-Version": "2024-08-01", "X-TC-Timestamp": str(ts), "X-TC-Region": "ap-guangzhou",
        "Authorization": f"TC3-HMAC-SHA256 Credential={SID}/{scope}, SignedHeaders=content-type;host, Signature={sig}",
    }


class Mnpd:
    def __init__(self, binary: Path, work: Path):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        env = dict(os.environ, MNPD_BOOTSTRAP_SECRET_ID=SID, MNPD_BOOTSTRAP_SECRET_KEY=SKEY,
                   MNPD_BOOTSTRAP_PLATFORM_ID=PLATFORM, MNPD_LOG="warn")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--listen", self.host, "--data-dir", str(work / "mnpd-data"),
             "--rate-limit", "1000000", "--max-package-bytes", str(64 << 20)],
            stdout=subprocess.DEVNULL, stderr=open(work / "mnpd.log", "wb"), env=env)
        wait_http(f"http://{self.host}/healthz")

    def call(self, action: str, params: dict) -> dict:
        body = json.dumps(params).encode()
        req = urllib.request.Request(f"http://{self.host}/", data=body, method="POST",
                                     headers=tc3_headers(self.host, action, body, int(time.time())))
        with urllib.request.urlopen(req) as r:
            out = json.loads(r.read())["Response"]
        if "Error" in out:
            raise SystemExit(f"{action}: {out['Error']}")
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


class Nginx:
    def __init__(self, work: Path, root: Path):
        self.port = free_port()
        conf = work / "nginx.conf"
        conf.write_text(f"""
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
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{self.port}/")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


def wrk(url: str, lua: Path, seconds: int) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", str(lua), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rps, float(p99.group(1)) * scale


def lua_script(path: Path, method: str, headers: dict, body: bytes):
    lines = [f'wrk.method = "{method}"']
    if body:
        lines.append("wrk.body = " + json.dumps(body.decode()))
    for k, v in headers.items():
        if k != "Host":
            lines.append(f'wrk.headers["{k}"] = {json.dumps(v)}')
    path.write_text("\n".join(lines) + "\n")


def package(path: Path, size: int):
    """A valid mini program whose bulk is an incompressible image."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("app.json", json.dumps({"pages": ["pages/index/index"]}))
        z.writestr("app.js", "App({})")
        for ext in ("js", "json", "wxml", "wxss"):
            z.writestr(f"pages/index/index.{ext}", "// page")
        z.writestr("images/bundle.bin", os.urandom(size - 4096), compress_type=zipfile.ZIP_STORED)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", type=Path, default=ROOT / "target/release/mnpd")
    ap.add_argument("--quick", action="store_true", help="short runs, for CI")
    args = ap.parse_args()
    seconds, runs = (3, 3) if args.quick else (10, 7)
    work = Path(tempfile.mkdtemp(prefix="mnpd-bench-"))
    www = work / "www"
    www.mkdir()
    results = {}
    mnpd = Mnpd(args.binary, work)
    nginx = Nginx(work, www)
    try:
        # 2. Ingest: CreateMNPVersion -> 60 vs curl -o + sha256sum + unzip -tq.
        mnp = mnpd.call("CreateMNP", {"MNPType": "Life Service->144_Lilliputian Services",
                                      "MNPName": "bench", "MNPIcon": "https://example.com/i.png",
                                      "MNPIntro": "bench", "MNPDesc": "bench",
                                      "PlatformId": PLATFORM})["Data"]["ResourceId"]
        ours, ref = [], []
        task_id = None
        for i in range(runs):
            package(www / f"p{i}.zip", 20 << 20)
            url = f"http://127.0.0.1:{nginx.port}/p{i}.zip"

            def ingest():
                nonlocal task_id
                task_id = mnpd.call("CreateMNPVersion", {
                    "MNPId": mnp, "MNPVersion": f"1.0.{i}", "FileUrl": url,
                    "PlatformId": PLATFORM, "MNPVersionIntro": "bench"})["Data"]["TaskId"]
                while True:
                    st = mnpd.call("DescribeMNPVersion", {"BusinessId": task_id,
                                                          "PlatformId": PLATFORM})["Data"]
                    if st["TaskStatus"] in (30, 60):
                        assert st["TaskStatus"] == 60, st
                        return
                    time.sleep(0.002)

            ours.append(timed(ingest))
            out = work / "ref.zip"
            ref.append(timed(lambda: (
                subprocess.run(["curl", "-s", "-o", str(out), url], check=True),
                subprocess.run(["sha256sum", str(out)], check=True, capture_output=True),
                subprocess.run(["unzip", "-tq", str(out)], check=True, capture_output=True))))
        results["ingest_20MiB"] = {"mnpd_s": statistics.median(ours),
                                   "reference_s": statistics.median(ref)}

        # 1. API gateway: signed DescribeMNPVersion replayed by wrk vs nginx
        # serving the same response bytes.
        body = json.dumps({"BusinessId": task_id, "PlatformId": PLATFORM}).encode()
        headers = tc3_headers(mnpd.host, "DescribeMNPVersion", body, int(time.time()))
        req = urllib.request.Request(f"http://{mnpd.host}/", data=body, method="POST", headers=headers)
        with urllib.request.urlopen(req) as r:
            answer = r.read()
        assert b"Error" not in answer, answer
        (www / "answer.json").write_bytes(answer)
        lua_script(work / "mnpd.lua", "POST", headers, body)
        lua_script(work / "nginx.lua", "GET", {}, b"")
        m_rps, m_p99 = wrk(f"http://{mnpd.host}/", work / "mnpd.lua", seconds)
        n_rps, n_p99 = wrk(f"http://127.0.0.1:{nginx.port}/answer.json", work / "nginx.lua", seconds)
        results["gateway"] = {"mnpd_rps": m_rps, "mnpd_p99_ms": m_p99,
                              "nginx_rps": n_rps, "nginx_p99_ms": n_p99}
    finally:
        mnpd.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    g, i = results["gateway"], results["ingest_20MiB"]
    print(f"gateway  mnpd {g['mnpd_rps']:.0f} req/s (p99 {g['mnpd_p99_ms']:.2f} ms)  "
          f"nginx {g['nginx_rps']:.0f} req/s (p99 {g['nginx_p99_ms']:.2f} ms)  "
          f"ratio {g['mnpd_rps'] / g['nginx_rps']:.2f} (target >= 0.5)")
    print(f"ingest   mnpd {i['mnpd_s'] * 1000:.0f} ms  reference {i['reference_s'] * 1000:.0f} ms  "
          f"ratio {i['mnpd_s'] / i['reference_s']:.2f} (target <= 1.5)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
