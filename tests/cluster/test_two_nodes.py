"""Two mnpd nodes on one PostgreSQL database, one S3 bucket and Redis: every
task finishes exactly once whichever node takes the request or the task, a
killed node's tasks are finished by the other after its lease, and the rate
limit holds for the cluster as a whole. Also measures the throughput of
CreateMNPVersion -> 60 on one node and on two (results in
tests/cluster/.results/throughput.json)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

import cluster_harness as ch
from cluster_harness import LEASE_SECS, WORKER_POLL_SECS, harness

# The throughput workload: 40 mini programs x 5 increasing versions = 200
# CreateMNPVersion from 8 client threads, measured ROUNDS times (fresh mini
# programs each round) because one round lasts only a few seconds.
MNPS, VERSIONS, THREADS, ROUNDS = 40, 5, 8, 3
HIGH_LIMIT = "100000"


@pytest.fixture(scope="module")
def load_packages(file_server) -> list[ch.Served]:
    """Four distinct packages, each under two URLs: 8 URLs, 4 blobs."""
    return [ch.serve(file_server, data) for data in ch.package_variants() for _ in range(2)]


def _throughput(cluster: ch.Cluster, load_packages) -> dict:
    nodes = cluster.nodes
    per_round = MNPS * VERSIONS
    created: list[ch.Created] = []
    rounds = []
    for r in range(ROUNDS):
        mnps = ch.create_mnps(nodes, MNPS)
        got, t_first = ch.version_load(nodes, mnps, VERSIONS, load_packages, threads=THREADS)
        t_sent = time.monotonic()
        assert len(got) == per_round
        created += got
        t_done = ch.wait_finished(cluster, len(created))
        rounds.append({"seconds_all_requests_answered": round(t_sent - t_first, 3),
                       "seconds_first_request_to_last_60": round(t_done - t_first, 3),
                       "versions_per_second": round(per_round / (t_done - t_first), 2)})

    summary = ch.check_exactly_once(cluster, created)
    assert summary["succeeded"] == len(created), summary
    # Each task was claimed once: no task was processed twice.
    assert summary["attempts"] == {1: len(created)}, summary
    blobs = ch.check_blobs(cluster, exact=True)
    assert blobs == {p.sha256 for p in load_packages}, "one blob per distinct package"

    # Every node reads what the others wrote.
    for c in created[:: len(created) // 10]:
        for node in nodes:
            data = node.api().describe_task(c.task_id)
            assert data == {"MNPId": c.mnp_id, "TaskId": c.task_id, "TaskStatus": 60,
                            "TaskMsg": "Success"}, (node.name, data)
    rates = sorted(x["versions_per_second"] for x in rounds)
    load = os.getloadavg()
    return {
        "nodes": len(nodes),
        "versions_per_round": per_round,
        "mini_programs_per_round": MNPS,
        "client_threads": THREADS,
        "workers_per_node": 4,
        "requests_per_node": [sum(1 for c in created if c.node == n.name) for n in nodes],
        "rounds": rounds,
        "versions_per_second_median": rates[len(rates) // 2],
        # Everything (clients, file server, moto, PostgreSQL, the nodes)
        # shares this machine's cores, with whatever else runs on it.
        "load_average_1_5_min": [round(x, 2) for x in load[:2]],
    }


def test_throughput_one_node(make_cluster, load_packages):
    """The reference: the same 200 versions through a single node of the
    cluster backends."""
    c = make_cluster("one")
    c.new_node("--rate-limit", HIGH_LIMIT)
    result = _throughput(c, load_packages)
    ch.record_result("create_version_throughput", {"one_node": result})


def test_two_nodes_200_versions_exactly_once(cluster, load_packages):
    """200 CreateMNPVersion spread over both nodes: every task ends at 60
    exactly once, one version row each, unique MNPVersionIds and TaskIds,
    one blob per distinct package and no orphan blob."""
    result = _throughput(cluster, load_packages)
    assert result["requests_per_node"] == [ROUNDS * MNPS * VERSIONS // 2] * 2, result
    data = ch.record_result("create_version_throughput", {"two_nodes": result})
    one = data["create_version_throughput"].get("one_node")
    if one:  # measured in this session
        ch.record_result("create_version_throughput", {
            "speedup_two_vs_one": round(result["versions_per_second_median"]
                                        / one["versions_per_second_median"], 2)})


def test_same_version_raced_on_both_nodes(cluster, file_server):
    """The same CreateMNPVersion sent to both nodes about together is one
    task, and every answer names it (README: "The same request repeated
    while its task is pending, running or succeeded returns the same
    TaskId"), as when clients retry on another node; two different requests
    for the same number leave one task and one InvalidMNPVersion.

    The window where it goes wrong is narrow (a request must be checked
    while the first one's task is being recorded), so each of 20 mini
    programs gets 12 identical requests, alternating between the nodes and
    started 2 ms apart."""
    a, b = cluster.nodes
    pkg = ch.serve(file_server, harness.mini_program_zip())
    rounds, copies, spacing = 20, 12, 0.002
    mnps = ch.create_mnps([a, b], rounds + 6)
    same, different = mnps[:rounds], mnps[rounds:]

    def race(mnp, intros, lags):
        barrier = threading.Barrier(len(intros))

        def send(node, intro, delay):
            api = node.api()
            barrier.wait()
            time.sleep(delay)
            try:
                return ("task", api.create_version(mnp, "2.0.0", pkg.url, intro=intro))
            except harness.TencentCloudSDKException as e:
                return ("error", e.get_code())

        return ch.run_threads([lambda j=j, intro=intro: send((a, b)[j % 2], intro, lags[j])
                               for j, intro in enumerate(intros)])

    for mnp in different:
        got = sorted(race(mnp, ("from node a", "from node b"), (0, 0)))
        assert [k for k, _ in got] == ["error", "task"], got
        assert got[0][1] == "InvalidParameterValue.InvalidMNPVersion", got

    mismatched = []
    for mnp in same:
        lags = [j * spacing for j in range(copies)]
        got = race(mnp, ["raced"] * copies, lags)
        answers = Counter(t for _, t in got)
        if len(answers) > 1 or got[0][0] != "task":
            mismatched.append((mnp, dict(answers)))
    ch.wait_finished(cluster, len(mnps))
    rows = cluster.sql("SELECT mnp_id, count(*), min(status), max(status) FROM tasks "
                       "GROUP BY mnp_id")
    assert len(rows) == len(mnps) and all(r[1:] == ("1", "60", "60") for r in rows), rows
    assert int(cluster.sql("SELECT count(*) FROM versions")[0][0]) == len(mnps)
    assert not mismatched, (
        f"{len(mismatched)} of {rounds} mini programs got {copies} identical CreateMNPVersion "
        f"(alternating nodes, {spacing * 1000:.0f} ms apart): expected every answer to be the "
        f"one TaskId; got (mini program, answers) {mismatched[:3]}")


# ---------------------------------------------------------------------------
# A node killed while it holds tasks
# ---------------------------------------------------------------------------


def _owner_of(cluster, task_id, timeout=15.0):
    """Polls until `task_id` is running; its lease owner."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = cluster.poller.query(
            f"SELECT status, coalesce(lease_owner, '') FROM tasks WHERE task_id = '{task_id}'")
        if rows and rows[0][0] == "20":
            return rows[0][1]
        if rows and rows[0][0] in ("30", "60"):
            return None
        time.sleep(0.002)
    return None


def _freeze_holding(node, cluster, owner, timeout, want=None):
    """Waits until `owner` (the node's lease owner) holds a running task and
    `want()` is true, then SIGSTOPs the node and checks it still holds the
    task; retries otherwise. Returns (task_id, lease_until, attempts) with
    the node stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = ("SELECT task_id, lease_until, attempts FROM tasks "
             f"WHERE status = 20 AND lease_owner = '{owner}'")
        if cluster.poller.query(q) and (want is None or want()):
            os.kill(node.proc.pid, signal.SIGSTOP)
            held = cluster.poller.query(q)
            if held:
                return held[0][0], int(held[0][1]), int(held[0][2])
            os.kill(node.proc.pid, signal.SIGCONT)
        time.sleep(0.003)
    pytest.fail(f"{node.name} never held a task within {timeout}s", pytrace=False)


def test_sigkill_node_holding_tasks(make_cluster, file_server, heavy_package):
    """SIGKILL a node (--workers 1) while it runs a task, with more tasks
    pending and a download in flight: the surviving node takes the task over
    once the lease expires, and finishes every task exactly once (60, or 30
    for the broken package); the request cut off by the kill, sent again to
    the survivor, is one task too. The victim is frozen (SIGSTOP) the moment
    psql shows it running a task, checked to still hold it, then killed, so
    the kill always lands mid-task."""
    c = make_cluster("kill")
    victim = c.new_node("--workers", "1", "--rate-limit", HIGH_LIMIT)
    heavy = [ch.serve(file_server, heavy_package) for _ in range(2)]
    broken = ch.serve(file_server, ch.broken_package())
    vapi = victim.api()
    mnps = [vapi.create_mnp() for _ in range(12)]

    # The victim alone: its only worker runs the first task, which names its
    # lease owner.
    created: list[ch.Created] = []
    owner = None
    for attempt in range(5):
        version = f"0.0.{attempt}"
        task = vapi.create_version(mnps[0], version, heavy[0].url)
        created.append(ch.Created(task, mnps[0], version, heavy[0].sha256, victim.name,
                                  heavy[0].url))
        owner = _owner_of(c, task)
        if owner:
            break
    assert owner, "could not see the victim's lease owner on a running task"
    ch.wait_finished(c, len(created))

    survivor = c.new_node("--rate-limit", HIGH_LIMIT)

    # Load: CreateMNPVersion to the victim from 3 threads (heavy packages and
    # every 4th one broken), and one request whose download trickles.
    cut_off: list[tuple] = []
    lock = threading.Lock()
    stop_load = threading.Event()
    killed = threading.Event()
    trickle = ch.serve(file_server, harness.mini_program_zip(), route="trickle/5")

    def send(mnp, version, pkg, intro="cluster kill"):
        """To the victim until it dies, then to the survivor; a request cut
        off by the kill is sent again to the survivor."""
        for node in ((victim, survivor) if not killed.is_set() else (survivor,)):
            try:
                task = node.api().create_version(mnp, version, pkg.url, intro=intro)
            except harness.TencentCloudSDKException as e:
                if node is victim and killed.is_set() and e.get_code() == "ClientNetworkError":
                    with lock:
                        cut_off.append((mnp, version, pkg.url, e.get_code()))
                    continue
                raise
            with lock:
                created.append(ch.Created(task, mnp, version, pkg.sha256, node.name, pkg.url))
            return
        pytest.fail(f"{mnp} {version} was answered by no node", pytrace=False)

    def loader(k):
        own = mnps[1 + k::3]
        for v in range(4):
            for i, mnp in enumerate(own):
                if stop_load.is_set():
                    return
                pkg = broken if (v + i) % 4 == 3 else heavy[(v + i) % 2]
                send(mnp, f"1.{v}.0", pkg)

    def slow():
        send(mnps[0], "2.0.0", trickle, intro="trickled download")

    loaders = [threading.Thread(target=loader, args=(k,), daemon=True) for k in range(3)]
    slow_thread = threading.Thread(target=slow, daemon=True)
    for t in loaders + [slow_thread]:
        t.start()
    try:
        # Kill once several tasks exist and the victim runs one of them.
        def enough():
            with lock:
                return len(created) >= 10
        held_task, lease_until, attempts = _freeze_holding(victim, c, owner, 30, enough)
        pending = c.status_counts()
        # From here a request the victim does not answer goes to the survivor.
        killed.set()
        victim.kill9()
        t_kill = time.monotonic()
        assert slow_thread.is_alive(), "the trickled download ended before the kill"
    finally:
        if not killed.is_set():  # failed before the kill: end the load
            stop_load.set()
        for t in loaders + [slow_thread]:
            t.join(60)
    assert not any(t.is_alive() for t in loaders + [slow_thread]), "client threads hang"

    # The victim's task stays its own until the lease runs out, then the
    # survivor finishes it (after at most a lease, a poll and some slack).
    deadline = t_kill + LEASE_SECS + WORKER_POLL_SECS + 10
    while True:
        row = c.poller.query(f"SELECT status, coalesce(lease_owner, ''), updated_at, attempts "
                             f"FROM tasks WHERE task_id = '{held_task}'")[0]
        if row[0] in ("30", "60"):
            break
        assert time.monotonic() < deadline, (
            f"task {held_task} of the killed node is still {row} "
            f"{time.monotonic() - t_kill:.1f}s after the kill (lease {LEASE_SECS}s)")
        time.sleep(0.05)
    t_taken = time.monotonic() - t_kill
    assert int(row[2]) > lease_until, (
        f"task {held_task} was finished at {row[2]}, before the killed node's lease "
        f"ran out at {lease_until}")
    assert int(row[3]) == attempts + 1, f"claimed {row[3]} times: {row}"

    total = len(created)
    ch.wait_finished(c, total, timeout=40)
    # The request cut off by the kill was sent again and got a TaskId.
    assert any(x.version == "2.0.0" and x.mnp_id == mnps[0] for x in created), (
        f"the trickled request got no TaskId: cut off {cut_off}")
    summary = ch.check_exactly_once(c, created, failing={broken.url}, allow_unanswered=True)
    assert summary["failed"] >= 1, summary
    ch.check_blobs(c, exact=False)
    assert survivor.running, survivor.log_tail()
    ch.record_result("sigkill", {
        "tasks": summary, "tasks_at_kill": pending, "held_by_victim": held_task,
        "requests_cut_off_and_resent": len(cut_off),
        "seconds_kill_to_takeover_done": round(t_taken, 2), "lease_secs": LEASE_SECS})


def test_node_start_leaves_other_nodes_leases_alone(make_cluster, file_server, heavy_package):
    """A node joining the cluster must not free the leases of the nodes
    already working: a task another live node is running stays its own
    (same lease, same attempt count) until that lease runs out. (The running
    node is frozen with SIGSTOP for under a second, well inside its 5 s
    lease, only so that it provably holds the task when the other starts.)
    Taking it over early makes two nodes process the task, and every such
    claim counts towards the 3 attempts after which a task is failed as
    "interrupted"."""
    c = make_cluster("join")
    first = c.new_node("--workers", "1", "--rate-limit", HIGH_LIMIT)
    heavy = ch.serve(file_server, heavy_package)
    api = first.api()
    mnp = api.create_mnp()
    owner, n = None, 0
    while not owner and n < 5:
        task = api.create_version(mnp, f"1.0.{n}", heavy.url)
        n += 1
        owner = _owner_of(c, task)
    assert owner, "the first node never ran its task"
    # Keep a task running on the first node: freeze it while it holds one.
    later = [api.create_version(mnp, f"1.1.{i}", heavy.url) for i in range(3)]
    held_task, lease_until, attempts = _freeze_holding(first, c, owner, 20)
    try:
        joined = c.new_node("--rate-limit", HIGH_LIMIT)
        time.sleep(0.5)
        row = c.poller.query(
            "SELECT status, coalesce(lease_owner, ''), coalesce(lease_until::text, 'NULL'), "
            f"attempts FROM tasks WHERE task_id = '{held_task}'")[0]
    finally:
        os.kill(first.proc.pid, signal.SIGCONT)
    now = int(time.time())
    assert now < lease_until, "the check came too late to mean anything"
    assert row == ("20", owner, str(lease_until), str(attempts)), (
        f"starting {joined.name} changed task {held_task}, leased by the running "
        f"{first.name} until {lease_until} (now {now}): expected status 20, owner {owner}, "
        f"lease_until {lease_until}, attempts {attempts}; got status {row[0]}, owner "
        f"{row[1] or 'none'}, lease_until {row[2]}, attempts {row[3]}")
    ch.wait_finished(c, n + len(later))
    assert int(c.sql("SELECT count(*) FROM versions")[0][0]) == n + len(later)


# ---------------------------------------------------------------------------
# Rate limit
# ---------------------------------------------------------------------------


def test_rate_limit_is_cluster_wide(make_cluster):
    """Both nodes at --rate-limit 10 share one budget per account and action
    through Redis: 60 DescribeMNPList of one account, split evenly over the
    nodes within well under a second, admit the bucket of 10 plus what
    refills meanwhile (10/s) -- not the ~20 two separate buckets would.

    Tolerance: a token bucket of 10/s with burst 10 admits at most
    10 + floor(10 * span) (+1 for the rounding at the window's edges), span
    being first request sent to last answer; the burst is kept under 0.8 s
    so that this bound (at most 18) stays below what per-node limiting would
    admit (each node's full bucket: 20)."""
    c = make_cluster("ratelimit")
    a = c.new_node("--rate-limit", "10")
    b = c.new_node("--rate-limit", "10")
    params = {"Offset": 0, "Limit": 10, "PlatformId": c.platform_id}
    got = ch.burst([a, b], "DescribeMNPList", params, 60)
    bound = ch.limit_bound(10, got["span_s"])
    got.update({"rate_limit": 10, "bound": bound, "per_node_limiting_would_admit_at_least": 20})
    ch.record_result("rate_limit_cluster_wide", got)
    assert got["span_s"] < 0.8, f"the burst took {got['span_s']}s; too slow to tell: {got}"
    assert 10 <= got["admitted"] <= bound, (
        f"two nodes at --rate-limit 10 admitted {got['admitted']} of 60 requests in "
        f"{got['span_s']}s; a shared bucket admits 10..{bound}: {got}")
    assert all(n > 0 for n in got["admitted_per_node"]), got
    # Another action has a bucket of its own, on both nodes.
    for node in (a, b):
        node.api().call("DescribeMNPCategory", {"PlatformId": c.platform_id})


def _start(node) -> str:
    """'' when the node came up, else why not."""
    try:
        node.start()
    except pytest.fail.Exception as e:
        return re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # no terminal colours
    return ""


def test_simultaneous_start_on_empty_database(make_cluster):
    """Nodes started at the same moment on an empty database, with the same
    MNPD_BOOTSTRAP_* (as the replicas of one deployment are): all come up,
    one bootstrap happened (one account, one key, one platform) and every
    node serves it. Three nodes at once on a bare database, then on
    databases migrated beforehand (`mnpd admin migrate`, as a deploy
    pipeline does), where the nodes reach the bootstrap together."""
    for attempt in range(4):
        c = make_cluster(f"together{attempt}")
        if attempt:
            subprocess.run([str(harness.mnpd_bin()), "admin", "--data-dir", str(c.root / "admin"),
                            "--database-url", c.database_url, "migrate"],
                           check=True, capture_output=True, env=harness.clean_env(), timeout=60)
        nodes = [c.new_node("--rate-limit", HIGH_LIMIT, start=False) for _ in range(3)]
        why = ch.run_threads([lambda n=n: _start(n) for n in nodes], timeout=60)
        failed = {n.name: w.replace("\n", " ")[-200:] for n, w in zip(nodes, why) if w}
        rows = {t: c.sql(f"SELECT count(*) FROM {t}")[0][0]
                for t in ("accounts", "api_keys", "platforms")}
        assert not failed, (
            f"{len(nodes)} nodes started at once on an empty database "
            f"({'migrated beforehand' if attempt else 'bare'}) with the same "
            f"MNPD_BOOTSTRAP_SECRET_ID/KEY/PLATFORM_ID: expected every node to serve (one "
            f"bootstraps, the others find the key); {len(failed)} exited instead: {failed}; "
            f"rows afterwards: {rows}")
        assert c.sql("SELECT count(*) FROM api_keys") == [("1",)]
        assert c.sql("SELECT count(*) FROM platforms") == [("1",)]
        assert c.sql("SELECT count(*) FROM accounts") == [("1",)]
        mnp = nodes[0].api().create_mnp()
        for n in nodes:
            listed = n.api().call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                                      "PlatformId": c.platform_id})["Data"]
            assert [i["MNPId"] for i in listed["DataList"]] == [mnp], n.name


# ---------------------------------------------------------------------------
# Packages of failed tasks
# ---------------------------------------------------------------------------


def _blob_names(cluster) -> set[str]:
    return {ch.BLOB_KEY_RE.match(k).group(2) for k in cluster.blob_keys()}


def _wait_until(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.1)


def test_failed_packages_are_collected_by_any_node(cluster, file_server):
    """A failed task's package leaves the bucket within seconds of the
    failure; one a node left behind (it died between failing the task and
    collecting) is collected by the other node's periodic sweep; and a
    package a version still uses is kept, whatever failed with it."""
    a, b = cluster.nodes
    api = a.api()
    mnp = api.create_mnp()
    broken = ch.serve(file_server, ch.broken_package())
    good = ch.serve(file_server, harness.mini_program_zip())

    # 1. Failed on a node: collected soon after, by that node's sweep.
    task = api.create_version(mnp, "1.0.0", broken.url)
    _wait_until("the broken package's task fails",
                lambda: api.describe_task(task)["TaskStatus"] == 30, 30)
    _wait_until("the failed task's package leaves the bucket",
                lambda: broken.sha256 not in _blob_names(cluster), 5)
    collected = cluster.sql("SELECT coalesce(package_collected_at, 0) FROM tasks "
                            f"WHERE task_id = '{task}'")
    assert collected[0][0] != "0", collected

    # 2. Left behind by a node that died: a failed task whose package was
    # never looked at, with only node b running. Its periodic sweep (every
    # 5 s) collects it.
    a.stop()
    orphan = harness.zip_bytes({"app.json": '{"pages": ["p/i"]}', "note.txt": uuid.uuid4().hex})
    orphan_sha = ch.sha256_hex(orphan)
    key = f"packages/blobs/{orphan_sha[:2]}/{orphan_sha}"
    r = requests.put(f"{cluster.services.s3_endpoint}/{cluster.bucket}/{key}", data=orphan,
                     timeout=10, proxies={"http": None, "https": None})
    assert r.status_code == 200, r.text
    insert_failed = (
        "INSERT INTO tasks (task_id, platform_id, mnp_id, mnp_version, file_url, intro, sha256, "
        "size, status, msg, create_user, created_at, updated_at) VALUES "
        "('{id}', '{p}', '{m}', '{v}', 'http://gone/p.zip', 'left behind', '{sha}', 1, 30, "
        "'the package is invalid', 'admin', 1, 1)")
    cluster.sql(insert_failed.format(id="2024010100000000001", p=cluster.platform_id, m=mnp,
                                     v="0.0.1", sha=orphan_sha))
    assert orphan_sha in _blob_names(cluster)
    _wait_until("node b collects the package node a left behind",
                lambda: orphan_sha not in _blob_names(cluster), 15)

    # 3. A package that a version uses stays, even when a task with the
    # same content failed.
    bapi = b.api()
    ok = bapi.create_version(mnp, "2.0.0", good.url)
    _wait_until("the good package's task succeeds",
                lambda: bapi.describe_task(ok)["TaskStatus"] == 60, 30)
    cluster.sql(insert_failed.format(id="2024010100000000002", p=cluster.platform_id, m=mnp,
                                     v="0.0.2", sha=good.sha256))
    _wait_until("node b looks at the failed task",
                lambda: cluster.sql("SELECT coalesce(package_collected_at, 0) FROM tasks "
                                    "WHERE task_id = '2024010100000000002'")[0][0] != "0", 15)
    assert good.sha256 in _blob_names(cluster)
    ch.check_blobs(cluster, exact=True)
