"""Gradual releases and the host update API (docs/host-apps.md), through a
host simulator that uses only HTTP (clients/python/mnpd_host.py) and the
official SDK's CommonClient for mnpd's own actions (API version
2026-12-01, same endpoint and credentials).

Each test runs on a platform of its own account."""

from __future__ import annotations

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

import harness
import test_sensitive_apis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
import mnpd_host  # noqa: E402
import mnpd_package_verify  # noqa: E402

EXT_VERSION = "2026-12-01"
APP_KEY = "com.example.superapp"
DEVICES = 10_000


class Grey(test_sensitive_apis.Tenant):
    """An account with a platform, a host application with a package name,
    a mini program with version 1.0.0 online and 1.1.0 approved."""

    def __init__(self, server, packages):
        self.server = server
        self.creds = server.create_account()
        platform = server.create_platform(self.creds.secret_id)
        self.api = server.api(self.creds, platform["PlatformId"])
        self.platform_id = platform["PlatformId"]
        self.team_id = platform["TeamId"]
        hp = HttpProfile(protocol=server.scheme, endpoint=server.endpoint, reqMethod="POST")
        self.ext = CommonClient("tcmpp", EXT_VERSION,
                                credential.Credential(self.creds.secret_id, self.creds.secret_key),
                                harness.REGION, profile=ClientProfile(httpProfile=hp))
        self.application = self.app()
        self.call("ModifyApplicationAppKey", ApplicationId=self.application, AndroidAppKey=APP_KEY)
        self.mnp = self.api.create_mnp()
        self.v1 = test_sensitive_apis.release(self, packages, self.mnp, [self.application])
        self.v2 = self.approved(packages, "1.1.0")
        self.host = mnpd_host.MnpdHost(server.url, self.platform_id, self.application, APP_KEY)

    def approved(self, packages, version):
        task = self.api.create_version(self.mnp, version, packages.mini_program, intro="grey")
        assert self.api.wait_task(task)["TaskStatus"] == harness.TASK_SUCCEEDED
        stages = {r["Phase"]: r for r in self.call("DescribeMNPAllStageVersions", MNPId=self.mnp)["Data"]}
        vid = stages["Develop"]["MNPVersionId"]
        self.call("CreateMNPApproval", MNPVersionId=vid, ApplyAction="submit")
        stages = {r["Phase"]: r for r in self.call("DescribeMNPAllStageVersions", MNPId=self.mnp)["Data"]}
        self.call("ProcessMNPApproval", ApprovalNo=stages["Platform"]["ApprovalNo"],
                  ApprovalItems=[{"AppId": self.application, "ApprovalResult": 3}])
        return vid

    def grey(self, action, **params):
        out = self.ext.call_json(action, {"PlatformId": self.platform_id, **params})
        resp = out["Response"]
        assert "Error" not in resp, resp
        return resp

    def grey_fails(self, code, action, *fragments, **params):
        return harness.expect_error(
            lambda: self.ext.call_json(action, {"PlatformId": self.platform_id, **params}),
            code, *fragments)

    def versions_of(self, devices, current=None):
        """The version each device is offered (None: nothing)."""
        def one(d):
            answer = self.host.check(self.mnp, d, current)
            return answer["package"]["mnpVersionId"] if answer["package"] else None
        with ThreadPoolExecutor(8) as pool:
            return dict(zip(devices, pool.map(one, devices)))


@pytest.fixture
def grey(server, packages):
    return Grey(server, packages)


def devices(n=DEVICES, tag="dev"):
    return [f"{tag}-{i:05d}" for i in range(n)]


