"""mnpd benchmarks, each against a reference measured in the same run on the
same machine with the same load tool. Run through scripts/bench.

  1. API gateway: signed DescribeMNPVersion by wrk, vs nginx (1 and 2 nodes)
  2. Ingest: CreateMNPVersion -> 60 of 20 MiB, vs curl + sha256sum + unzip
     (1 and 2 nodes)
  3. Memory: peak RSS during 16 concurrent 20 MiB ingests; idle RSS
  4. Growth: three listing calls at 100 vs 100,000 versions
  5. Package serving: the signed package URL vs nginx serving the file
  6. Start-up: to /healthz 200, empty and grown data directory
  7. Package delivery: one download of a released package by mnpd's URL and
     by a presigned one, vs curl of the object from S3 (cluster set only)
  8. Update checks: the host API for 10,000 devices during a gradual
     release, vs nginx serving the same answers (and revalidated: 304)

on the embedded set (SQLite + folder) and on PostgreSQL + S3 (moto) +
Redis. Prints each figure as it is measured, then a summary, and writes
every figure to a JSON file."""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchmarks  # noqa: E402
from lab import ROOT, Cluster, Embedded, tools_missing  # noqa: E402

BENCHMARKS = ["gateway", "ingest", "memory", "growth", "serving", "startup", "delivery",
              "updates"]
BACKENDS = {"embedded": Embedded, "cluster": Cluster}


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_GiB": round(mem_kib / 2**20, 1),
            "kernel": platform.release()}


def git_revision() -> str:
    cp = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                        capture_output=True, text=True)
    return cp.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", type=Path, default=ROOT / "target/release/mnpd")
    ap.add_argument("--quick", action="store_true",
                    help="short runs and a smaller grown store: checks that the suite runs")
    ap.add_argument("--backends", default="embedded,cluster",
                    help="comma-separated: embedded, cluster (default both)")
    ap.add_argument("--only", default=",".join(BENCHMARKS),
                    help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    ap.add_argument("--out", type=Path, help="the JSON results file "
                    "(default bench/.results/bench[-quick].json)")
    args = ap.parse_args()
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(only) - set(BENCHMARKS)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown or set(backends) - set(BACKENDS):
        bad = sorted(unknown | (set(backends) - set(BACKENDS)))
        ap.error(f"unknown benchmark or backend: {bad}")
    if not args.binary.exists():
        ap.error(f"no mnpd binary at {args.binary}")
    missing = tools_missing()
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)} (scripts/bench installs them)")
    out = args.out or ROOT / "bench/.results" / ("bench-quick.json" if args.quick else "bench.json")

    started = time.time()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="mnpd-bench-"))
    print(f"mnpd benchmarks ({'quick' if args.quick else 'full'}): {args.binary}, "
          f"{os.cpu_count()} cores, load average {load_before[0]:.1f}, work in {work}",
          flush=True)
    ctx = benchmarks.Context(args.binary, work, args.quick,
                             lambda fig: print(fig.line(), flush=True))
    try:
        for name in backends:
            backend = BACKENDS[name](work)
            print(f"\n== {backend.label}", flush=True)
            try:
                if "gateway" in only:
                    benchmarks.gateway(ctx, backend)
                if "ingest" in only:
                    benchmarks.ingest(ctx, backend)
                if "memory" in only:
                    benchmarks.memory(ctx, backend)
                if "serving" in only:
                    benchmarks.serving(ctx, backend)
                if "delivery" in only:
                    benchmarks.delivery(ctx, backend)
                if "updates" in only:
                    benchmarks.updates(ctx, backend)
                if "growth" in only or "startup" in only:
                    grown = benchmarks.growth(ctx, backend)
                    if "startup" in only:
                        benchmarks.startup(ctx, backend, grown)
            finally:
                backend.close()
    finally:
        ctx.close()
        shutil.rmtree(work, ignore_errors=True)

    print("\nsummary")
    for fig in ctx.figures:
        print("  " + fig.line())
    missed = [f for f in ctx.figures if f.met is False]
    print(f"{len(ctx.figures)} figures, {len(missed)} targets missed, "
          f"{time.time() - started:.0f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "mode": "quick" if args.quick else "full",
        "command": " ".join(["scripts/bench", *sys.argv[1:]]),
        "binary": str(args.binary),
        "revision": git_revision(),
        "machine": machine(),
        "seconds": round(time.time() - started),
        # Other work on the machine during the run (1, 5, 15 minute loads).
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "figures": benchmarks.as_json(ctx.figures),
    }, indent=2) + "\n")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
