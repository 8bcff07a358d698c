"""A node whose services go away: PostgreSQL restarted under load (answers
stay well-formed and quick, the same process recovers by itself, no task is
lost or finished twice), and a Redis that cannot be reached (the node serves
and limits in process)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import requests

import cluster_harness as ch
from cluster_harness import harness

# While PostgreSQL is down a request waits for a connection at most the
# pool's acquire timeout (5 s, PgOptions in mnpd-backend) before it answers;
# 3 s more for two busy cores.
MAX_ANSWER_SECS = 8.0
# After PostgreSQL accepts connections again the same process must answer
# normally within this.
RECOVERY_SECS = 10.0
# A restart as an operator does it, then an outage longer than the acquire
# timeout, during which requests must get an answer (an error) rather than
# wait for PostgreSQL.
OUTAGES = (("restart", 3.0), ("long outage", 7.0))
TRANSIENT_CODES = {"InternalError", "ResourceUnavailable"}


class Stream:
    """A steady stream of signed requests to one node: one thread per entry
    of `actions`, each sending one request every ~50 ms -- DescribeMNPList,
    or CreateMNPVersion of increasing versions of a mini program of its own
    -- and recording timings and what came back."""

    def __init__(self, node, actions: list[tuple[str, str]], pkg: ch.Served):
        self.node, self.pkg = node, pkg
        self.log: list[dict] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(action, mnp), daemon=True)
                        for action, mnp in actions]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout: float):
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "a request never came back"

    def _run(self, action: str, mnp: str):
        k = 0
        while not self.stop.is_set():
            k += 1
            if action == "DescribeMNPList":
                params = {"Offset": 0, "Limit": 10, "PlatformId": self.node.platform_id}
            else:
                params = {"MNPId": mnp, "MNPVersion": f"1.{k}.0", "FileUrl": self.pkg.url,
                          "PlatformId": self.node.platform_id,
                          "MNPVersionIntro": "sent during a PostgreSQL restart"}
            entry = {"action": action, "mnp": mnp, "version": params.get("MNPVersion"),
                     "t0": time.monotonic()}
            try:
                r = harness.tc3_post(self.node, action, params)
            except requests.RequestException as e:
                entry.update(kind="exception", detail=repr(e))
            else:
                entry.update(self._classify(r))
            entry["t1"] = time.monotonic()
            with self.lock:
                self.log.append(entry)
            time.sleep(0.05)

    @staticmethod
    def _classify(r: harness.RawResponse) -> dict:
        if r.status != 200:
            return {"kind": "http", "detail": f"HTTP {r.status}: {r.text[:200]}"}
        resp = r.body.get("Response") if isinstance(r.body, dict) else None
        if not isinstance(resp, dict) or not harness.UUID_RE.match(str(resp.get("RequestId"))):
            return {"kind": "bad", "detail": r.text[:300]}
        err = resp.get("Error")
        if err:
            return {"kind": "error", "code": err.get("Code"), "detail": err.get("Message")}
        return {"kind": "ok", "task_id": (resp.get("Data") or {}).get("TaskId")}

    def entries(self) -> list[dict]:
        with self.lock:
            return list(self.log)

    def good_for(self, secs: float, since: float) -> bool:
        """Every request answered after `since` is good, for `secs` now."""
        log = self.entries()
        last_bad = max((e["t1"] for e in log if e["kind"] != "ok"), default=since)
        return time.monotonic() - max(last_bad, since) >= secs


def test_postgres_restart_under_load(private_postgres, make_cluster, file_server):
    """PostgreSQL stops (fast shutdown: sessions are cut) and starts again
    while a node serves a steady stream of requests: once after ~3 s (a
    restart), once after 7 s (longer than the wait for a connection). Every
    answer is HTTP 200 within a few seconds; errors are InternalError or
    ResourceUnavailable with a message; the same node process answers
    normally within 10 s of PostgreSQL being back; every task created ends
    at 30 or 60, once.

    The PostgreSQL server is one of the test's own (initdb into a temporary
    folder): stopping it disturbs no other test of the machine's cluster."""
    c = make_cluster("outage", pg_admin_url=private_postgres.admin_url)
    node = c.new_node("--rate-limit", "100000")
    pid = node.proc.pid
    api = node.api()
    pkg = ch.serve(file_server, harness.mini_program_zip())
    actions = [("DescribeMNPList", ""), ("DescribeMNPList", ""),
               ("CreateMNPVersion", api.create_mnp()), ("CreateMNPVersion", api.create_mnp())]

    stream = Stream(node, actions, pkg)
    outages = []
    stream.start()
    try:
        time.sleep(1.5)
        for name, secs in OUTAGES:
            t_stop = time.monotonic()
            try:
                private_postgres.stop("fast")
                t_down = time.monotonic()
                time.sleep(secs)
            finally:
                # PostgreSQL runs again whatever happens.
                if not private_postgres.running():
                    private_postgres.start()
            t_up = time.monotonic()
            outages.append((name, t_stop, t_down, t_up))
            deadline = t_up + RECOVERY_SECS + MAX_ANSWER_SECS
            while time.monotonic() < deadline and not stream.good_for(2.5, t_up):
                time.sleep(0.1)
    finally:
        stream.join(MAX_ANSWER_SECS + 35)
    log = stream.entries()

    # Before the first outage: all good.
    before = [e for e in log if e["t1"] < outages[0][1]]
    assert before and all(e["kind"] == "ok" for e in before), [
        e for e in before if e["kind"] != "ok"][:3]
    # Every answer: HTTP 200, the envelope, quick; errors transient ones with
    # a message. No connection reset, no 5xx, no hang.
    for e in log:
        assert e["kind"] in ("ok", "error"), f"{e['action']} around an outage: {e}"
        assert e["t1"] - e["t0"] <= MAX_ANSWER_SECS, (
            f"{e['action']} took {e['t1'] - e['t0']:.1f}s to answer (at most "
            f"{MAX_ANSWER_SECS}s): {e}")
        if e["kind"] == "error":
            assert e["code"] in TRANSIENT_CODES, (
                f"{e['action']} answered {e['code']} around an outage: {e['detail']}")
            assert (e["detail"] or "").strip(), f"{e['code']} without a message"
    assert node.running and node.proc.pid == pid, "the node process did not survive"

    stats = {}
    for i, (name, t_stop, t_down, t_up) in enumerate(outages):
        t_next = outages[i + 1][1] if i + 1 < len(outages) else float("inf")
        during = [e for e in log if e["t0"] < t_up and e["t1"] > t_down]
        assert {e["action"] for e in during} == {"DescribeMNPList", "CreateMNPVersion"}, (
            f"{name}: no request of each action met PostgreSQL's absence")
        errors = [e for e in log if e["kind"] == "error" and t_stop <= e["t1"] < t_next]
        if name == "long outage":
            assert errors, (f"{name}: PostgreSQL was away {t_up - t_down:.1f}s and no request "
                            "got an error: they waited instead of answering")
        last_bad = max((e["t1"] for e in errors), default=t_up)
        assert last_bad - t_up <= RECOVERY_SECS, (
            f"{name}: still errors {last_bad - t_up:.1f}s after PostgreSQL was back: "
            f"{[e for e in errors if e['t1'] > t_up + RECOVERY_SECS][:3]}")
        after = [e for e in log if last_bad < e["t0"] and e["t1"] < t_next]
        assert {e["action"] for e in after} == {"DescribeMNPList", "CreateMNPVersion"}, (
            f"{name}: the stream moved on before both actions answered again")
        assert all(e["kind"] == "ok" for e in after), [e for e in after if e["kind"] != "ok"]
        stats[name] = {
            "postgres_down_s": round(t_up - t_down, 2),
            "requests_meeting_the_outage": len(during),
            "answers": dict(Counter(e.get("code") or e["kind"] for e in during)),
            "max_answer_s": round(max(e["t1"] - e["t0"] for e in during), 2),
            "normal_again_after_s": round(max(0.0, last_bad - t_up), 2),
        }

    # Every task created ends at 30 or 60, once.
    created = [ch.Created(e["task_id"], e["mnp"], e["version"], pkg.sha256, node.name, pkg.url)
               for e in log if e["kind"] == "ok" and e["action"] == "CreateMNPVersion"]
    total = int(c.sql("SELECT count(*) FROM tasks")[0][0])
    ch.wait_finished(c, total, timeout=ch.LEASE_SECS + ch.WORKER_POLL_SECS + 25)
    summary = ch.check_exactly_once(c, created, allow_unanswered=True, may_fail=True)
    api.version_succeeds(actions[2][1], "9.0.0", pkg.url)

    ch.record_result("postgres_restart", {
        "requests": len(log), "outages": stats, "tasks": summary,
        "answers": dict(Counter(e.get("code") or e["kind"] for e in log)),
    })