def test_a_rollout_reaches_its_share_grows_without_flipping_and_halts(grey):
    fleet = devices()
    started = grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=10,
                        DeviceIds=["whitelisted-phone"])["Rollout"]
    assert started["State"] == "active" and started["Percentage"] == 10.0
    assert started["BaseMNPVersionId"] == grey.v1 and started["MNPVersionId"] == grey.v2
    at10 = grey.versions_of(fleet)
    share = sum(v == grey.v2 for v in at10.values()) / DEVICES
    print(f"share at 10 %: {share:.4f}")
    assert abs(share - 0.10) <= 0.02, share
    # The cohort function is the documented one.
    for d in fleet[:200]:
        expected = grey.v2 if mnpd_host.cohort(grey.mnp, d) < 100 else grey.v1
        assert at10[d] == expected, d
    assert set(at10.values()) == {grey.v1, grey.v2}
    # The same device always gets the same answer.
    again = grey.versions_of(fleet[:1000])
    assert all(again[d] == at10[d] for d in fleet[:1000])
    assert grey.versions_of(["whitelisted-phone"])["whitelisted-phone"] == grey.v2
    # Growing keeps every device that had it.
    grey.grey("ModifyGradualRelease", MNPId=grey.mnp, Percentage=50)
    at50 = grey.versions_of(fleet)
    share50 = sum(v == grey.v2 for v in at50.values()) / DEVICES
    print(f"share at 50 %: {share50:.4f}")
    assert abs(share50 - 0.50) <= 0.02, share50
    assert all(at50[d] == grey.v2 for d, v in at10.items() if v == grey.v2), "a device flipped back"
    # Halting returns everyone to the previous version.
    halted = grey.grey("HaltGradualRelease", MNPId=grey.mnp, Reason="crash on start")["Rollout"]
    assert halted["State"] == "halted" and halted["HaltReason"] == "crash on start"
    after = grey.versions_of(fleet[:2000], current=grey.v2)
    assert set(after.values()) == {grey.v1}
    answer = grey.host.check(grey.mnp, fleet[0], grey.v2)
    assert answer["status"] == "update" and answer["channel"] == "online"


def test_whitelisted_devices_get_it_at_zero_and_download_a_matching_package(grey):
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=0, DeviceIds=["qa-1", "qa-2"])
    answers = {d: grey.host.check(grey.mnp, d) for d in ["qa-1", "qa-2", "someone"]}
    assert answers["qa-1"]["package"]["mnpVersionId"] == grey.v2
    assert answers["qa-1"]["channel"] == "gradual" and answers["qa-1"]["rolloutId"]
    assert answers["someone"]["package"]["mnpVersionId"] == grey.v1
    assert answers["someone"]["channel"] == "online" and answers["someone"]["rolloutId"] is None
    assert answers["qa-1"]["cohort"] == mnpd_host.cohort(grey.mnp, "qa-1")
    data = grey.host.download(answers["qa-1"])
    assert len(data) == answers["qa-1"]["package"]["size"]
    # A package that does not match what was offered is refused.
    for field, value in [("sha256", "0" * 64), ("size", answers["qa-1"]["package"]["size"] + 1)]:
        forged = {**answers["qa-1"], "package": {**answers["qa-1"]["package"], field: value}}
        with pytest.raises(mnpd_host.Refused):
            grey.host.download(forged)
    # Its policy is the mini program's, as beside the package.
    assert set(answers["qa-1"]["policy"]) == {"domains", "sensitiveApis"}
    # The device on the version is told it is current, without a URL.
    current = grey.host.check(grey.mnp, "qa-1", grey.v2)
    assert current["status"] == "current" and current["package"]["url"] is None
    # Listing more devices, then removing one.
    grey.grey("ModifyGradualRelease", MNPId=grey.mnp, AddDeviceIds=["qa-3"], RemoveDeviceIds=["qa-2"])
    got = grey.versions_of(["qa-2", "qa-3"])
    assert got == {"qa-2": grey.v1, "qa-3": grey.v2}


