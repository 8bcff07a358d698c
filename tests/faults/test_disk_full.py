"""A full disk under the data directory: a 24 MiB tmpfs mounted for the test
(root only; unmounted in a finally).

- CreateMNPVersion of a package bigger than the free space answers HTTP 200
  with an error code and a message, at once; nothing is left in tmp/, no
  package, no task; reads keep working.
- Room for the package but not for the database: the package may be stored,
  the task is not recorded; the error is clean.
- A disk full to the last byte: SQLite writes fail (CreateMNP answers an
  error), reads work; once space returns the same request succeeds at once,
  without a restart; so does the CreateMNPVersion refused before.
- A worker whose version commit fails on the full disk: the task must end
  soon after space returns (not hold its lease for a minute).
- Afterwards: no half-written version, PRAGMA integrity_check is ok, and a
  restart on the same disk collects what the failures left.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import pytest

import faults_harness as fh
from faults_harness import DataDir, harness

RESULTS = "faults.json"
TMPFS_SIZE = "24m"
ERROR_CODES = {"InternalError", "ResourceUnavailable"}
PAGE = 4096


@pytest.fixture
def tmpfs(tmp_path, factory) -> Path:
    """A fresh 24 MiB tmpfs on tmp_path/disk; servers still running on it
    are stopped (SIGTERM, exit 0 required) before it is unmounted."""
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (the disk-full tests fill one)", pytrace=False)
    mnt = tmp_path / "disk"
    mnt.mkdir()
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mnt)],
                        capture_output=True, text=True)
    if cp.returncode != 0:
        pytest.fail(f"mount -t tmpfs failed: {cp.stderr.strip()}", pytrace=False)
    errors = []
    try:
        yield mnt
    finally:
        for s in factory.servers:
            if s.running and mnt in s.data_dir.parents:
                fh.thaw(s)
                rc = s.stop(timeout=15)
                if rc != 0:
                    errors.append(f"mnpd on the tmpfs exited {rc} after SIGTERM: "
                                  f"{s.log_tail(1500)}")
        cp = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
        if cp.returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, text=True)
            errors.append(f"umount {mnt}: {cp.stderr.strip()} (unmounted lazily)")
    assert not errors, "\n".join(errors)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int = 0) -> Path:
    """Writes filler files under `path` until only `leave` bytes (rounded to
    pages) are free; with 0, until the file system refuses another byte."""
    filler = path / f"filler-{len(list(path.glob('filler-*')))}"
    with open(filler, "wb", buffering=0) as f:
        want = free_bytes(path) - leave
        chunk = bytes(1 << 20)
        with contextlib.suppress(OSError):
            while want > 0:
                n = f.write(chunk[:min(len(chunk), want)])
                want -= n
        if leave == 0:
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 512)
    return filler


def error_of(answer: fh.Answer, what: str) -> dict:
    assert not answer.problems(), f"{what}: {answer.problems()}: {answer!r}"
    assert answer.code in ERROR_CODES, f"{what} answered {answer!r}"
    return {"code": answer.code, "message": answer.message,
            "seconds": round(answer.t1 - answer.t0, 3)}


def reads_work(c: fh.Client, s: harness.MnpdServer, mnp: str, task_id: str) -> None:
    c.ok("DescribeMNPList", {"PlatformId": s.platform_id, "Offset": 0, "Limit": 10})
    c.ok("DescribeMNPDetail", {"PlatformId": s.platform_id, "MNPId": mnp})
    d = c.ok("DescribeMNPVersion", {"PlatformId": s.platform_id, "BusinessId": task_id})
    assert d["Data"]["TaskStatus"] == fh.TASK_SUCCEEDED, d
    c.ok("DescribeMNPAllStageVersions", {"PlatformId": s.platform_id, "MNPId": mnp})
    r = c.session.get(f"http://{s.endpoint}/healthz", timeout=10)
    assert r.status_code == 200, r.text


def test_full_disk_refuses_cleanly_and_recovers_without_restart(factory, file_server, tmpfs):
    s = factory.new("--rate-limit", "100000", data_dir=tmpfs / "data")
    dd = DataDir(s.data_dir)
    api = s.api()
    c = fh.Client(s)
    mnp = api.create_mnp()
    first = api.create_version(mnp, "1.0.0", file_server.file_url(
        file_server.add(fh.unique_package("disk-1"))))
    assert api.wait_task(first)["TaskStatus"] == fh.TASK_SUCCEEDED
    results = {"tmpfs": TMPFS_SIZE}

    # -- A: a package bigger than the free space -----------------------------
    big = harness.zip_of_exact_size(3 * 1024 * 1024)
    big_url = file_server.file_url(file_server.add(big))
    big_params = api.version_params(mnp, "1.1.0", big_url)
    fill(tmpfs, leave=1024 * 1024)
    free_a = free_bytes(tmpfs)
    a = c.post("CreateMNPVersion", big_params)
    results["package_bigger_than_free_space"] = dict(error_of(a, "CreateMNPVersion"),
                                                      free_bytes=free_a, package_bytes=len(big))
    assert s.running, f"mnpd died: {s.log_tail()}"
    assert not dd.tmp_files(), f"the failed download left {dd.tmp_files()} in tmp/"
    assert fh.sha256_hex(big) not in dd.blobs()
    assert [t["task_id"] for t in dd.tasks().values()] == [first]
    reads_work(c, s, mnp, first)

    # -- C: full to the last byte: SQLite writes fail ----------------------------
    filler = fill(tmpfs)
    assert free_bytes(tmpfs) < PAGE
    mnp_params = api.mnp_params(MNPDesc="d" * 2000)
    refused = None
    for i in range(400):  # the WAL may still have room for a few commits
        w = c.post("CreateMNP", dict(mnp_params, MNPName=harness.unique_name("full")))
        assert not w.problems(), w
        if w.code is not None:
            refused = (i, w)
            break
    assert refused, "400 CreateMNP succeeded on a full disk?"
    results["database_write_on_full_disk"] = dict(error_of(refused[1], "CreateMNP"),
                                                  writes_before_refusal=refused[0])
    assert s.running, f"mnpd died: {s.log_tail()}"
    reads_work(c, s, mnp, first)
    again = c.post("CreateMNPVersion", big_params)
    results["create_version_on_full_disk"] = error_of(again, "CreateMNPVersion")
    assert not dd.tmp_files()

    # -- space returns: the same requests succeed, no restart -----------------------
    for f in tmpfs.glob("filler-*"):
        f.unlink()
    t0 = time.monotonic()
    w = c.post("CreateMNP", dict(mnp_params, MNPName=harness.unique_name("back")))
    assert not w.problems() and w.code is None, (
        f"CreateMNP still refused once space returned: {w!r}")
    a = c.post("CreateMNPVersion", big_params)
    assert not a.problems() and a.code is None, f"CreateMNPVersion after space returned: {a!r}"
    task = a.response["Data"]["TaskId"]
    done = api.wait_task(task)
    assert done["TaskStatus"] == fh.TASK_SUCCEEDED, done
    results["recovered_seconds_after_space_returned"] = round(time.monotonic() - t0, 3)

    # -- B: room for the package, not for the database --------------------------------
    # A fresh start has an empty WAL, so the next commit needs new pages.
    assert s.stop() == 0
    s = factory.restart(s)
    api, c = s.api(), fh.Client(s)
    exact = harness.zip_of_exact_size(2 * 1024 * 1024 + 100)
    exact_url = file_server.file_url(file_server.add(exact))
    exact_params = api.version_params(mnp, "1.2.0", exact_url)
    pages = -(-len(exact) // PAGE)
    fill(tmpfs, leave=pages * PAGE)
    b = c.post("CreateMNPVersion", exact_params)
    assert not b.problems(), b
    tasks = dd.tasks()
    if b.code is None:
        outcome = {"answer": "TaskId (the database still had room)"}
        assert b.response["Data"]["TaskId"] in tasks
    else:
        outcome = error_of(b, "CreateMNPVersion")
        assert not [t for t in tasks.values() if t["mnp_version"] == "1.2.0"], (
            "a task was recorded although the request failed")
        outcome["package_stored_without_task"] = fh.sha256_hex(exact) in dd.blobs()
    assert not dd.tmp_files(), f"tmp/ holds {dd.tmp_files()}"
    results["room_for_package_not_database"] = outcome
    for f in tmpfs.glob("filler-*"):
        f.unlink()
    b2 = c.post("CreateMNPVersion", exact_params)
    assert not b2.problems() and b2.code is None, b2
    assert api.wait_task(b2.response["Data"]["TaskId"])["TaskStatus"] == fh.TASK_SUCCEEDED

    # -- afterwards: whole versions, a sound database, a clean restart ----------------
    ended = fh.check_tasks_ended(dd, [first, task, b2.response["Data"]["TaskId"]])
    fh.check_versions_have_blobs(dd)
    assert dd.integrity() == "ok"
    assert s.stop() == 0
    referenced = dd.referenced()
    s = factory.restart(s)
    fh.check_after_startup(dd, referenced)
    assert dd.integrity() == "ok"
    reads_work(fh.Client(s), s, mnp, first)
    results["tasks"] = ended
    fh.record(RESULTS, "disk_full", results)


def test_version_commit_on_full_disk_ends_soon_after_space_returns(factory, file_server, tmpfs,
                                                                   heavy_package):
    """--workers 1, a heavy package: the worker is frozen while it validates,
    the disk is filled to the last byte, the worker resumes and its commit
    (versions row + task 60) fails on the full disk. Once space returns the
    task must end within a few seconds, as the workers poll every 2 s; it
    must not stay "Running" until its lease (60 s by default) runs out."""
    s = factory.new("--rate-limit", "100000", "--workers", "1", data_dir=tmpfs / "data")
    api = s.api()
    mnp = api.create_mnp()
    # A fresh process: an empty WAL, so the commit needs new pages.
    assert s.stop() == 0
    s = factory.restart(s)
    dd = DataDir(s.data_dir)
    api, c = s.api(), fh.Client(s)
    sha = fh.sha256_hex(heavy_package)
    task = api.create_version(mnp, "1.0.0", file_server.file_url(file_server.add(heavy_package)))
    blob = str(dd.blob_path(sha))
    fh.wait_for(lambda: blob in fh.open_files(s.proc.pid), 20, "the worker to open the package",
                interval=0.0005)
    fh.freeze(s)
    try:
        assert dd.tasks()[task]["status"] == fh.TASK_RUNNING
        fill(tmpfs)
    finally:
        fh.thaw(s)
    # Validation ends (the package is closed); the commit fails on the full disk.
    fh.wait_for(lambda: blob not in fh.open_files(s.proc.pid), 20, "validation to end",
                interval=0.005)
    time.sleep(1.0)
    stuck = dd.tasks()[task]
    assert stuck["status"] == fh.TASK_RUNNING and not dd.versions(), (
        f"the commit did not fail on the full disk (the test needs it to): {stuck}")
    assert s.running
    d = c.ok("DescribeMNPVersion", {"PlatformId": s.platform_id, "BusinessId": task})["Data"]
    assert d["TaskStatus"] == fh.TASK_RUNNING, d

    for f in tmpfs.glob("filler-*"):
        f.unlink()
    t0 = time.monotonic()
    deadline = t0 + 10
    status = None
    while time.monotonic() < deadline:
        status = dd.tasks()[task]
        if status["status"] in (fh.TASK_FAILED, fh.TASK_SUCCEEDED):
            break
        time.sleep(0.1)
    waited = round(time.monotonic() - t0, 2)
    fh.record(RESULTS, "disk_full_commit", {
        "task_status_10s_after_space_returned": status["status"],
        "attempts": status["attempts"],
        "lease_until_minus_now": (status["lease_until"] or 0) - int(time.time()),
        "waited_seconds": waited,
    })
    assert status["status"] == fh.TASK_SUCCEEDED, (
        f"10 s after space returned the task whose commit failed on the full disk is still "
        f"{status['status']} ({status['msg']!r}, lease held for another "
        f"{(status['lease_until'] or 0) - int(time.time())} s): the worker keeps its lease "
        f"after a storage error, so the task waits for the lease to run out")
    fh.check_tasks_ended(dd, [task])
    assert dd.integrity() == "ok"
