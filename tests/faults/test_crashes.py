"""SIGKILL at each stage of CreateMNPVersion, then a restart on the same data
directory (docs/architecture.md, Durability):

- during the download (a trickled package: the staging file is half written);
  also the client dying mid-download, and the answer lost after the task was
  recorded;
- during validation (a heavy package with --workers 1: the worker has the
  stored package open), once (the task resumes at once) and three times (the
  task fails with a message, and its number can be used again);
- around the version commit: 10 kill/restart cycles under a stream of small
  tasks, killed at random moments or just after a version was recorded.

After every restart: tmp/ is empty, no package survives that no version or
live task names, every version's package is stored whole, every TaskId a
client got ends at 30 or 60, a task at 60 has exactly one version, and a
request cut off by the crash succeeds when sent again. The database is read
directly, in SQLite's read-only mode.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import pytest
import requests

import faults_harness as fh
from faults_harness import DataDir, harness

RESULTS = "faults.json"
CRASHES: Counter = Counter()


def record_crashes(section: str, values: dict):
    fh.record(RESULTS, section, values)
    fh.record(RESULTS, "summary", {
        "crashes_injected": sum(CRASHES.values()),
        "crashes_by_stage": dict(CRASHES),
    })


def version_params(api: harness.Api, mnp: str, version: str, url: str,
                   intro: str = "fault test version") -> dict:
    return api.version_params(mnp, version, url, intro)


# ---------------------------------------------------------------------------
# Catching a worker while it validates
# ---------------------------------------------------------------------------


def spawn_bare(server: harness.MnpdServer) -> subprocess.Popen:
    """Another `mnpd serve` on `server`'s data directory and flags, without
    waiting for it to listen: its worker resumes the interrupted task at
    start-up, possibly before /healthz answers, and is caught there."""
    port = harness.free_port()
    log = open(server.log_path, "ab")
    log.write(f"\n=== bare start {' '.join(server.command(port))}\n".encode())
    log.flush()
    try:
        return subprocess.Popen(server.command(port), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, env=harness.clean_env({"MNPD_LOG": "info"}))
    finally:
        log.close()


def catch_validating(pid: int, dd: DataDir, task_id: str, sha256: str, attempt: int,
                     timeout: float = 30) -> dict:
    """Waits until process `pid` has the stored package open (its worker is
    validating it), freezes it with SIGSTOP, and checks while it is frozen
    that it still has the package open and that the database shows the task
    claimed (20, leased, `attempt` attempts). The process stays frozen."""
    blob = str(dd.blob_path(sha256))

    def validating():
        return any(f == blob for f in fh.open_files(pid))

    fh.wait_for(validating, timeout, f"process {pid} to open {blob} (validation of {task_id})",
                interval=0.0005)
    os.kill(pid, signal.SIGSTOP)
    assert validating(), "the package was closed before the process froze; retry"
    t = dd.tasks()[task_id]
    assert t["status"] == fh.TASK_RUNNING, f"a worker is validating, yet the task is {t}"
    assert t["lease_owner"] and t["lease_until"], f"running without a lease: {t}"
    assert t["attempts"] == attempt, f"attempt {attempt} expected: {t}"
    assert not [v for v in dd.versions() if v["task_id"] == task_id]
    return t


def kill_pid(pid: int, proc: Optional[subprocess.Popen] = None):
    os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait(10)


# ---------------------------------------------------------------------------
# 1. During the download
# ---------------------------------------------------------------------------


def test_sigkill_during_download(factory, file_server):
    """A package trickled over 5 s; the server is killed while its staging
    file is half written. Start-up removes it, nothing was recorded, and the
    identical request sent again downloads the package and succeeds."""
    s = factory.new("--rate-limit", "100000")
    dd = DataDir(s.data_dir)
    api = s.api()
    mnp = api.create_mnp()
    data = harness.zip_of_exact_size(6 * 1024 * 1024)
    url = file_server.url(f"/trickle/5/{file_server.add(data)}")
    params = version_params(api, mnp, "1.0.0", url)

    outcome: dict = {}

    def send():
        try:
            outcome["answer"] = fh.Client(s).post("CreateMNPVersion", params)
        except requests.RequestException as e:
            outcome["error"] = e

    t = threading.Thread(target=send, daemon=True)
    t.start()
    pid = s.proc.pid

    def half_written():
        parts = [p for p in dd.tmp_dir.glob("*.part")]
        if not parts:
            return None
        size = parts[0].stat().st_size
        open_now = str(parts[0]) in fh.open_files(pid)
        return (parts[0], size) if 0 < size < len(data) // 2 and open_now else None

    part, size_at_kill = fh.wait_for(half_written, 20, "a half-written staging file",
                                     interval=0.005)
    s.kill9()
    CRASHES["download"] += 1
    t.join(10)
    assert "answer" not in outcome, f"the killed server answered: {outcome['answer']!r}"
    assert isinstance(outcome.get("error"), requests.ConnectionError), outcome

    # Nothing recorded; the partial file is what start-up must remove.
    assert part.exists(), "the staging file vanished with the process (nothing to clean?)"
    assert not [x for x in dd.tasks().values() if x["mnp_id"] == mnp], dd.tasks()
    blobs_before = dd.blobs()
    assert sha_of(data) not in blobs_before, "a half-downloaded package was stored"
    referenced = dd.referenced()

    s2 = factory.restart(s)
    startup = fh.check_after_startup(dd, referenced)

    # The same request again: a new download, a new task, a version.
    t0 = time.monotonic()
    answer = fh.Client(s2).post("CreateMNPVersion", params)
    assert not answer.problems() and answer.code is None, answer
    task_id = answer.response["Data"]["TaskId"]
    data_out = s2.api().wait_task(task_id)
    assert data_out["TaskStatus"] == fh.TASK_SUCCEEDED, data_out
    assert file_server.hit_count(url) == 2
    ended = fh.check_tasks_ended(dd, [task_id])
    fh.check_versions_have_blobs(dd)
    assert dd.blobs() == {sha_of(data)}
    record_crashes("download", {
        "kills": CRASHES["download"],
        "package_bytes": len(data),
        "staged_bytes_at_kill": size_at_kill,
        "after_restart": startup,
        "resent_request": {"task_status": data_out["TaskStatus"],
                           "seconds": round(time.monotonic() - t0, 2)},
        "tasks": ended,
    })


def sha_of(data: bytes) -> str:
    return fh.sha256_hex(data)


def test_client_gone_during_download_leaves_no_staging_file(factory, file_server):
    """The client dies (here: gives up after 1 s and closes its connection)
    while the server downloads a package trickled over 3 s. Whether the
    server then finishes the download (and records the task) or abandons it,
    once the download is over nothing may stay in tmp/: start-up is not the
    only time partial downloads go away, or a server whose clients time out
    on slow package hosts fills its disk. The request sent again succeeds."""
    s = factory.new("--rate-limit", "100000")
    dd = DataDir(s.data_dir)
    api = s.api()
    mnp = api.create_mnp()
    data = harness.zip_of_exact_size(4 * 1024 * 1024)
    url = file_server.url(f"/trickle/3/{file_server.add(data)}")
    params = version_params(api, mnp, "1.0.0", url)
    t0 = time.monotonic()
    with pytest.raises(requests.Timeout):
        fh.Client(s).post("CreateMNPVersion", params, timeout=1)
    CRASHES["client_gone"] += 1
    # The download would be over by now (3 s), with a second to spare.
    time.sleep(max(0.0, 4.0 - (time.monotonic() - t0)))
    left = {p: (dd.tmp_dir / p).stat().st_size for p in dd.tmp_files()}
    recorded = dd.live_task_of(mnp, "1.0.0", url)
    record_crashes("client_gone", {"kills": 1, "staging_files_left": left,
                                   "task_recorded": bool(recorded)})
    assert s.running
    assert not left, (
        f"CreateMNPVersion whose client hung up mid-download left {left} (name: bytes) in tmp/ "
        f"{time.monotonic() - t0:.1f}s later (task recorded: {bool(recorded)}); only a restart "
        f"removes it")
    a = fh.Client(s).post("CreateMNPVersion", params)
    assert not a.problems() and a.code is None, a
    done = api.wait_task(a.response["Data"]["TaskId"])
    assert done["TaskStatus"] == fh.TASK_SUCCEEDED, done
    assert not dd.tmp_files()


def test_answer_lost_in_crash_resend_is_the_same_task(factory, file_server):
    """The task is recorded but its answer never reaches the client (the
    client does not read its socket; the server is killed once the task is
    in the database). After the restart the identical request answers the
    recorded TaskId: no second download, no second task."""
    s = factory.new("--rate-limit", "100000")
    dd = DataDir(s.data_dir)
    api = s.api()
    mnp = api.create_mnp()
    url = file_server.file_url(file_server.add(fh.unique_package("lost-answer")))
    params = version_params(api, mnp, "1.0.0", url)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        sock.sendall(fh.Client(s).raw_bytes("CreateMNPVersion", params))
        recorded = fh.wait_for(lambda: dd.live_task_of(mnp, "1.0.0", url), 20,
                               "the task to be recorded", interval=0.0005)
        status_at_kill = dd.tasks()[recorded]["status"]
        s.kill9()
        CRASHES["answer_lost"] += 1
    finally:
        sock.close()
    referenced = dd.referenced()
    s2 = factory.restart(s)
    fh.check_after_startup(dd, referenced)
    a = fh.Client(s2).post("CreateMNPVersion", params)
    assert not a.problems() and a.code is None, a
    assert a.response["Data"]["TaskId"] == recorded, (
        f"the repeated request answered {a.response['Data']['TaskId']}, the crash left task "
        f"{recorded}")
    assert file_server.hit_count(url) == 1, "the package was downloaded twice"
    assert s2.api().wait_task(recorded)["TaskStatus"] == fh.TASK_SUCCEEDED
    ended = fh.check_tasks_ended(dd, [recorded])
    assert ended["tasks"] == 1, ended
    record_crashes("answer_lost", {"kills": 1, "task_status_at_kill": status_at_kill,
                                   "resent_answered_same_task": True, "tasks": ended})


# ---------------------------------------------------------------------------
# 2. During validation
# ---------------------------------------------------------------------------


def test_sigkill_during_validation_resumes(factory, file_server, heavy_package):
    """--workers 1 and a package that takes the validator a while: killed
    while the worker has it open, the task is picked up again at once by the
    next process and ends at 60 with one version (attempt 2)."""
    s = factory.new("--workers", "1", "--rate-limit", "100000")
    dd = DataDir(s.data_dir)
    api = s.api()
    mnp = api.create_mnp()
    sha = sha_of(heavy_package)
    url = file_server.file_url(file_server.add(heavy_package))
    task_id = api.create_version(mnp, "1.0.0", url)
    caught = catch_validating(s.proc.pid, dd, task_id, sha, attempt=1)
    s.kill9()
    CRASHES["validation"] += 1

    referenced = dd.referenced()
    assert sha in referenced
    s2 = factory.restart(s)
    startup = fh.check_after_startup(dd, referenced)
    # Leases are freed at start-up: the task resumes at once, not after the
    # lease (60 s by default) runs out.
    t0 = time.monotonic()
    done = s2.api().wait_task(task_id, timeout=20)
    resumed_in = time.monotonic() - t0
    assert done["TaskStatus"] == fh.TASK_SUCCEEDED, done
    assert resumed_in < 10, f"the interrupted task took {resumed_in:.1f}s to finish"
    t = dd.tasks()[task_id]
    assert t["attempts"] == 2, t
    ended = fh.check_tasks_ended(dd, [task_id])
    assert dd.blobs() == {sha}
    record_crashes("validation_once", {
        "kills": 1,
        "lease_until_at_kill": caught["lease_until"],
        "after_restart": startup,
        "finished_seconds_after_restart": round(resumed_in, 2),
        "attempts": t["attempts"],
        "tasks": ended,
    })


def test_task_interrupted_three_times_fails(factory, file_server, heavy_package):
    """The same task killed during validation three times in a row: the
    fourth process fails it (30) with a TaskMsg saying so, records no
    version, frees the number (the same request then succeeds), and the next
    start-up deletes the failed task's package."""
    s = factory.new("--workers", "1", "--rate-limit", "100000")
    dd = DataDir(s.data_dir)
    api = s.api()
    mnp = api.create_mnp()
    sha = sha_of(heavy_package)
    url = file_server.file_url(file_server.add(heavy_package))
    params = version_params(api, mnp, "2.0.0", url)
    task_id = api.create_version(mnp, "2.0.0", url)

    catch_validating(s.proc.pid, dd, task_id, sha, attempt=1)
    s.kill9()
    CRASHES["validation"] += 1
    for attempt in (2, 3):
        referenced = dd.referenced()
        p = spawn_bare(s)
        try:
            catch_validating(p.pid, dd, task_id, sha, attempt=attempt)
        finally:
            kill_pid(p.pid, p)
        CRASHES["validation"] += 1
        assert not dd.tmp_files()
        assert dd.blobs() <= referenced

    referenced = dd.referenced()
    s2 = factory.restart(s)
    fh.check_after_startup(dd, referenced)
    api2 = s2.api()
    failed = api2.wait_task(task_id, timeout=20)
    assert failed["TaskStatus"] == fh.TASK_FAILED, failed
    msg = failed["TaskMsg"]
    assert "3 times" in msg and fh.interrupted_msg(msg), f"TaskMsg should say why: {msg!r}"
    t = dd.tasks()[task_id]
    assert t["attempts"] == fh.MAX_ATTEMPTS + 1, t
    assert not dd.versions(), dd.versions()
    # The package of the failed task was live at start-up, so it is still
    # there; the next start-up collects it.
    assert s2.stop() == 0
    referenced = dd.referenced()
    assert sha not in referenced
    s3 = factory.restart(s)
    fh.check_after_startup(dd, referenced)
    assert sha not in dd.blobs(), "the failed task's package survived start-up"

    # The number is free again: the identical request is a new task.
    answer = fh.Client(s3).post("CreateMNPVersion", params)
    assert not answer.problems() and answer.code is None, answer
    again = answer.response["Data"]["TaskId"]
    assert again != task_id
    done = s3.api().wait_task(again, timeout=20)
    assert done["TaskStatus"] == fh.TASK_SUCCEEDED, done
    ended = fh.check_tasks_ended(dd, [again, task_id], allow_interrupted_failures=True)
    record_crashes("validation_three_times", {
        "kills": 3,
        "task_msg": msg,
        "attempts": t["attempts"],
        "retry_after_failure": done["TaskStatus"],
        "tasks": ended,
    })