def test_conditional_checks_answer_304_until_the_release_changes(grey):
    base = f"{grey.server.url}host/v1/{grey.platform_id}/{grey.application}/{grey.mnp}"
    headers = {"X-Mnpd-App-Key": APP_KEY}
    s = requests.Session()
    s.trust_env = False
    first = s.get(base, params={"deviceId": "d-1", "currentVersionId": grey.v1}, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "current"
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', etag)
    same = s.get(base, params={"deviceId": "d-1", "currentVersionId": grey.v1},
                 headers={**headers, "If-None-Match": etag})
    assert same.status_code == 304 and same.headers["ETag"] == etag and not same.content
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100)
    changed = s.get(base, params={"deviceId": "d-1", "currentVersionId": grey.v1},
                    headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["status"] == "update"
    assert changed.headers["ETag"] != etag


def test_an_update_answer_is_revalidated_only_while_its_url_is_valid(server_factory, packages):
    # URLs valid for 4 s: an update answer's ETag must change before its
    # URL expires, or a host revalidating it would keep a dead URL.
    grey = Grey(server_factory.new("--package-url-ttl", "4"), packages)
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100)
    base = f"{grey.server.url}host/v1/{grey.platform_id}/{grey.application}/{grey.mnp}"
    headers = {"X-Mnpd-App-Key": APP_KEY}
    s = requests.Session()
    s.trust_env = False

    def ask(current, etag=None):
        return s.get(base, params={"deviceId": "d-1", "currentVersionId": current},
                     headers={**headers, **({"If-None-Match": etag} if etag else {})})

    first = ask(grey.v1)
    assert first.status_code == 200 and first.json()["status"] == "update"
    expires = int(re.search(r"expires=(\d+)", first.json()["package"]["url"]).group(1))
    on_it = ask(grey.v2)
    assert on_it.json()["status"] == "current"
    started = time.time()
    while True:
        again = ask(grey.v1, first.headers["ETag"])
        if again.status_code == 200:
            break
        assert again.status_code == 304
        assert time.time() < expires, "a 304 kept a URL past its expiry"
        assert time.time() - started < 10
        time.sleep(0.2)
    renewed = int(re.search(r"expires=(\d+)", again.json()["package"]["url"]).group(1))
    assert renewed > expires and again.headers["ETag"] != first.headers["ETag"]
    # An answer without a URL keeps its ETag.
    assert ask(grey.v2, on_it.headers["ETag"]).status_code == 304


def test_failed_installs_past_the_threshold_halt_the_release_by_themselves(grey):
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100,
              FailureThreshold=10, MinSample=20)
    ok = [{"deviceId": f"ok-{i}", "mnpId": grey.mnp, "mnpVersionId": grey.v2, "event": "installed"}
          for i in range(16)]
    # Below the sample: nothing happens, whatever the rate.
    assert grey.host.report_batch(ok) == {"accepted": 16, "ignored": 0}
    grey.host.report("bad-0", grey.mnp, grey.v2, "failed", "white screen")
    grey.host.report("bad-1", grey.mnp, grey.v2, "failed", "white screen")
    assert grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]["State"] == "active"
    # Reports about versions not offered are counted apart, not against the release.
    assert grey.host.report("x", grey.mnp, 999_999, "failed")["ignored"] == 1
    grey.host.report_batch([
        {"deviceId": "bad-2", "mnpId": grey.mnp, "mnpVersionId": grey.v2, "event": "failed", "reason": "out of memory"},
        {"deviceId": "bad-3", "mnpId": grey.mnp, "mnpVersionId": grey.v2, "event": "failed"},
    ])
    report = grey.grey("DescribeGradualRelease", MNPId=grey.mnp)
    rollout = report["Rollout"]
    assert rollout["State"] == "halted" and rollout["HaltedAutomatically"] is True
    assert "4 of 20 installs failed (20.0 %)" in rollout["HaltReason"], rollout
    counts = report["Counts"]
    assert (counts["Installed"], counts["Failed"], counts["FailureRate"]) == (16, 4, 20.0)
    assert counts["FailureReasons"][0] == {"Reason": "white screen", "Count": 2}
    assert [e["Action"] for e in report["Events"]] == ["started", "halted"]
    assert report["Events"][-1]["User"] == "mnpd"
    assert report["Adoption"] and {p["Event"] for p in report["Adoption"]} == {"installed", "failed"}
    # Everyone is back on the online version, and /metrics saw it.
    assert grey.versions_of(devices(50), current=grey.v2) == {d: grey.v1 for d in devices(50)}
    metrics = requests.get(f"{grey.server.url}metrics", timeout=10,
                           proxies={"http": None, "https": None}).text
    assert re.search(r'^mnpd_gradual_release_halts_total\{cause="failures"\} [1-9]', metrics, re.M), metrics
    assert re.search(r'^mnpd_install_reports_total\{event="failed"\} [1-9]', metrics, re.M)
    # The version's report over all of its life.
    whole = grey.grey("DescribeInstallReport", MNPVersionId=grey.v2)
    assert whole["MNPId"] == grey.mnp and whole["Counts"]["Installed"] == 16


