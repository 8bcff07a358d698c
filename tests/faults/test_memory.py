"""Memory of package validation against hostile-but-valid archives.

The archive: a real mini program plus filler entries up to 9,990, each with
a name of about 1 KiB (empty files, stored): 20 MiB, under
--max-package-bytes, every name legal. Its central directory alone is
10 MiB, and the zip crate copies every name several times over when it
reads the directory. mnpd refuses it from the end record's declared
directory size (--max-zip-directory-bytes, 4 MiB) before the directory is
read, so a validation task's memory no longer grows with the count and the
length of the names.

Measured on one server with --workers 4: one task, then four at once, then MNPD_MEMORY_QUEUE more
queued behind the workers (40 by default; BENCHMARKS.md used 300 on the
release build). Every task validates the same stored archive (the versions
differ, so each is a task of its own). VmHWM is reset through /proc/PID/clear_refs before each
phase, and VmRSS is read once the queue has drained. Figures go to
.results/memory.json.
"""

from __future__ import annotations

import io
import os
import time
import zipfile

import faults_harness as fh
from faults_harness import harness

RESULTS = "memory.json"
ENTRIES = 9_990
NAME_BYTES = 1_000
QUEUE = int(os.environ.get("MNPD_MEMORY_QUEUE", "40"))
# Four of these at once held 261 MB (release build) before the directory cap;
# the debug build's own footprint is about 20 MiB.
POOL_BOUND_MIB = 150


def long_named_package(tag: str) -> bytes:
    """The mini program and empty files with ~1 KiB names, 9,990 entries."""
    files = harness.mini_program_files()
    files["assets/build-id.txt"] = f"{tag}\n".encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for i in range(ENTRIES - len(files)):
            stem = f"assets/long/{i:05d}-"
            zf.writestr(stem + "n" * (NAME_BYTES - len(stem) - 3) + ".js", b"")
    return buf.getvalue()


def reset_hwm(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def run_tasks(api, url: str, mnp: str, first: int, count: int) -> list[dict]:
    """Creates `count` versions of the archive at `url` as fast as the server
    takes them; returns the finished tasks."""
    tasks = [api.create_version(mnp, f"1.0.{first + i}", url) for i in range(count)]
    return [api.wait_task(t, timeout=120 + count) for t in tasks]


def test_long_names_keep_validation_memory_bounded(factory, file_server):
    s = factory.new("--workers", "4", "--rate-limit", "100000")
    pid = s.proc.pid
    api = s.api()
    mnp = api.create_mnp()
    archive = long_named_package("memory")
    assert 19 << 20 < len(archive) <= 20 << 20, len(archive)
    url = file_server.file_url(file_server.add(archive))
    figures = {"archive_bytes": len(archive), "entries": ENTRIES}
    figures["idle_rss_mib"] = round(fh.proc_status(pid)["VmRSS"] / 1024, 1)

    phases = [("one_task", 0, 1), ("four_at_once", 1, 4), (f"{QUEUE}_queued", 5, QUEUE)]
    finished = []
    for phase, first, count in phases:
        reset_hwm(pid)
        with fh.RssSampler(pid) as rss:
            done = run_tasks(api, url, mnp, first, count)
        peak = max(rss.hwm_kib, rss.peak_kib, fh.proc_status(pid)["VmHWM"])
        figures[f"{phase}_peak_mib"] = round(peak / 1024, 1)
        finished.extend(done)
    time.sleep(1)
    figures["rss_after_mib"] = round(fh.proc_status(pid)["VmRSS"] / 1024, 1)
    fh.record(RESULTS, "long_names", figures)

    for task in finished:
        assert task["TaskStatus"] == fh.TASK_FAILED, task
        msg = task["TaskMsg"]
        assert "central directory" in msg and "more than the limit of 4 MiB" in msg, msg
        assert "shorten long file and folder names" in msg, msg

    worst = max(figures["one_task_peak_mib"], figures["four_at_once_peak_mib"])
    assert worst < POOL_BOUND_MIB, figures
    assert figures[f"{QUEUE}_queued_peak_mib"] < POOL_BOUND_MIB, figures
    assert figures["rss_after_mib"] < POOL_BOUND_MIB, figures
