"""The benchmarks. Each measures mnpd and its reference in the same run,
one right after the other, and records a Figure."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from email.message import Message
from pathlib import Path
from typing import Callable, Optional

import flows
import seed
from lab import (MIB, PLATFORM, Backend, Deployment, Load, Mnpd, Nginx, lua_script, package,
                 proc_status, reset_peak_rss, wrk, wrk_parallel)


@dataclass
class Figure:
    backend: str
    benchmark: str
    case: str
    unit: str
    mnpd: float
    reference: float
    reference_name: str
    # mnpd / reference, or for absolute targets the figure against it.
    ratio: float
    target: str
    met: Optional[bool]
    detail: dict = field(default_factory=dict)

    def line(self) -> str:
        verdict = "" if self.met is None else (" met" if self.met else " MISSED")
        extra = "  ".join(f"{k} {v}" for k, v in self.detail.items())
        return (f"[{self.backend}] {self.benchmark}, {self.case}: mnpd {fmt(self.mnpd, self.unit)}"
                f" | {self.reference_name} {fmt(self.reference, self.unit)}"
                f" | ratio {self.ratio:.2f} (target {self.target}{verdict})"
                + (f"  [{extra}]" if extra else ""))


def fmt(value: float, unit: str) -> str:
    if unit == "req/s":
        return f"{value:,.0f} req/s"
    if unit == "MiB/s":
        return f"{value:,.0f} MiB/s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    return f"{value} {unit}"


class Context:
    """What every benchmark shares: settings, the work folder, the package
    pool served by nginx, and the figures so far."""

    def __init__(self, binary: Path, work: Path, quick: bool,
                 report: Callable[[Figure], None]):
        self.binary = binary
        self.work = work
        self.quick = quick
        self.report = report
        self.seconds = 2 if quick else 10
        self.runs = 3 if quick else 7
        self.startup_runs = 3 if quick else 9
        self.latency_seconds = 1 if quick else 2
        self.growth_rounds = 2 if quick else 5
        self.growth_mnps = (10, 1_000) if quick else (10, 10_000)
        self.concurrent_ingests = 16
        self.package_bytes = 20 * MIB
        self.www = work / "www"
        (self.www / "pkg").mkdir(parents=True)
        (self.www / "healthz").write_text("ok\n")
        self.nginx = Nginx(work, self.www)
        self.figures: list[Figure] = []

    def add(self, fig: Figure):
        self.figures.append(fig)
        self.report(fig)

    def package(self, i: int) -> tuple[Path, str]:
        """The i-th 20 MiB package of the pool (each of a different hash)
        and its nginx URL."""
        path = self.www / "pkg" / f"p{i}.zip"
        if not path.exists():
            package(path, self.package_bytes)
        return path, self.nginx.url(f"pkg/{path.name}")

    def small_package(self) -> str:
        path = self.www / "pkg" / "small.zip"
        if not path.exists():
            package(path, 64 * 1024)
        return self.nginx.url("pkg/small.zip")

    def close(self):
        self.nginx.stop()


def ratio_figure(ctx: Context, backend: Backend, benchmark: str, case: str, unit: str,
                 ours: float, ref: float, ref_name: str, target: str,
                 check: Callable[[float], bool], **detail) -> Figure:
    r = ours / ref if ref else float("inf")
    fig = Figure(backend.name, benchmark, case, unit, ours, ref, ref_name, r, target, check(r),
                 detail)
    ctx.add(fig)
    return fig


def nodes(ctx: Context, dep: Deployment, count: int) -> list[Mnpd]:
    """`count` nodes of the deployment, started one after the other."""
    started: list[Mnpd] = []
    try:
        for i in range(count):
            started.append(Mnpd(ctx.binary, dep, node=i))
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(procs: list[Mnpd]):
    for p in procs:
        p.stop()


# ---------------------------------------------------------------------------
# 1. API gateway
# ---------------------------------------------------------------------------


def gateway(ctx: Context, backend: Backend):
    """A signed DescribeMNPVersion replayed by wrk against mnpd, and nginx
    serving the same response bytes with the same wrk settings."""
    dep = backend.deployment()
    procs = nodes(ctx, dep, 2 if backend.multi_node else 1)
    try:
        first = procs[0]
        task_id = flows.ingest(first, flows.create_mnp(first), "1.0.0", ctx.small_package())
        params = {"BusinessId": task_id, "PlatformId": PLATFORM}
        scripts = []
        for i, node in enumerate(procs):
            headers, body = node.request("DescribeMNPVersion", params)
            scripts.append((f"http://{node.host}/",
                            lua_script(ctx.work / f"gateway-{backend.name}-{i}.lua", "POST",
                                       headers, body)))
        answer = first.raw("DescribeMNPVersion", params)
        if b'"Error"' in answer or b"TaskStatus" not in answer:
            raise SystemExit(f"DescribeMNPVersion answered {answer!r}")
        name = f"answer-{backend.name}.json"
        (ctx.www / name).write_bytes(answer)
        nginx_lua = lua_script(ctx.work / "nginx-get.lua", "GET", {})
        cases = [("1 node", scripts[:1])]
        if len(procs) == 2:
            cases.append(("2 nodes", scripts))
        for case, targets in cases:
            # The same client in both measurements: two threads and 64
            # connections in all, split over the nodes.
            threads, conns = (2, 64) if len(targets) == 1 else (1, 32)
            ours = wrk_parallel(targets, ctx.seconds, threads, conns)
            ref = wrk_parallel([(ctx.nginx.url(name), nginx_lua)] * len(targets), ctx.seconds,
                               threads, conns)
            # The floor of the HTTP stack: mnpd's unsigned /healthz on the
            # same server, same client. What the API request costs beyond it
            # is the API's own work (signature, parameters, answer).
            floor = wrk_parallel([(f"http://{node.host}/healthz", nginx_lua)
                                  for node in procs[:len(targets)]], ctx.seconds, threads, conns)
            ratio_figure(ctx, backend, "API gateway", case, "req/s", ours.rps, ref.rps, "nginx",
                         "≥ 0.5", lambda r: r >= 0.5,
                         mnpd_p99_ms=round(ours.p99_ms, 2), nginx_p99_ms=round(ref.p99_ms, 2),
                         mnpd_p50_ms=round(ours.p50_ms, 2), nginx_p50_ms=round(ref.p50_ms, 2),
                         healthz_rps=round(floor.rps), healthz_vs_nginx=round(floor.rps / ref.rps, 2),
                         api_vs_healthz=round(ours.rps / floor.rps, 2),
                         wrk=f"{len(targets)}× wrk -t{threads} -c{conns} -d{ctx.seconds}s")
    finally:
        stop_all(procs)


# ---------------------------------------------------------------------------
# 2. Ingest
# ---------------------------------------------------------------------------


def reference_ingest(url: str, out: Path, upload: Optional[str] = None):
    """curl -o + sha256sum + unzip -tq; with `upload`, then a PUT of the
    file there (the S3 server's bucket) as well."""
    subprocess.run(["curl", "-sf", "-o", str(out), url], check=True)
    subprocess.run(["sha256sum", str(out)], check=True, capture_output=True)
    subprocess.run(["unzip", "-tq", str(out)], check=True, capture_output=True)
    if upload:
        put = subprocess.run(["curl", "-s", "-w", "%{http_code}", "-T", str(out), upload],
                             capture_output=True, text=True)
        if not put.stdout.endswith("200"):
            raise SystemExit(f"PUT {upload}: {put.stdout} {put.stderr}")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ingest(ctx: Context, backend: Backend):
    """CreateMNPVersion of a 20 MiB package served by nginx until TaskStatus
    60, against curl -o + sha256sum + unzip -tq of the same file (and, on
    S3, that plus a PUT of the file into the bucket). With two nodes, one
    ingest per node at once against two reference pipelines at once."""
    dep = backend.deployment()
    procs = nodes(ctx, dep, 2 if backend.multi_node else 1)
    pool = iter(range(1000))
    try:
        for count in ([1, 2] if len(procs) == 2 else [1]):
            ours, ref, ref_s3 = [], [], []
            for run in range(ctx.runs):
                jobs = []
                for node in procs[:count]:
                    path, url = ctx.package(next(pool))
                    jobs.append((node, flows.create_mnp(node), url))
                outs = [ctx.work / f"ref-{k}.zip" for k in range(count)]
                with ThreadPoolExecutor(count) as ex:
                    ours.append(timed(lambda: list(ex.map(
                        lambda j: flows.ingest(j[0], j[1], "1.0.0", j[2]), jobs))))
                    ref.append(timed(lambda: list(ex.map(
                        lambda k: reference_ingest(jobs[k][2], outs[k]), range(count)))))
                    puts = [backend.upload_url(dep, f"ref-{count}-{run}-{k}")
                            for k in range(count)]
                    if puts[0]:
                        ref_s3.append(timed(lambda: list(ex.map(
                            lambda k: reference_ingest(jobs[k][2], outs[k], puts[k]),
                            range(count)))))
            case = "1 node" if count == 1 else "2 nodes, one ingest each at once"
            detail = {"runs": ctx.runs}
            if ref_s3:
                detail["reference_with_s3_put_ms"] = round(statistics.median(ref_s3) * 1000, 1)
                detail["ratio_to_reference_with_s3_put"] = round(
                    statistics.median(ours) / statistics.median(ref_s3), 2)
            ratio_figure(ctx, backend, "Ingest 20 MiB (median)", case, "ms",
                         statistics.median(ours) * 1000, statistics.median(ref) * 1000,
                         "curl -o + sha256sum + unzip -tq", "≤ 1.5", lambda r: r <= 1.5,
                         **detail)
    finally:
        stop_all(procs)


# ---------------------------------------------------------------------------
# 3. Memory
# ---------------------------------------------------------------------------


class Sampler:
    """Samples a figure every `period` seconds in a thread; the maximum."""

    def __init__(self, read: Callable[[], int], period: float = 0.005):
        self.read, self.period = read, period
        self.peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, self.read())
            except (OSError, ValueError):
                pass
            time.sleep(self.period)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.peak