def test_installs_that_complete_the_sample_halt_a_release_whose_failures_pass_the_threshold(grey):
    # Failures first, below the sample; the installs that complete it lower
    # the rate but leave it above the threshold.
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100,
              FailureThreshold=10, MinSample=20)
    grey.host.report_batch([{"deviceId": f"bad-{i}", "mnpId": grey.mnp, "mnpVersionId": grey.v2,
                             "event": "failed"} for i in range(4)])
    assert grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]["State"] == "active"
    grey.host.report_batch([{"deviceId": f"ok-{i}", "mnpId": grey.mnp, "mnpVersionId": grey.v2,
                             "event": "installed"} for i in range(16)])
    rollout = grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]
    assert rollout["State"] == "halted" and rollout["HaltedAutomatically"] is True, rollout
    assert "4 of 20 installs failed (20.0 %)" in rollout["HaltReason"], rollout


def test_pause_resume_promote_and_a_release_ends_it(grey, packages):
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=100)
    grey.grey("PauseGradualRelease", MNPId=grey.mnp)
    # Paused: devices on the version keep it, no other device gets it.
    assert grey.versions_of(["p-1"], current=grey.v2) == {"p-1": grey.v2}
    assert grey.versions_of(["p-2"], current=grey.v1) == {"p-2": grey.v1}
    grey.grey_fails("FailedOperation", "PauseGradualRelease", "already paused", MNPId=grey.mnp)
    grey.grey("ResumeGradualRelease", MNPId=grey.mnp)
    grey.grey_fails("FailedOperation", "ResumeGradualRelease", "not paused", MNPId=grey.mnp)
    assert grey.versions_of(["p-2"], current=grey.v1) == {"p-2": grey.v2}
    promoted = grey.grey("PromoteGradualRelease", MNPId=grey.mnp)["Rollout"]
    assert promoted["State"] == "promoted" and promoted["EndedAt"]
    online = grey.call("DescribeOnlineVersion", MNPId=grey.mnp)["Data"]["DataList"]
    assert [r["MNPVersionId"] for r in online] == [grey.v2]
    assert grey.versions_of(devices(20)) == {d: grey.v2 for d in devices(20)}
    # A new gradual release; a plain release of another version ends it.
    v3 = grey.approved(packages, "1.2.0")
    v4 = grey.approved(packages, "1.3.0")
    grey.grey("CreateGradualRelease", MNPVersionId=v3, Percentage=50)
    grey.call("ReleaseMNPVersion", MNPVersionId=v4)
    ended = grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]
    assert ended["State"] == "ended" and ended["MNPVersionId"] == v3
    listed = grey.grey("DescribeGradualReleaseList", MNPId=grey.mnp, Offset=0, Limit=1)
    assert listed["TotalCount"] == 2 and [r["MNPVersionId"] for r in listed["RolloutList"]] == [v3]
    second = grey.grey("DescribeGradualReleaseList", Offset=1, Limit=1)["RolloutList"]
    assert [r["MNPVersionId"] for r in second] == [grey.v2]