# ---------------------------------------------------------------------------
# 3. Around the version commit
# ---------------------------------------------------------------------------

CYCLES = 10
CLIENT_THREADS = 6
MNPS = 24


@dataclass
class Sent:
    mnp: str
    version: str
    url: str
    params: dict
    task_id: Optional[str] = None
    # The live task of this request found in the database after the kill
    # that cut it off: sending it again must answer that TaskId.
    existing: Optional[str] = None


@dataclass
class ClientState:
    mnps: list
    next_minor: dict
    pending: Optional[Sent] = None        # cut off by the last kill, to send again
    answered: list = field(default_factory=list)
    errors: list = field(default_factory=list)


def test_sigkill_loop_around_version_commit(factory, file_server):
    """10 cycles: 6 client threads stream CreateMNPVersion (a package of its
    own each), 4 workers validate and commit; the server is SIGKILLed either
    at a random moment or a few milliseconds after a version was committed
    (the next commits are then in flight), and restarted."""
    rng = random.Random()
    s = factory.new("--rate-limit", "100000", "--workers", "4")
    dd = DataDir(s.data_dir)
    api = s.api()
    mnps = [api.create_mnp() for _ in range(MNPS)]
    clients = [ClientState(mnps[k::CLIENT_THREADS], {m: 0 for m in mnps[k::CLIENT_THREADS]})
               for k in range(CLIENT_THREADS)]
    resent = Counter()
    cut_off: set[int] = set()             # id() of every request a kill cut off
    at_kill = Counter()
    kills = Counter()
    startup_checks = []
    seq = [0]
    seq_lock = threading.Lock()

    def next_request(c: ClientState) -> Sent:
        with seq_lock:
            seq[0] += 1
            n = seq[0]
        mnp = c.mnps[n % len(c.mnps)]
        c.next_minor[mnp] += 1
        version = f"1.{c.next_minor[mnp]}.0"
        url = file_server.file_url(file_server.add(fh.unique_package(f"loop-{n}")))
        return Sent(mnp, version, url, version_params(api, mnp, version, url))

    def client(c: ClientState, server, stop: threading.Event):
        cl = fh.Client(server, timeout=30)
        try:
            while not stop.is_set():
                sent = c.pending or next_request(c)
                was_pending = c.pending is not None
                if was_pending:
                    # The task the crash may have left for this request.
                    sent.existing = dd.live_task_of(sent.mnp, sent.version, sent.url)
                try:
                    a = cl.post("CreateMNPVersion", sent.params)
                except requests.RequestException:
                    c.pending = sent
                    return
                c.pending = None
                if a.problems() or a.code is not None:
                    c.errors.append((sent.params, repr(a)))
                    return
                sent.task_id = a.response["Data"]["TaskId"]
                if was_pending:
                    if sent.existing:
                        resent["same_task"] += 1
                        if sent.task_id != sent.existing:
                            c.errors.append((sent.params, f"re-sent request answered "
                                             f"{sent.task_id}, its live task is "
                                             f"{sent.existing}"))
                    else:
                        resent["new_task"] += 1
                c.answered.append(sent)
        finally:
            cl.close()

    server = s
    for cycle in range(CYCLES):
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(c, server, stop), daemon=True)
                   for c in clients]
        for th in threads:
            th.start()
        mode = "after_commit" if cycle % 2 else "random"
        if mode == "random":
            time.sleep(rng.uniform(0.2, 1.5))
        else:
            base = dd.version_count()
            target = base + rng.randint(1, 8)
            fh.wait_for(lambda: dd.version_count() >= target, 30,
                        f"{target} versions (cycle {cycle})", interval=0.0005)
            time.sleep(rng.uniform(0, 0.004))
        server.kill9()
        kills[mode] += 1
        CRASHES["commit_loop"] += 1
        stop.set()
        for th in threads:
            th.join(30)
        assert not any(th.is_alive() for th in threads), "a client thread hangs"
        errors = [e for c in clients for e in c.errors]
        assert not errors, f"answers that are not a TaskId: {errors[:5]}"

        # The state the crash left behind.
        counts = dd.status_counts()
        at_kill["pending"] += counts.get(fh.TASK_PENDING, 0)
        at_kill["running"] += counts.get(fh.TASK_RUNNING, 0)
        at_kill["staging_files"] += len(dd.tmp_files())
        referenced = dd.referenced()
        at_kill["orphan_blobs"] += len(dd.blobs() - referenced)
        at_kill["requests_cut_off"] += sum(1 for c in clients if c.pending is not None)
        cut_off.update(id(c.pending) for c in clients if c.pending is not None)

        server = factory.restart(server)
        startup_checks.append(fh.check_after_startup(dd, referenced))
        fh.wait_settled(dd, server=server)
        # Everything answered so far ended; versions and blobs are whole.
        fh.check_tasks_ended(dd, [x.task_id for c in clients for x in c.answered],
                             allow_interrupted_failures=True)

    # The requests the last kill cut off, sent again.
    for c in clients:
        if c.pending is not None:
            cl = fh.Client(server)
            sent = c.pending
            sent.existing = dd.live_task_of(sent.mnp, sent.version, sent.url)
            a = cl.post("CreateMNPVersion", sent.params)
            assert not a.problems() and a.code is None, a
            sent.task_id = a.response["Data"]["TaskId"]
            if sent.existing:
                assert sent.task_id == sent.existing, (sent, sent.existing)
                resent["same_task"] += 1
            else:
                resent["new_task"] += 1
            c.pending = None
            c.answered.append(sent)
            cl.close()
    fh.wait_settled(dd, server=server)
    answered = [x.task_id for c in clients for x in c.answered]
    ended = fh.check_tasks_ended(dd, answered, allow_interrupted_failures=True)
    fh.check_versions_have_blobs(dd)
    assert dd.integrity() == "ok"
    assert resent["same_task"] + resent["new_task"] == len(cut_off), (resent, len(cut_off))
    # Every request a client got a TaskId for is a version now, except a task
    # killed mid-validation more than 3 times (then 30, counted).
    tasks = dd.tasks()
    not_60 = [t for t in answered if tasks[t]["status"] != fh.TASK_SUCCEEDED]
    record_crashes("commit_loop", {
        "cycles": CYCLES,
        "kills": dict(kills),
        "state_at_kills": dict(at_kill),
        "cut_off_requests_resent": dict(resent),
        "tasks": ended,
        "answered_not_succeeded": len(not_60),
        "tasks_lost": ended["lost"],
        "blobs_after_startup": [c["blobs"] for c in startup_checks],
    })
    assert ended["lost"] == 0
