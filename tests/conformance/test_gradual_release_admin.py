"""`mnpd admin rollout`: the operator's gradual release commands act on the
same releases as the API's actions (docs/deploy.md), as the account that
owns the platform, with the same rules; what they do is seen through
DescribeGradualRelease.

Each test runs on a platform of its own account (the `Grey` setup of
test_gradual_release.py: 1.0.0 online, 1.1.0 approved)."""

from __future__ import annotations

import subprocess

import pytest

import harness
from test_gradual_release import Grey


@pytest.fixture
def grey(server, packages):
    return Grey(server, packages)


def rollout(grey, *args):
    return grey.server.admin_json("rollout", *args, "--platform-id", grey.platform_id)


def test_start_grow_pause_resume_halt_and_show_as_the_operator(grey):
    started = rollout(grey, "start", "--mnp-version-id", str(grey.v2), "--percentage", "10",
                      "--device-id", "qa-1", "--device-id", "qa-2",
                      "--failure-threshold", "5", "--min-sample", "50")["Rollout"]
    assert started["State"] == "active" and started["Percentage"] == 10.0
    assert started["MNPVersionId"] == grey.v2 and started["BaseMNPVersionId"] == grey.v1
    assert started["DeviceIds"] == ["qa-1", "qa-2"]
    assert (started["FailureThreshold"], started["MinSample"]) == (5.0, 50)
    seen = grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]
    assert seen["RolloutId"] == started["RolloutId"] and seen["Percentage"] == 10.0
    assert seen["CreateUser"] == "operator"
    # The listed devices get it through the host API, as after the action.
    assert grey.versions_of(["qa-1"])["qa-1"] == grey.v2

    grown = rollout(grey, "grow", "--mnp-id", grey.mnp, "--percentage", "30")["Rollout"]
    assert grown["Percentage"] == 30.0
    assert grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]["Percentage"] == 30.0

    assert rollout(grey, "pause", "--mnp-id", grey.mnp)["Rollout"]["State"] == "paused"
    assert grey.grey("DescribeGradualRelease", MNPId=grey.mnp)["Rollout"]["State"] == "paused"
    assert rollout(grey, "resume", "--mnp-id", grey.mnp)["Rollout"]["State"] == "active"

    halted = rollout(grey, "halt", "--mnp-id", grey.mnp, "--reason", "crash on start")["Rollout"]
    assert halted["State"] == "halted" and halted["HaltReason"] == "crash on start"
    report = grey.grey("DescribeGradualRelease", MNPId=grey.mnp)
    assert report["Rollout"]["State"] == "halted"
    assert report["Rollout"]["HaltReason"] == "crash on start"
    assert report["Rollout"]["HaltedAutomatically"] is False
    events = report["Events"]
    assert [e["Action"] for e in events] == ["started", "modified", "paused", "resumed", "halted"]
    assert {e["User"] for e in events} == {"operator"}

    # `show` answers what DescribeGradualRelease answers.
    shown = rollout(grey, "show", "--mnp-id", grey.mnp)
    assert shown["Rollout"] == report["Rollout"]
    assert [e["Action"] for e in shown["Events"]] == [e["Action"] for e in events]
    assert shown["Counts"] == report["Counts"]


def admin_text(server, *args):
    """`mnpd admin` as a person runs it: without --json."""
    cmd = [str(harness.mnpd_bin()), "admin", "--data-dir", str(server.data_dir), *args]
    if harness.BACKEND == "cluster":
        cmd[2:2] = ["--database-url", harness.ClusterServices.get().database_url(server.data_dir)]
    cp = subprocess.run(cmd, capture_output=True, text=True, env=harness.clean_env(), timeout=30)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def test_the_text_output_reads_as_the_release(grey):
    line = admin_text(grey.server, "rollout", "start", "--platform-id", grey.platform_id,
                      "--mnp-version-id", str(grey.v2), "--percentage", "12.5", "--device-id", "qa-9")
    assert f"of {grey.mnp}: 1.1.0 (id {grey.v2}) active at 12.5 %" in line, line
    grey.host.report_batch([{"deviceId": "f-1", "mnpId": grey.mnp, "mnpVersionId": grey.v2,
                             "event": "failed", "reason": "white screen"}])
    admin_text(grey.server, "rollout", "halt", "--platform-id", grey.platform_id,
               "--mnp-id", grey.mnp, "--reason", "crash on start")
    shown = admin_text(grey.server, "rollout", "show", "--platform-id", grey.platform_id,
                       "--mnp-id", grey.mnp)
    assert "State       halted" in shown and "Percentage  12.5 %" in shown, shown
    assert "Devices     qa-9" in shown and "HaltReason  crash on start" in shown, shown
    assert "failed 1 (100.0 %)" in shown and "white screen" in shown, shown
    history = shown.split("History\n", 1)[1].splitlines()
    assert [h.split()[1] for h in history] == ["started", "halted"], history
    assert all("by operator" in h for h in history), history


def test_halt_without_a_reason_names_the_operator_and_promote_releases(grey):
    rollout(grey, "start", "--mnp-version-id", str(grey.v2), "--percentage", "50")
    halted = rollout(grey, "halt", "--mnp-id", grey.mnp)["Rollout"]
    assert halted["HaltReason"] == "halted by operator"
    # A halted release cannot grow: the service's rule, the command's refusal.
    refused = grey.server.admin("rollout", "grow", "--platform-id", grey.platform_id,
                                "--mnp-id", grey.mnp, "--percentage", "60", check=False)
    assert refused.returncode != 0 and "CreateGradualRelease" in refused.stderr, refused.stderr
    # A new release of the same version, promoted to everyone.
    again = rollout(grey, "start", "--mnp-version-id", str(grey.v2), "--percentage", "20")["Rollout"]
    assert again["RolloutId"] != halted["RolloutId"]
    promoted = rollout(grey, "promote", "--mnp-id", grey.mnp)["Rollout"]
    assert promoted["State"] == "promoted" and promoted["RolloutId"] == again["RolloutId"]
    online = grey.call("DescribeOnlineVersion", MNPId=grey.mnp)["Data"]["DataList"]
    assert [r["MNPVersionId"] for r in online] == [grey.v2]


def test_unknown_platform_and_mini_program_are_refused(grey):
    unknown = grey.server.admin("rollout", "show", "--platform-id", "TNOSUCHPLATFORM",
                                "--mnp-id", grey.mnp, check=False)
    assert unknown.returncode != 0 and "mnpd admin platform list" in unknown.stderr, unknown.stderr
    never = grey.server.admin("rollout", "show", "--platform-id", grey.platform_id,
                              "--mnp-id", grey.mnp, check=False)
    assert never.returncode != 0 and "never had a gradual release" in never.stderr, never.stderr