def test_refusals_name_what_to_send(grey, packages, server):
    unapproved_task = grey.api.create_version(grey.mnp, "1.5.0", packages.mini_program)
    assert grey.api.wait_task(unapproved_task)["TaskStatus"] == harness.TASK_SUCCEEDED
    stages = {r["Phase"]: r for r in grey.call("DescribeMNPAllStageVersions", MNPId=grey.mnp)["Data"]}
    grey.grey_fails("FailedOperation.OnlyReleasePlatformApprovedMNPVersion", "CreateGradualRelease",
                    "approved", MNPVersionId=stages["Develop"]["MNPVersionId"], Percentage=5)
    grey.grey_fails("FailedOperation.RecordNotFound", "PauseGradualRelease", "CreateGradualRelease",
                    MNPId=grey.mnp)
    grey.grey_fails("FailedOperation.RecordNotFound", "DescribeGradualRelease", "never had",
                    MNPId=grey.mnp)
    for bad in (-1, 100.5, 12.34):
        grey.grey_fails("InvalidParameterValue", "CreateGradualRelease", "Percentage",
                        MNPVersionId=grey.v2, Percentage=bad)
    grey.grey_fails("InvalidParameterValue", "CreateGradualRelease", "device id",
                    MNPVersionId=grey.v2, Percentage=5, DeviceIds=["has space"])
    grey.grey_fails("InvalidParameterValue", "CreateGradualRelease", "MinSample",
                    MNPVersionId=grey.v2, Percentage=5, MinSample=0)
    grey.grey_fails("UnknownParameter", "CreateGradualRelease", "Percent",
                    MNPVersionId=grey.v2, Percent=5)
    grey.grey_fails("InvalidParameterValue.InvalidMNPVersionId", "CreateGradualRelease",
                    MNPVersionId=987654321, Percentage=5)
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=20)
    grey.grey_fails("FailedOperation", "CreateGradualRelease", "already has gradual release",
                    MNPVersionId=grey.v2, Percentage=20)
    grey.grey_fails("InvalidParameterValue", "ModifyGradualRelease", "can only grow",
                    MNPId=grey.mnp, Percentage=10)
    grey.grey_fails("InvalidParameterValue.InvalidMNPId", "HaltGradualRelease",
                    MNPId="mpzzzzzzzzzzzzzz")
    grey.grey_fails("InvalidAction", "DescribeGradualReleases", MNPId=grey.mnp)
    # The host side: wrong key, unknown mini program, missing device.
    base = f"{server.url}host/v1/{grey.platform_id}/{grey.application}"
    s = requests.Session()
    s.trust_env = False
    assert s.get(f"{base}/{grey.mnp}", params={"deviceId": "d"},
                 headers={"X-Mnpd-App-Key": "com.evil"}).status_code == 401
    assert s.get(f"{base}/{grey.mnp}", params={"deviceId": "d"}).status_code == 401
    assert s.get(f"{base}/mpzzzzzzzzzzzzzz", params={"deviceId": "d"},
                 headers={"X-Mnpd-App-Key": APP_KEY}).status_code == 404
    missing = s.get(f"{base}/{grey.mnp}", headers={"X-Mnpd-App-Key": APP_KEY})
    assert missing.status_code == 400 and "deviceId" in missing.json()["error"]
    bad = s.post(f"{base}/reports", json={"reports": [{"deviceId": "d", "mnpId": grey.mnp,
                                                       "mnpVersionId": grey.v2, "event": "exploded"}]},
                 headers={"X-Mnpd-App-Key": APP_KEY})
    assert bad.status_code == 400 and "exploded" in bad.json()["error"]