def test_redis_unreachable_node_serves_and_limits_per_node(make_cluster, file_server):
    """Both nodes' --redis-url points at a closed port: they start, serve
    (no InternalError) and still limit each on its own -- a burst of 60
    DescribeMNPList over the two nodes at --rate-limit 10 admits each
    node's bucket (10 plus what refills, see limit_bound), ~20 in all."""
    closed = harness.refused_port()
    c = make_cluster("noredis", redis_url=f"redis://127.0.0.1:{closed}")
    a = c.new_node("--rate-limit", "10")
    b = c.new_node("--rate-limit", "10")
    pkg = ch.serve(file_server, harness.mini_program_zip())

    mnp = a.api().create_mnp()
    done = b.api().version_succeeds(mnp, "1.0.0", pkg.url)
    assert done["TaskStatus"] == 60
    detail = a.api().call("DescribeMNPDetail", {"MNPId": mnp, "PlatformId": c.platform_id})
    assert detail["Data"]["MNPId"] == mnp

    params = {"Offset": 0, "Limit": 10, "PlatformId": c.platform_id}
    got = ch.burst([a, b], "DescribeMNPList", params, 60)
    bound = ch.limit_bound(10, got["span_s"])
    got.update({"rate_limit": 10, "bound_per_node": bound})
    ch.record_result("rate_limit_redis_unreachable", got)
    for name, n in zip((a.name, b.name), got["admitted_per_node"]):
        assert 10 <= n <= bound, (
            f"{name} at --rate-limit 10 without Redis admitted {n} of 30 requests in "
            f"{got['span_s']}s; its own bucket admits 10..{bound}: {got}")
    for node in (a, b):
        assert node.running, node.log_tail()
        assert "redis" in node.log_tail(20000).lower(), (
            f"{node.name} did not log that Redis is unreachable")
