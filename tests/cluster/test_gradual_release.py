"""A gradual release on two nodes sharing one database: each node keeps the
delivery state of a mini program in memory for `--host-state-ttl-ms`, so a
change made through one node must reach hosts asking the other within that
time, and install reports taken by different nodes must add up to the one
count that halts a failing release.

The flow (an account, a host application with an Android package name, a
mini program with 1.0.0 online and 1.1.0 approved) is the conformance
suite's `Grey` (tests/conformance/test_gradual_release.py), set up through
node A; node B gets its own host simulator and its own SDK client."""

from __future__ import annotations

import importlib.util
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

import cluster_harness as ch
from cluster_harness import harness

# The conformance module of the same name, loaded under another one (this
# file is `test_gradual_release` too).
_spec = importlib.util.spec_from_file_location(
    "conformance_gradual_release",
    Path(__file__).resolve().parents[1] / "conformance" / "test_gradual_release.py")
tg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tg)
mnpd_host = tg.mnpd_host

TTL_MS = 1000
# How long a node may take to show a change made on the other: the TTL,
# plus the time of the checks themselves on a loaded machine.
WITHIN_S = 3.0
FLEET = [f"fleet-{i:05d}" for i in range(2000)]


class Packages:
    """What `Grey` asks of the conformance suite's package fixture."""

    def __init__(self, fs):
        self.mini_program = ch.serve(fs, harness.mini_program_zip()).url


@pytest.fixture(scope="module")
def packages(file_server):
    return Packages(file_server)


class Side:
    """One node as hosts and the console see it."""

    def __init__(self, grey: tg.Grey, node: ch.ClusterNode):
        self.node = node
        self.grey_ = grey
        self.host = mnpd_host.MnpdHost(node.url, grey.platform_id, grey.application, tg.APP_KEY)
        hp = HttpProfile(protocol=node.scheme, endpoint=node.endpoint, reqMethod="POST")
        self.ext = CommonClient("tcmpp", tg.EXT_VERSION,
                                credential.Credential(grey.creds.secret_id, grey.creds.secret_key),
                                harness.REGION, profile=ClientProfile(httpProfile=hp))

    def act(self, action: str, **params) -> dict:
        resp = self.ext.call_json(action, {"PlatformId": self.grey_.platform_id, **params})["Response"]
        assert "Error" not in resp, (self.node.name, resp)
        return resp

    def offered(self, device: str, current=None):
        answer = self.host.check(self.grey_.mnp, device, current)
        return answer["package"]["mnpVersionId"] if answer["package"] else None

    def fleet(self, devices=FLEET, current=None) -> dict:
        with ThreadPoolExecutor(8) as pool:
            return dict(zip(devices, pool.map(lambda d: self.offered(d, current), devices)))

    def until(self, device: str, want, current=None) -> float:
        """Seconds until this node offers `want` to `device` (asked every
        50 ms); fails past WITHIN_S."""
        t0 = time.monotonic()
        while True:
            got = self.offered(device, current)
            spent = time.monotonic() - t0
            if got == want:
                return spent
            assert spent <= WITHIN_S, (
                f"{self.node.name} still offers {got} to {device} {spent:.2f} s after the change "
                f"(--host-state-ttl-ms {TTL_MS}); expected {want}")
            time.sleep(0.05)


@pytest.fixture
def pair(make_cluster, packages):
    c = make_cluster("grey")
    for _ in range(2):
        c.new_node("--rate-limit", "100000", "--host-state-ttl-ms", str(TTL_MS))
    grey = tg.Grey(c.nodes[0], packages)
    return grey, Side(grey, c.nodes[0]), Side(grey, c.nodes[1])


def expected(grey, permille: int) -> dict:
    return {d: grey.v2 if mnpd_host.cohort(grey.mnp, d) < permille else grey.v1 for d in FLEET}


def first_device(grey, lo: int, hi: int) -> str:
    """A device of the fleet whose cohort is in [lo, hi)."""
    return next(d for d in FLEET if lo <= mnpd_host.cohort(grey.mnp, d) < hi)