def test_another_account_reaches_nothing(grey, server, packages):
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=10)
    stranger = Grey(server, packages)
    for action, params in [
        ("ModifyGradualRelease", {"MNPId": grey.mnp, "Percentage": 90}),
        ("PauseGradualRelease", {"MNPId": grey.mnp}),
        ("ResumeGradualRelease", {"MNPId": grey.mnp}),
        ("HaltGradualRelease", {"MNPId": grey.mnp}),
        ("PromoteGradualRelease", {"MNPId": grey.mnp}),
        ("DescribeGradualRelease", {"MNPId": grey.mnp}),
        ("DescribeGradualReleaseList", {"Offset": 0, "Limit": 10}),
        ("DescribeInstallReport", {"MNPVersionId": grey.v2}),
        ("CreateGradualRelease", {"MNPVersionId": grey.v2, "Percentage": 5}),
    ]:
        harness.expect_error(
            lambda: stranger.ext.call_json(action, {"PlatformId": grey.platform_id, **params}),
            "InvalidParameterValue.InvalidPlatformId")
        # On its own platform, our mini program and version are unknown.
        code = ("InvalidParameterValue.InvalidMNPVersionId" if "MNPVersionId" in params
                else "InvalidParameterValue.InvalidMNPId")
        if action != "DescribeGradualReleaseList":
            harness.expect_error(lambda: stranger.ext.call_json(action, {"PlatformId": stranger.platform_id, **params}), code)
    # Its host application cannot ask for our mini program either.
    assert requests.get(
        f"{server.url}host/v1/{grey.platform_id}/{stranger.application}/{grey.mnp}",
        params={"deviceId": "d"}, headers={"X-Mnpd-App-Key": APP_KEY},
        proxies={"http": None, "https": None}).status_code == 401
    assert grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]["Percentage"] == 10.0


def published_keys(grey):
    got = requests.get(f"{grey.server.url}.well-known/mnpd/package-signing-keys/{grey.platform_id}",
                       timeout=10, proxies={"http": None, "https": None})
    assert got.status_code == 200, got.text
    return got.json()["keys"]


def signed_by(keys):
    def verify(answer, package):
        return mnpd_package_verify.verify(keys, package["signature"], answer["platformId"],
                                          answer["mnpId"], package["version"], package["sha256"],
                                          package["size"])
    return verify


def test_every_offer_is_signed_and_verifies_through_a_key_rotation(grey):
    grey.grey("CreateGradualRelease", MNPVersionId=grey.v2, Percentage=50)
    keys = published_keys(grey)
    assert [k["KeyId"] for k in grey.grey("DescribePackageSigningKeys")["KeyList"]] == [
        k["keyId"] for k in keys]
    verify = signed_by(keys)
    host = mnpd_host.MnpdHost(grey.server.url, grey.platform_id, grey.application, APP_KEY,
                              verify_signature=verify)
    answers = [host.check(grey.mnp, f"s-{i}") for i in range(200)]
    assert {a["package"]["mnpVersionId"] for a in answers} == {grey.v1, grey.v2}
    assert all(verify(a, a["package"]) for a in answers)
    offered = {a["package"]["mnpVersionId"]: a for a in answers}
    for a in offered.values():
        host.download(a)
    # A tampered signature, size or version does not verify, and is refused.
    a = offered[grey.v2]
    sig = a["package"]["signature"]
    flipped = sig["signature"][:10] + ("A" if sig["signature"][10] != "A" else "B") + sig["signature"][11:]
    for forged in [{**a["package"], "signature": {**sig, "signature": flipped}},
                   {**a["package"], "size": a["package"]["size"] + 1},
                   {**a["package"], "version": "9.9.9"},
                   {**a["package"], "signature": {**sig, "keyId": "0" * 16}}]:
        assert not verify(a, forged), forged
        with pytest.raises(mnpd_host.Refused):
            host.download({**a, "package": forged})
    # Rotation: the old key stays published for the overlap, so what it
    # signed still verifies; new offers are signed with the new key.
    rotated = grey.grey("RotatePackageSigningKey", OverlapSeconds=3)
    new_id = rotated["Key"]["KeyId"]
    during = published_keys(grey)
    assert [k["keyId"] for k in during] == [new_id, sig["keyId"]]
    assert during[0]["notAfter"] is None and during[1]["notAfter"] is not None
    assert signed_by(during)(a, a["package"]), "signed by the old key, during the overlap"
    fresh = grey.host.check(grey.mnp, "s-after-rotation")
    assert fresh["package"]["signature"]["keyId"] == new_id
    assert signed_by(during)(fresh, fresh["package"])
    time.sleep(4)
    after = published_keys(grey)
    assert [k["keyId"] for k in after] == [new_id]
    assert not signed_by(after)(a, a["package"]), "the old key's overlap is over"