def tree_rss(root_pids: set) -> int:
    """The summed VmRSS of the processes descending from `root_pids`."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                continue
    members, grew = set(root_pids), True
    while grew:
        new = {pid for pid, ppid in parents.items() if ppid in members and pid not in members}
        members |= new
        grew = bool(new)
    total = 0
    for pid in members:
        try:
            total += proc_status(pid, "VmRSS")
        except (OSError, SystemExit):
            continue
    return total


def memory(ctx: Context, backend: Backend):
    """Peak RSS of one node during 16 concurrent 20 MiB ingests (VmHWM after
    a reset, and VmRSS sampled every 5 ms), its idle RSS, and 16 reference
    pipelines run at once, their RSS summed and sampled the same way."""
    n = ctx.concurrent_ingests
    dep = backend.deployment()
    node = Mnpd(ctx.binary, dep)
    try:
        jobs = [(flows.create_mnp(node), ctx.package(i)[1]) for i in range(n)]
        time.sleep(0.5)
        idle = proc_status(node.pid, "VmRSS")
        hwm_reset = reset_peak_rss(node.pid)
        sampler = Sampler(lambda: proc_status(node.pid, "VmRSS"))
        with ThreadPoolExecutor(n) as ex:
            list(ex.map(lambda j: flows.ingest(node, j[0], "1.0.0", j[1]), jobs))
        sampled = sampler.stop()
        peak = max(sampled, proc_status(node.pid, "VmHWM") if hwm_reset else 0)
        after = proc_status(node.pid, "VmRSS")
    finally:
        node.stop()
    procs = [subprocess.Popen(
        ["sh", "-c",
         'curl -sf -o "$1" "$2" && sha256sum "$1" >/dev/null && unzip -tq "$1" >/dev/null',
         "ref", str(ctx.work / f"mem-ref-{i}.zip"), ctx.package(i)[1]]) for i in range(n)]
    ref_sampler = Sampler(lambda: tree_rss({p.pid for p in procs}), period=0.002)
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("a reference pipeline failed")
    ref_peak = ref_sampler.stop()
    fig = Figure(backend.name, "Memory, 16 concurrent 20 MiB ingests", "peak RSS of the node",
                 "MiB", peak / MIB, ref_peak / MIB, "16 reference pipelines at once (summed)",
                 peak / ref_peak if ref_peak else float("inf"), "peak ≤ 150 MiB",
                 peak <= 150 * MIB,
                 {"idle_MiB": round(idle / MIB, 1), "after_MiB": round(after / MIB, 1),
                  "vmhwm_reset": hwm_reset})
    ctx.add(fig)


# ---------------------------------------------------------------------------
# 4. Growth, and 6. start-up (on the grown store)
# ---------------------------------------------------------------------------

GROWTH_CALLS = [
    ("DescribeMNPList", lambda mnp: {"Offset": 0, "Limit": 10, "PlatformId": PLATFORM}),
    ("DescribeMNPAllStageVersions", lambda mnp: {"MNPId": mnp, "PlatformId": PLATFORM}),
    ("DescribeMNPReleasedVersionHistory", lambda mnp: {"MNPId": mnp, "PlatformId": PLATFORM}),
]


def grown(ctx: Context, backend: Backend, mnps: int) -> tuple[Deployment, float]:
    """A deployment with one mini program taken through the API to its
    release (the template) and `mnps` more seeded by SQL; seconds seeding."""
    dep = backend.deployment()
    node = Mnpd(ctx.binary, dep)
    try:
        mnp = flows.create_mnp(node)
        flows.ingest(node, mnp, "1.0.0", ctx.small_package())
        flows.release_latest(node, mnp)
    finally:
        node.stop()
    t0 = time.perf_counter()
    seed.seed(dep, 0, mnps)
    return dep, time.perf_counter() - t0


def growth(ctx: Context, backend: Backend) -> Deployment:
    """The three listing calls on a store of 100 versions (10 mini programs)
    and one of 100,000 (10,000 mini programs), seeded by direct SQL; the
    same seeded mini program is asked about on both. Both servers run at
    once and are measured in turns (wrk -t1 -c1, median latency), so that
    the machine's other load weighs on both alike. Returns the grown
    deployment."""
    sizes = ctx.growth_mnps
    deps = [grown(ctx, backend, mnps) for mnps in sizes]
    procs = [Mnpd(ctx.binary, dep) for dep, _ in deps]
    try:
        # The same mini program (the first seeded) on both.
        targets = [seed.seeded_mnp(dep) for dep, _ in deps]
        lat: dict = {(action, k): [] for action, _ in GROWTH_CALLS for k in range(2)}
        p99: dict = {(action, k): [] for action, _ in GROWTH_CALLS for k in range(2)}
        for action, params in GROWTH_CALLS:
            scripts = []
            for k, node in enumerate(procs):
                check_answer(action, node.call(action, params(targets[k])))
                headers, body = node.request(action, params(targets[k]))
                scripts.append(lua_script(ctx.work / f"growth-{backend.name}-{k}-{action}.lua",
                                          "POST", headers, body))
            for _ in range(ctx.growth_rounds):
                for k, node in enumerate(procs):
                    load = wrk(f"http://{node.host}/", scripts[k], ctx.latency_seconds, 1, 1)
                    lat[action, k].append(load.p50_ms)
                    p99[action, k].append(load.p99_ms)
        versions = [seed.count_versions(dep) - 1 for dep, _ in deps]
    finally:
        stop_all(procs)
    for action, _ in GROWTH_CALLS:
        small, large = (statistics.median(lat[action, k]) for k in range(2))
        ratio_figure(ctx, backend, "Growth: median latency", action, "ms", large, small,
                     f"same call at {versions[0]:,} versions", "≤ 2", lambda r: r <= 2,
                     versions=f"{versions[0]:,} → {versions[1]:,}",
                     mini_programs=f"{sizes[0]:,} → {sizes[1]:,}",
                     p99_ms=f"{statistics.median(p99[action, 0]):.2f} → "
                            f"{statistics.median(p99[action, 1]):.2f}",
                     rounds=ctx.growth_rounds, seed_s=round(deps[1][1], 1))
    return deps[1][0]


def check_answer(action: str, answer: dict):
    """The seeded mini program answers as a real one would."""
    data = answer["Data"]
    if action == "DescribeMNPList":
        ok = data["TotalCount"] > 0 and len(data["DataList"]) == 10
    elif action == "DescribeMNPAllStageVersions":
        ok = sorted(s["Phase"] for s in data) == ["Develop", "Online", "Platform"]
    else:
        ok = data["TotalCount"] == seed.VERSIONS - 1
    if not ok:
        raise SystemExit(f"{action} on the seeded store answered {data}")


def startup(ctx: Context, backend: Backend, grown: Deployment):
    """Spawn to the first /healthz 200: on an empty data directory (a new
    deployment each run) and on the grown one; nginx's start-up as the
    reference."""
    def median_of(make: Callable[[], float]) -> float:
        return statistics.median(make() for _ in range(ctx.startup_runs))

    def empty() -> float:
        node = Mnpd(ctx.binary, backend.deployment())
        node.stop()
        shutil.rmtree(node.dir, ignore_errors=True)
        return node.startup_s

    def seeded() -> float:
        node = Mnpd(ctx.binary, grown)
        node.stop()
        return node.startup_s

    def nginx() -> float:
        work = ctx.work / "nginx-startup"
        work.mkdir(exist_ok=True)
        ng = Nginx(work, ctx.www)
        ng.stop()
        spent = ng.start()
        ng.stop()
        return spent

    ref = median_of(nginx) * 1000
    e = median_of(empty) * 1000
    s = median_of(seeded) * 1000
    # The seeded versions (the template's left out), as growth counts them.
    versions = seed.count_versions(grown) - 1
    for case, value in (("empty data directory", e), (f"{versions:,} versions", s)):
        ctx.add(Figure(backend.name, "Start-up to /healthz 200 (median)", case, "ms", value, ref,
                       "nginx start-up", value / ref, "none set", None,
                       {"runs": ctx.startup_runs, "grown_vs_empty": round(s / e, 2)}))


# ---------------------------------------------------------------------------
# 5. Package serving
# ---------------------------------------------------------------------------


def serving(ctx: Context, backend: Backend):
    """The released 20 MiB package downloaded from mnpd's signed URL by wrk
    (8 connections), against nginx serving the same file (and, on S3, the
    object fetched straight from the S3 server)."""
    dep = backend.deployment()
    node = Mnpd(ctx.binary, dep)
    try:
        path, pkg_url = ctx.package(0)
        mnp = flows.create_mnp(node)
        flows.ingest(node, mnp, "1.0.0", pkg_url)
        flows.release_latest(node, mnp)
        url = flows.offline_package_url(node, mnp)
        out = ctx.work / "served.zip"
        subprocess.run(["curl", "-sf", "-o", str(out), url], check=True)
        if out.read_bytes() != path.read_bytes():
            raise SystemExit("the package served by mnpd differs from the one ingested")
        size = path.stat().st_size
        conns = 8

        def throughput(load: Load) -> float:
            return load.rps * size / MIB

        ours = wrk(url, None, ctx.seconds, 2, conns)
        ref = wrk(pkg_url, None, ctx.seconds, 2, conns)
        detail = {"mnpd_p99_ms": round(ours.p99_ms, 1), "nginx_p99_ms": round(ref.p99_ms, 1),
                  "wrk": f"wrk -t2 -c{conns} -d{ctx.seconds}s"}
        sha = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True,
                             check=True).stdout.split()[0]
        direct = backend.object_url(dep, sha)
        if direct:
            # The same object through nginx as a streaming reverse proxy of
            # the S3 server: the storage hop mnpd makes too.
            s3, path = direct.split("/", 3)[2], direct.split("/", 3)[3]
            proxy = Nginx(ctx.work / "nginx-s3", ctx.www,
                          f"location /s3/ {{ proxy_pass http://{s3}/; proxy_buffering off; }}")
            try:
                proxied = wrk(proxy.url(f"s3/{path}"), None, ctx.seconds, 2, conns)
            finally:
                proxy.stop()
            detail["nginx_proxying_s3_MiB_s"] = round(throughput(proxied))
            detail["ratio_to_nginx_proxying_s3"] = round(ours.rps / proxied.rps, 2)
        ratio_figure(ctx, backend, "Package serving, 20 MiB", "throughput", "MiB/s",
                     throughput(ours), throughput(ref), "nginx (sendfile)", "≥ 0.8",
                     lambda r: r >= 0.8, **detail)
    finally:
        node.stop()


# ---------------------------------------------------------------------------
# 7. Package delivery
# ---------------------------------------------------------------------------


def curl_download(url: str, out: Path, *args: str) -> float:
    """Seconds one `curl` takes to download `url` into `out`."""
    return timed(lambda: subprocess.run(["curl", "-sf", *args, "-o", str(out), url],
                                        check=True))


def delivery(ctx: Context, backend: Backend):
    """One client downloading the released 20 MiB package by the URL
    DescribeMNPOfflinePackageURL gives, with `curl`, median of the runs:
    from a node with `--package-delivery mnpd` (mnpd streams it from the
    bucket) and from one with `--package-delivery presigned` (the URL is a
    presigned GET of the bucket), against `curl` of the same object
    straight from the S3 server (signed by curl with the bucket's
    credentials: the bucket is private). Needs S3, so on the cluster set
    only."""
    if not backend.multi_node:
        print(f"[{backend.name}] Package delivery: presigned delivery needs S3; "
              "measured on the cluster set", flush=True)
        return
    dep = backend.deployment()
    served = Mnpd(ctx.binary, dep, node=0)
    presigning: Optional[Mnpd] = None
    try:
        path, pkg_url = ctx.package(1)
        data = path.read_bytes()
        mnp = flows.create_mnp(served)
        flows.ingest(served, mnp, "1.0.0", pkg_url)
        flows.release_latest(served, mnp)
        # A second node of the same deployment, handing out bucket URLs.
        presigning = Mnpd(ctx.binary, replace(dep, args=[*dep.args, "--package-delivery",
                                                          "presigned"]), node=1)
        sha = hashlib.sha256(data).hexdigest()
        urls = {
            "mnpd": flows.offline_package_url(served, mnp),
            "presigned": flows.offline_package_url(presigning, mnp),
            "reference": backend.object_url(dep, sha),
        }
        signed = {"reference": ["--aws-sigv4", f"aws:amz:{dep.env['MNPD_S3_REGION']}:s3",
                                "--user", f"{dep.env['MNPD_S3_ACCESS_KEY_ID']}:"
                                          f"{dep.env['MNPD_S3_SECRET_ACCESS_KEY']}"]}
        if not urls["presigned"].startswith(backend.object_url(dep, sha) + "?"):
            raise SystemExit(f"not a presigned URL of the object: {urls['presigned']}")
        out = ctx.work / "delivered.zip"
        for name, url in urls.items():
            curl_download(url, out, *signed.get(name, []))
            if out.read_bytes() != data:
                raise SystemExit(f"the package downloaded by the {name} URL differs")
        runs = {name: [] for name in urls}
        # Interleaved, so that the machine's other load weighs on each alike.
        for _ in range(ctx.runs):
            for name, url in urls.items():
                runs[name].append(curl_download(url, out, *signed.get(name, [])))
        mib = len(data) / MIB
        rate = {name: mib / statistics.median(times) for name, times in runs.items()}
        for name in ("mnpd", "presigned"):
            ratio_figure(ctx, backend, "Package delivery, 20 MiB", f"--package-delivery {name}",
                         "MiB/s", rate[name], rate["reference"], "curl of the object from S3",
                         "none set", lambda r: None, runs=ctx.runs,
                         median_ms=round(statistics.median(runs[name]) * 1000, 1),
                         reference_median_ms=round(statistics.median(runs["reference"]) * 1000,
                                                   1))
    finally:
        if presigning:
            presigning.stop()
        served.stop()


# ---------------------------------------------------------------------------
# 8. Update checks (the host API)
# ---------------------------------------------------------------------------

UPDATE_DEVICES = 10_000
UPDATE_PERCENTAGE = 10
APP_KEY = "com.example.bench"


def cohort(mnp_id: str, device_id: str) -> int:
    """The device's cohort, as docs/host-apps.md defines it
    (clients/python/mnpd_host.py)."""
    digest = hashlib.sha256(f"{mnp_id}:{device_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000


def http_get(url: str, headers: dict) -> tuple[int, Message, bytes]:
    """Status, headers (names in any case) and body."""
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def device_script(path: Path, paths: list, headers: dict, etags: Optional[list]) -> Path:
    """A wrk script cycling through one request per device (formatted once,
    in init, so that the client does little per request); each thread starts
    at another point of the cycle."""
    def table(values):
        return "{\n" + ",\n".join(json.dumps(v) for v in values) + "\n}"
    path.write_text(f"""