def test_both_nodes_offer_the_same_versions_and_follow_changes_made_on_the_other(pair):
    grey, a, b = pair
    early = first_device(grey, 0, 100)
    late = first_device(grey, 100, 300)
    # Both nodes remember the state before the release: what they must
    # give up within the TTL.
    assert a.offered(early) == b.offered(early) == grey.v1

    a.act("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=10)
    lag_start = b.until(early, grey.v2)
    at10_a, at10_b = a.fleet(), b.fleet()
    assert at10_a == expected(grey, 100)
    assert at10_b == at10_a, "the nodes offer different versions"
    share = sum(v == grey.v2 for v in at10_b.values()) / len(FLEET)
    assert abs(share - 0.10) <= 0.03, share

    # Grown through node B; node A follows within the TTL.
    grown = b.act("ModifyGradualRelease", MNPId=grey.mnp, Percentage=30)["Rollout"]
    assert grown["Percentage"] == 30.0
    assert b.offered(late) == grey.v2, "the node that made the change serves it at once"
    lag_grow = a.until(late, grey.v2)
    at30_a, at30_b = a.fleet(), b.fleet()
    assert at30_a == at30_b == expected(grey, 300)
    assert all(at30_a[d] == grey.v2 for d, v in at10_a.items() if v == grey.v2), \
        "a device flipped back"
    # Both nodes describe the same release.
    for side in (a, b):
        r = side.act("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]
        assert (r["State"], r["Percentage"], r["MNPVersionId"]) == ("active", 30.0, grey.v2)
    print(f"start seen by the other node after {lag_start:.2f} s, growth after {lag_grow:.2f} s")


def reports(side: Side, grey, tag: str, event: str, count: int, reason=None) -> dict:
    return side.host.report_batch([
        {"deviceId": f"{tag}-{i}", "mnpId": grey.mnp, "mnpVersionId": grey.v2, "event": event,
         **({"reason": reason} if reason else {})} for i in range(count)])


def totals(side: Side, grey) -> tuple:
    report = side.act("DescribeGradualRelease", MNPId=grey.mnp)
    c, r = report["Counts"], report["Rollout"]
    return r["State"], c["Installed"], c["Failed"]


def test_reports_taken_by_both_nodes_add_up_and_halt_the_release_together(pair):
    grey, a, b = pair
    a.act("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100,
          FailureThreshold=10, MinSample=20)
    device = FLEET[0]
    for side in (a, b):
        side.until(device, grey.v2, current=grey.v1)

    # Node A only hears of installs, node B only of failures: 16 + 2 is
    # below the sample of 20.
    assert reports(a, grey, "ok", "installed", 16) == {"accepted": 16, "ignored": 0}
    assert reports(b, grey, "bad", "failed", 2, "white screen") == {"accepted": 2, "ignored": 0}
    assert totals(a, grey) == totals(b, grey) == ("active", 16, 2)
    # Two more failures on B: 4 of 20 failed (20 % > 10 %), though B alone
    # saw 4 reports, too few to judge, and A saw no failure at all.
    assert reports(b, grey, "bad-more", "failed", 2, "white screen")["accepted"] == 2
    for side in (a, b):
        rollout = side.act("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]
        assert rollout["State"] == "halted" and rollout["HaltedAutomatically"] is True, rollout
        assert "4 of 20 installs failed" in rollout["HaltReason"], rollout
        assert totals(side, grey) == ("halted", 16, 4)

    # Everyone is back on 1.0.0: at once on B, which halted it, within the
    # TTL on A, whose state still held the release.
    assert b.offered(device, current=grey.v2) == grey.v1
    a.until(device, grey.v1, current=grey.v2)
    for side in (a, b):
        assert set(side.fleet(FLEET[:500], current=grey.v2).values()) == {grey.v1}


def test_installs_completing_the_sample_on_one_node_halt_what_failures_on_the_other_began(pair):
    """The same counts in the other order: the failures come first (to B),
    below the sample; the installs that complete it (to A) lower the rate
    but leave it above the threshold, so the release halts then."""
    grey, a, b = pair
    a.act("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100,
          FailureThreshold=10, MinSample=20)
    device = FLEET[0]
    for side in (a, b):
        side.until(device, grey.v2, current=grey.v1)
    reports(b, grey, "bad", "failed", 4, "out of memory")
    assert totals(a, grey) == ("active", 0, 4)
    reports(a, grey, "ok", "installed", 16)
    rollout = b.act("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]
    assert rollout["State"] == "halted" and rollout["HaltedAutomatically"] is True, rollout
    assert "4 of 20 installs failed" in rollout["HaltReason"], rollout
    assert a.offered(device, current=grey.v2) == grey.v1
    b.until(device, grey.v1, current=grey.v2)


def test_reports_of_a_release_started_on_the_other_node_count_at_once(pair):
    """A device offered the new version by A may report to B before B's
    remembered state shows the release: B counts the report anyway."""
    grey, a, b = pair
    device = FLEET[0]
    assert b.offered(device, current=grey.v1) == grey.v1
    a.act("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100)
    assert a.offered(device, current=grey.v1) == grey.v2
    assert reports(b, grey, "early", "installed", 3) == {"accepted": 3, "ignored": 0}
    assert totals(a, grey) == ("active", 3, 0)
    # A version neither offered nor offered before is still set apart.
    assert b.host.report("x", grey.mnp, 999_999, "failed")["ignored"] == 1
