"""1,000 concurrent requests of mixed actions against one embedded node
started with `--rate-limit 20` (the documented default, and the public
limit of CreateMNPVersion / DescribeMNPVersion).

96 client threads, each with its own keep-alive session, send raw TC3
requests signed here, as three accounts: A and B send most of the load
(enough that their busy actions are limited), C sends 12 of each action (at
most 20, a full bucket, so it must never be limited whatever A and B do).
The actions: DescribeMNPList, DescribeMNPDetail, DescribeMNPVersion,
DescribeMNPAllStageVersions, CreateMNP, CreateMNPVersion, and bad requests
(wrong signature, unknown action, malformed JSON, missing / unknown
parameter, unknown MNPId, malformed version number).

Checked: every answer is HTTP 200 application/json with the API 3.0
envelope, a UUID RequestId (all distinct) and, on error, a code the request
can have; the limiter is exact per account x action within what the
clients' clocks can tell (see `check_rate`); every TaskId ends at 60; the
server's RSS (sampled every 50 ms) stays bounded. Numbers go to
.results/load.json.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional

import requests

import faults_harness as fh
from faults_harness import DataDir, harness

RESULTS = "load.json"
RATE = 20                 # --rate-limit: tokens a second, and the burst
REQUESTS = 1000
THREADS = 96
RSS_BOUND_MIB = 300       # generous, for the debug build
SEED = 20240801

LIMITED = "RequestLimitExceeded"


@dataclass
class Account:
    name: str
    creds: harness.Credentials
    platform_id: str
    mnps: list             # mini programs with a version (read targets)
    tasks: list            # their TaskIds
    fresh: list            # mini programs without versions (CreateMNPVersion targets)


@dataclass
class Spec:
    """One request of the load and the codes its answer may carry (None:
    success). `limited`: it reaches the rate limiter, as `action`."""
    kind: str
    account: str
    action: str
    params: Optional[dict] = None
    body: Optional[bytes] = None
    wrong_key: bool = False
    expect: frozenset = frozenset({None})
    limited: bool = True


@dataclass
class Outcome:
    spec: Spec
    t0: float
    t1: float
    answer: Optional[fh.Answer] = None
    failure: Optional[str] = None


def setup_accounts(s: harness.MnpdServer, file_server, packages: list[str]) -> dict:
    """Accounts A (the bootstrap one), B and C, each with a platform, 4 mini
    programs with a version, and fresh mini programs for CreateMNPVersion."""
    accounts = {}
    fresh_counts = {"A": 90, "B": 90, "C": 16}
    for name in ("A", "B", "C"):
        if name == "A":
            creds, platform = s.creds, s.platform_id
        else:
            creds = s.create_account()
            platform = s.create_platform(creds.secret_id)["PlatformId"]
        api = s.api(creds, platform)
        mnps = [api.create_mnp() for _ in range(4)]
        tasks = [api.create_version(m, "1.0.0", packages[i % len(packages)])
                 for i, m in enumerate(mnps)]
        for t in tasks:
            assert api.wait_task(t)["TaskStatus"] == fh.TASK_SUCCEEDED
        fresh = [api.create_mnp() for _ in range(fresh_counts[name])]
        accounts[name] = Account(name, creds, platform, mnps, tasks, fresh)
    return accounts


def make_specs(accounts: dict, packages: list[str], rng: random.Random) -> list[Spec]:
    fresh = {n: list(a.fresh) for n, a in accounts.items()}

    def spec(kind: str, name: str) -> Spec:
        a = accounts[name]
        p = a.platform_id
        mnp = rng.choice(a.mnps)
        if kind == "list":
            return Spec(kind, name, "DescribeMNPList", {"PlatformId": p, "Offset": 0, "Limit": 20})
        if kind == "detail":
            return Spec(kind, name, "DescribeMNPDetail", {"PlatformId": p, "MNPId": mnp})
        if kind == "version":
            return Spec(kind, name, "DescribeMNPVersion",
                        {"PlatformId": p, "BusinessId": rng.choice(a.tasks)})
        if kind == "stages":
            return Spec(kind, name, "DescribeMNPAllStageVersions", {"PlatformId": p, "MNPId": mnp})
        if kind == "create_mnp":
            return Spec(kind, name, "CreateMNP", {
                "PlatformId": p, "MNPName": harness.unique_name("load"),
                "MNPType": harness.MNP_TYPE, "MNPIcon": "https://cdn.example.com/i.png",
                "MNPIntro": "load test", "MNPDesc": "a mini program made under load"})
        if kind == "create_version":
            return Spec(kind, name, "CreateMNPVersion", {
                "PlatformId": p, "MNPId": fresh[name].pop(), "MNPVersion": "1.0.0",
                "FileUrl": rng.choice(packages), "MNPVersionIntro": "made under load"})
        # Bad requests. Those refused before the limiter never count to it.
        if kind == "bad_signature":
            return Spec(kind, name, "DescribeMNPList", {"PlatformId": p}, wrong_key=True,
                        expect=frozenset({"AuthFailure.SignatureFailure"}), limited=False)
        if kind == "unknown_action":
            return Spec(kind, name, "DescribeMNPListAll", {"PlatformId": p},
                        expect=frozenset({"InvalidAction"}), limited=False)
        if kind == "bad_json":
            return Spec(kind, name, "DescribeMNPList", body=b'{"PlatformId": ',
                        expect=frozenset({"InvalidParameter"}), limited=False)
        if kind == "missing_param":
            return Spec(kind, name, "DescribeMNPDetail", {"PlatformId": p},
                        expect=frozenset({"InvalidParameterValue.ExistMismatchParameterType"}))
        if kind == "unknown_param":
            return Spec(kind, name, "DescribeMNPList", {"PlatformId": p, "Offset": 0, "Colour": 1},
                        expect=frozenset({"UnknownParameter"}))
        if kind == "unknown_mnp":
            return Spec(kind, name, "DescribeMNPDetail", {"PlatformId": p,
                                                          "MNPId": "mp0000000000000x"},
                        expect=frozenset({"InvalidParameterValue.InvalidMNPId"}))
        if kind == "bad_version":
            return Spec(kind, name, "CreateMNPVersion", {
                "PlatformId": p, "MNPId": mnp, "MNPVersion": "2.0",
                "FileUrl": packages[0], "MNPVersionIntro": "bad number"},
                        expect=frozenset({"InvalidParameterValue.InvalidMNPVersion"}))
        raise AssertionError(kind)

    bad_kinds = ["bad_signature", "unknown_action", "bad_json", "missing_param",
                 "unknown_param", "unknown_mnp", "bad_version"]
    # C: 12 of each action and 2 of each bad kind: never more than 20 (one
    # full bucket) per action, so C must never be limited.
    specs = [spec(k, "C") for k in ("list", "detail", "version", "stages", "create_mnp",
                                    "create_version") for _ in range(12)]
    specs += [spec(k, "C") for k in bad_kinds for _ in range(2)]
    weights = {"list": 30, "detail": 20, "version": 15, "stages": 12, "create_mnp": 6,
               "create_version": 10, "bad": 7}
    kinds, w = zip(*weights.items())
    while len(specs) < REQUESTS:
        k = rng.choices(kinds, w)[0]
        if k == "bad":
            k = rng.choice(bad_kinds)
        specs.append(spec(k, rng.choice("AB")))
    for s in specs:
        if s.limited:
            s.expect = s.expect | {LIMITED}
    rng.shuffle(specs)
    return specs


def run_load(s: harness.MnpdServer, accounts: dict, specs: list[Spec]) -> list[Outcome]:
    work: queue.Queue = queue.Queue()
    for sp in specs:
        work.put(sp)
    barrier = threading.Barrier(THREADS)
    results: list[Outcome] = []
    lock = threading.Lock()

    def client():
        c = fh.Client(s, timeout=60)
        # Open the connection first (/healthz is not limited).
        assert c.session.get(f"http://{s.endpoint}/healthz", timeout=30).status_code == 200
        barrier.wait(60)
        mine = []
        while True:
            try:
                sp = work.get_nowait()
            except queue.Empty:
                break
            acct = accounts[sp.account]
            t0 = time.monotonic()
            try:
                a = c.post(sp.action, sp.params, body=sp.body, creds=acct.creds,
                           secret_key="wrong-secret-key" if sp.wrong_key else None)
                mine.append(Outcome(sp, a.t0, a.t1, answer=a))
            except requests.RequestException as e:
                mine.append(Outcome(sp, t0, time.monotonic(), failure=repr(e)))
        c.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "client threads still running after 120 s"
    return results


def check_rate(outcomes: list[Outcome]) -> dict:
    """Per account x action, with each request's admission somewhere in
    [t0, t1] (the client's send and receive times):

    upper: a token bucket of RATE a second and burst RATE admits at most
      RATE (full bucket) + RATE * W (refill) in any W seconds, plus 1 for
      rounding at the edges. For W = 1: requests certainly inside [a, a+1)
      (t0 >= a, t1 < a+1) that were admitted are at most 2*RATE + 1, for a
      taken at every request's t0. Over the whole run: admitted <= RATE +
      RATE * (last t1 - first t0) + 1.
    lower: the bucket starts full, so the first min(sent, RATE) are
      admitted. And between the first refusal F and the last one L the
      bucket is empty at both ends, so every token that refills in between
      is used, unless the bucket overflows (it cannot while requests keep
      coming faster than it refills: no gap of a second): the admitted
      requests that may lie between them (t1 > F.t0 and t0 < L.t1) are at
      least RATE * (L.t0 - F.t1) - 1.
    """
    by_key = defaultdict(list)
    for o in outcomes:
        if o.spec.limited and o.answer is not None:
            by_key[(o.spec.account, o.spec.action)].append(o)
    report = {}
    problems = []
    for key, os_ in sorted(by_key.items()):
        os_.sort(key=lambda o: o.t0)
        admitted = [o for o in os_ if o.answer.code != LIMITED]
        refused = [o for o in os_ if o.answer.code == LIMITED]
        first_t0, last_t1 = os_[0].t0, max(o.t1 for o in os_)
        first_t1 = min(o.t1 for o in os_)
        window_max = 0
        for start in (o.t0 for o in admitted):
            n = sum(1 for o in admitted if o.t0 >= start and o.t1 < start + 1.0)
            window_max = max(window_max, n)
        upper_total = RATE + math.floor(RATE * (last_t1 - first_t0)) + 1
        gaps = [b.t0 - a.t0 for a, b in zip(os_, os_[1:])]
        name = f"{key[0]}:{key[1]}"
        if window_max > 2 * RATE + 1:
            problems.append(f"{name}: {window_max} admitted within one second (> {2 * RATE + 1})")
        if len(admitted) > upper_total:
            problems.append(f"{name}: {len(admitted)} admitted in {last_t1 - first_t0:.2f}s "
                            f"(> {upper_total})")
        if len(admitted) < min(len(os_), RATE):
            problems.append(f"{name}: only {len(admitted)} of the first {len(os_)} admitted "
                            f"from a full bucket of {RATE}")
        lower_total = None
        if len(refused) >= 2 and max(gaps, default=0) < 1.0:
            f = min(refused, key=lambda o: o.t1)
            last = max(refused, key=lambda o: o.t0)
            lower_total = math.floor(RATE * (last.t0 - f.t1)) - 1
            between = sum(1 for o in admitted if o.t1 > f.t0 and o.t0 < last.t1)
            if between < lower_total:
                problems.append(f"{name}: {between} admitted between the first and the last "
                                f"refusal, but the bucket refilled {lower_total} tokens")
        report[name] = {"sent": len(os_), "admitted": len(admitted), "refused": len(refused),
                        "span_s": round(last_t1 - first_t0, 3),
                        "max_admitted_in_1s": window_max,
                        "upper_bound": upper_total,
                        "refilled_between_refusals_lower_bound": lower_total}
    assert not problems, "rate limiting is not exact:\n" + "\n".join(problems)
    return report


def test_1000_concurrent_mixed_requests(factory, file_server):
    packages = [file_server.file_url(file_server.add(fh.unique_package(f"load-{i}")))
                for i in range(4)]
    setup = factory.new("--rate-limit", "100000")
    accounts = setup_accounts(setup, file_server, packages)
    assert setup.stop() == 0
    # A fresh process: fresh buckets, and a peak RSS of the load alone.
    s = factory.restart(setup, "--rate-limit", str(RATE))
    dd = DataDir(s.data_dir)
    pid = s.proc.pid
    specs = make_specs(accounts, packages, random.Random(SEED))
    assert len(specs) == REQUESTS

    time.sleep(1.0)
    idle_before = fh.proc_status(pid)
    with fh.RssSampler(pid, 0.05) as rss:
        outcomes = run_load(s, accounts, specs)
        fh.wait_settled(dd, timeout=60, server=s)
    time.sleep(1.0)
    idle_after = fh.proc_status(pid)
    assert s.running, f"mnpd died under load: {s.log_tail()}"

    # -- every answer well-formed -------------------------------------------------
    assert len(outcomes) == REQUESTS
    failures = [(o.spec.kind, o.failure) for o in outcomes if o.failure]
    assert not failures, f"requests without an answer: {failures[:5]}"
    known = fh.known_codes()
    bad = []
    for o in outcomes:
        a = o.answer
        if a.problems():
            bad.append((o.spec.kind, a.problems(), a.text[:200]))
        elif a.code is not None and a.code not in known:
            bad.append((o.spec.kind, f"unknown code {a.code}"))
        elif a.code not in o.spec.expect:
            bad.append((o.spec.kind, o.spec.account, a.code, a.message[:200]))
    assert not bad, f"{len(bad)} unexpected answers: {bad[:8]}"
    rids = [o.answer.response["RequestId"] for o in outcomes]
    assert len(set(rids)) == len(rids), "a RequestId was answered twice"
    for o in outcomes:
        if o.answer.code is None and o.spec.kind == "create_version":
            assert harness.TASK_ID_RE.match(o.answer.response["Data"]["TaskId"]), o.answer
        if o.answer.code is None and o.spec.kind == "create_mnp":
            assert harness.MNP_ID_RE.match(o.answer.response["Data"]["ResourceId"]), o.answer

    # -- rate limits ------------------------------------------------------------------
    rate = check_rate(outcomes)
    c_limited = [o.spec.kind for o in outcomes
                 if o.spec.account == "C" and o.answer.code == LIMITED]
    assert not c_limited, (f"account C never exceeded a full bucket, yet was limited "
                           f"({Counter(c_limited)}): the buckets are not per account x action")
    limited = Counter(f"{o.spec.account}:{o.spec.action}" for o in outcomes
                      if o.answer.code == LIMITED)
    assert sum(limited.values()) > 0, "nothing was limited: the load did not test the limiter"

    # -- no task lost -------------------------------------------------------------------
    task_ids = [o.answer.response["Data"]["TaskId"] for o in outcomes
                if o.spec.kind == "create_version" and o.answer.code is None]
    setup_tasks = [t for a in accounts.values() for t in a.tasks]
    ended = fh.check_tasks_ended(dd, task_ids + setup_tasks)
    assert ended["succeeded"] == ended["tasks"] == len(task_ids) + len(setup_tasks), ended
    fh.check_versions_have_blobs(dd)

    # -- memory -------------------------------------------------------------------------
    peak_kib = max(rss.peak_kib, rss.hwm_kib)
    t_first = min(o.t0 for o in outcomes)
    t_last = max(o.t1 for o in outcomes)
    latencies = sorted(o.t1 - o.t0 for o in outcomes)
    codes = Counter(o.answer.code or "ok" for o in outcomes)
    result = {
        "requests": REQUESTS,
        "client_threads": THREADS,
        "accounts": 3,
        "rate_limit": RATE,
        "seconds": round(t_last - t_first, 3),
        "requests_per_second": round(REQUESTS / (t_last - t_first), 1),
        "latency_ms": {"p50": round(latencies[len(latencies) // 2] * 1000, 1),
                       "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
                       "max": round(latencies[-1] * 1000, 1)},
        "codes": dict(codes),
        "kinds": dict(Counter(o.spec.kind for o in outcomes)),
        "limited_per_key": dict(limited),
        "rate_per_key": rate,
        "tasks": {"created_under_load": len(task_ids), "lost": ended["lost"],
                  "succeeded": ended["succeeded"]},
        "rss_mib": {
            "idle_before": round(idle_before["VmRSS"] / 1024, 1),
            "peak_sampled": round(rss.peak_kib / 1024, 1),
            "peak_vmhwm": round(rss.hwm_kib / 1024, 1),
            "idle_after": round(idle_after["VmRSS"] / 1024, 1),
            "samples": len(rss.samples),
            "bound": RSS_BOUND_MIB,
        },
    }
    fh.record(RESULTS, "load", result)
    assert len(rss.samples) > 10, "the RSS sampler did not run"
    assert peak_kib < RSS_BOUND_MIB * 1024, (
        f"peak RSS {peak_kib / 1024:.0f} MiB is over {RSS_BOUND_MIB} MiB")