local paths = {table(paths)}
local etags = {table(etags) if etags else "nil"}
local headers = {{ {", ".join(f'[{json.dumps(k)}] = {json.dumps(v)}' for k, v in headers.items())} }}
local threads = 0
function setup(thread)
  thread:set("offset", threads * 4999)
  threads = threads + 1
end
local requests, i = {{}}, 0
function init(args)
  for k = 1, #paths do
    local h = {{}}
    for name, value in pairs(headers) do h[name] = value end
    if etags then h["If-None-Match"] = etags[k] end
    requests[k] = wrk.format("GET", paths[k], h)
  end
  i = (offset or 0) % #paths
end
function request()
  i = i % #requests + 1
  return requests[i]
end
""")
    return path


def host_checks(node: Mnpd) -> dict:
    """mnpd's count of update checks by answer (/metrics)."""
    _, _, body = http_get(f"http://{node.host}/metrics", {})
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^mnpd_host_update_checks_total\{answer="(\w+)"\} ([\d.e+]+)$', body.decode(), re.M)}


def updates(ctx: Context, backend: Backend):
    """10,000 distinct devices asking one node which version of a mini
    program to run while a gradual release offers its new version to 10 %
    of them (wrk cycling the device ids), against nginx serving the same
    answers as static files to the same cycle of requests; then the same
    with each device's ETag (If-None-Match), answered 304 by both."""
    dep = backend.deployment()
    node = Mnpd(ctx.binary, dep)
    try:
        app_id = flows.application(node)
        node.call("ModifyApplicationAppKey", {"ApplicationId": app_id, "AndroidAppKey": APP_KEY,
                                              "PlatformId": PLATFORM})
        mnp = flows.create_mnp(node)
        flows.ingest(node, mnp, "1.0.0", ctx.small_package())
        online = flows.release_latest(node, mnp)
        flows.ingest(node, mnp, "1.1.0", ctx.small_package())
        grey = flows.approve_latest(node, mnp)
        flows.start_gradual_release(node, grey, UPDATE_PERCENTAGE)

        devices = [f"dev-{i:05d}" for i in range(UPDATE_DEVICES)]
        gradual = [cohort(mnp, d) < UPDATE_PERCENTAGE * 10 for d in devices]
        base = f"/host/v1/{PLATFORM}/{app_id}/{mnp}"
        query = [f"?deviceId={d}&currentVersionId={online}" for d in devices]
        headers = {"X-Mnpd-App-Key": APP_KEY}
        # The two answers the fleet gets (a gradual device is told to update
        # to 1.1.0, the others that 1.0.0 is current), each with its ETag.
        kinds = {}
        for want in (True, False):
            k = gradual.index(want)
            status, h, body = http_get(f"http://{node.host}{base}{query[k]}", headers)
            answer = json.loads(body)
            expected = ("update", grey) if want else ("current", online)
            if status != 200 or (answer["status"], answer["package"]["mnpVersionId"]) != expected:
                raise SystemExit(f"the update check of {devices[k]} answered {status} {body!r}")
            kinds[want] = (h["ETag"], body)
        etags = [kinds[g][0] for g in gradual]
        for k in range(0, UPDATE_DEVICES, UPDATE_DEVICES // 20):
            status, _, _ = http_get(f"http://{node.host}{base}{query[k]}",
                                    {**headers, "If-None-Match": etags[k]})
            if status != 304:
                raise SystemExit(f"{devices[k]} revalidated with its ETag got {status}, not 304")

        # nginx: the same two answers as files, asked for with the same
        # requests (nginx ignores the query).
        folder = ctx.www / "updates"
        folder.mkdir(exist_ok=True)
        files = {}
        for want, (_, body) in kinds.items():
            name = "update.json" if want else "current.json"
            (folder / name).write_bytes(body)
            status, h, _ = http_get(ctx.nginx.url(f"updates/{name}"), {})
            files[want] = (f"/updates/{name}", h["ETag"])
        nginx_paths = [files[g][0] + q for g, q in zip(gradual, query)]
        nginx_etags = [files[g][1] for g in gradual]

        mnpd_paths = [base + q for q in query]
        wrk_args = (ctx.seconds, 2, 64)
        for case, conditional in (("10,000 devices, gradual release at 10 %", False),
                                  ("revalidated (If-None-Match → 304)", True)):
            tag = "304" if conditional else "200"
            ours_lua = device_script(ctx.work / f"updates-{backend.name}-{tag}.lua", mnpd_paths,
                                     headers, etags if conditional else None)
            ref_lua = device_script(ctx.work / f"updates-nginx-{tag}.lua", nginx_paths,
                                    headers, nginx_etags if conditional else None)
            before = host_checks(node)
            ours = wrk(f"http://{node.host}/", ours_lua, *wrk_args)
            after = host_checks(node)
            ref = wrk(ctx.nginx.url(""), ref_lua, *wrk_args)
            seen = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            # What mnpd answered is what was meant: all 304 when
            # revalidating, else 10 % updates (wrk counts only the requests
            # it saw end; the node may have answered a few more).
            if conditional:
                if seen.get("not_modified", 0) < ours.requests:
                    raise SystemExit(f"{ours.requests} revalidations, {seen} answers")
            else:
                asked = seen.get("update", 0) + seen.get("current", 0)
                if asked < ours.requests or abs(seen.get("update", 0) / asked - 0.1) > 0.02:
                    raise SystemExit(f"{ours.requests} update checks, {seen} answers")
            ratio_figure(ctx, backend, "Update checks", case, "req/s", ours.rps, ref.rps,
                         "nginx (static answer)", "≥ 0.5", lambda r: r >= 0.5,
                         mnpd_p99_ms=round(ours.p99_ms, 2), nginx_p99_ms=round(ref.p99_ms, 2),
                         mnpd_p50_ms=round(ours.p50_ms, 2), nginx_p50_ms=round(ref.p50_ms, 2),
                         answer_bytes=f"{len(kinds[True][1])}/{len(kinds[False][1])}",
                         wrk=f"wrk -t2 -c64 -d{ctx.seconds}s")
    finally:
        node.stop()


def as_json(figures: list[Figure]) -> list:
    return [asdict(f) for f in figures]
