"""Emulator controls (`--emulator`, docs/testing-with-mnpd.md): fault rules
and task control seen through the official SDK, and that every control acts
on the calling account only and exists only when asked for."""

from __future__ import annotations

import functools
import json
import subprocess
import time

import pytest
import requests

import harness
from harness import expect_error

PREFIX = "_mnpd/emulator"


class Controls:
    """The emulator control API as one account's key reaches it."""

    def __init__(self, server, creds):
        self.server = server
        self.auth = (creds.secret_id, creds.secret_key)

    def request(self, method: str, path: str, body=None) -> requests.Response:
        return requests.request(method, f"{self.server.url}{PREFIX}/{path}", json=body,
                                auth=self.auth, timeout=30, verify=self.server.verify)

    def ok(self, method: str, path: str, body=None) -> dict:
        r = self.request(method, path, body)
        assert r.status_code == 200, f"{method} {path}: HTTP {r.status_code} {r.text}"
        return r.json()

    def add_fault(self, **rule) -> str:
        return self.ok("POST", "faults", rule)["Fault"]["FaultId"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    factory = harness.ServerFactory(tmp_path_factory.mktemp("emulator"))
    server = factory.new("--emulator", "--rate-limit", "10000")
    yield server
    factory.stop_all()


@pytest.fixture(scope="module")
def other(emulator):
    """A second account with a platform of its own on the emulator server."""
    creds = emulator.create_account()
    platform = emulator.create_platform(creds.secret_id)
    return creds, emulator.api(creds, platform["PlatformId"])


@pytest.fixture
def controls(emulator):
    c = Controls(emulator, emulator.creds)
    yield c
    c.ok("DELETE", "faults")
    c.ok("PUT", "tasks", {"Mode": "immediate"})


def emulator_cli(server, *args) -> dict:
    """`mnpd admin --json emulator ...` against `server` with its key."""
    cp = subprocess.run(
        [str(harness.mnpd_bin()), "admin", "--json", "emulator",
         "--endpoint", server.url.rstrip("/"),
         "--secret-id", server.creds.secret_id,
         "--secret-key", server.creds.secret_key, *args],
        capture_output=True, text=True, env=harness.clean_env(), timeout=90)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)


def list_mnps(api) -> dict:
    return api.call("DescribeMNPList", {"PlatformId": api.platform_id, "Offset": 0, "Limit": 10})


# -- the gate ----------------------------------------------------------------


def test_controls_answer_404_without_the_flag(server):
    for method, path in [("GET", "faults"), ("POST", "faults"), ("POST", "reset"),
                         ("GET", ""), ("PUT", "tasks"), ("GET", "state"), ("PUT", "state"),
                         ("GET", "recording"), ("PUT", "recording"), ("DELETE", "recording"),
                         ("GET", "recording/status")]:
        r = Controls(server, server.creds).request(method, path, {})
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert "--emulator" in r.json()["Error"]["Message"], r.text


def test_cli_refuses_without_the_flag(server, tmp_path):
    fixture = tmp_path / "state.zip"
    fixture.write_bytes(b"PK")
    for command in (["faults", "list"], ["state", "export", str(tmp_path / "out.zip")],
                    ["state", "import", str(fixture)], ["recording", "start"],
                    ["recording", "download", str(tmp_path / "rec.jsonl")]):
        cp = subprocess.run(
            [str(harness.mnpd_bin()), "admin", "emulator", "--endpoint", server.url.rstrip("/"),
             "--secret-id", server.creds.secret_id, "--secret-key", server.creds.secret_key,
             *command],
            capture_output=True, text=True, env=harness.clean_env(), timeout=30)
        assert cp.returncode != 0, (command, cp.stdout)
        assert "start it with --emulator" in cp.stderr, (command, cp.stderr)


def test_fixture_needs_the_emulator(tmp_path):
    cp = subprocess.run(
        [str(harness.mnpd_bin()), "serve", "--data-dir", str(tmp_path / "data"),
         "--fixture", str(tmp_path / "state.zip")],
        capture_output=True, text=True, env=harness.clean_env(), timeout=30)
    assert cp.returncode != 0, cp.stdout
    assert "--emulator" in cp.stderr, cp.stderr


def test_controls_need_an_enabled_key(emulator):
    bare = requests.get(f"{emulator.url}{PREFIX}/faults", timeout=30)
    assert bare.status_code == 401, bare.text
    wrong = requests.get(f"{emulator.url}{PREFIX}/faults", timeout=30,
                         auth=(emulator.creds.secret_id, "not-the-key"))
    assert wrong.status_code == 401, wrong.text
    unknown = requests.get(f"{emulator.url}{PREFIX}/faults", timeout=30,
                           auth=("AKIDnobody", "x"))
    assert unknown.status_code == 401, unknown.text


def test_unknown_control_is_404(controls):
    r = controls.request("GET", "nothing-here")
    assert r.status_code == 404, r.text


# -- faults ------------------------------------------------------------------


def test_every_third_call_fails_with_the_injected_code(emulator, controls):
    api = emulator.api()
    controls.add_fault(Action="DescribeMNPList", EveryNth=3,
                       ErrorCode="FailedOperation", Message="rehearsed outage")
    for call in range(1, 7):
        if call % 3 == 0:
            expect_error(lambda: list_mnps(api), "FailedOperation", "rehearsed outage")
        else:
            list_mnps(api)
    # Other actions of the account are untouched.
    api.call("DescribeMNPCategory", {"PlatformId": api.platform_id})
    [rule] = controls.ok("GET", "faults")["Faults"]
    assert (rule["Calls"], rule["Fired"], rule["EveryNth"]) == (6, 2, 3), rule


def test_the_error_is_the_tencentcloud_envelope(emulator, controls):
    controls.add_fault(Action="DescribeMNPList", EveryNth=1, ErrorCode="InternalError")
    raw = harness.tc3_post(emulator, "DescribeMNPList",
                           {"PlatformId": emulator.platform_id, "Limit": 1})
    message = raw.assert_error("InternalError", "emulator")
    assert message


def test_unknown_codes_and_actions_are_refused(controls):
    r = controls.request("POST", "faults", {"Action": "DescribeMNPList", "EveryNth": 1,
                                            "ErrorCode": "Made.Up"})
    assert r.status_code == 400 and "Made.Up" in r.json()["Error"]["Message"], r.text
    r = controls.request("POST", "faults", {"Action": "NoSuchAction", "EveryNth": 1,
                                            "ErrorCode": "InternalError"})
    assert r.status_code == 400 and "NoSuchAction" in r.json()["Error"]["Message"], r.text
    r = controls.request("POST", "faults", {"Action": "DescribeMNPList", "Probability": 1.5,
                                            "LatencyMs": 5})
    assert r.status_code == 400, r.text
    assert controls.ok("GET", "faults")["Faults"] == []


def test_latency_delays_the_real_answer(emulator, controls):
    api = emulator.api()
    fault_id = controls.add_fault(Action="DescribeMNPList", EveryNth=1, LatencyMs=600)
    started = time.monotonic()
    resp = list_mnps(api)
    slow = time.monotonic() - started
    assert "TotalCount" in resp.get("Data", resp) or resp, resp
    assert slow >= 0.6, f"the answer came after {slow:.3f}s"
    controls.ok("DELETE", f"faults/{fault_id}")
    started = time.monotonic()
    list_mnps(api)
    assert time.monotonic() - started < 0.5


def test_removing_a_rule_stops_it(emulator, controls):
    api = emulator.api()
    fault_id = controls.add_fault(Action="DescribeMNPList", EveryNth=1,
                                  ErrorCode="RequestLimitExceeded")
    expect_error(lambda: list_mnps(api), "RequestLimitExceeded")
    controls.ok("DELETE", f"faults/{fault_id}")
    for _ in range(3):
        list_mnps(api)
    assert controls.request("DELETE", f"faults/{fault_id}").status_code == 404


def test_a_seed_repeats_the_same_failures(emulator, controls):
    api = emulator.api()

    def pattern():
        controls.add_fault(Action="DescribeMNPList", Probability=0.5, Seed=2024,
                           ErrorCode="FailedOperation")
        seen = []
        for _ in range(12):
            try:
                list_mnps(api)
                seen.append(False)
            except harness.TencentCloudSDKException as e:
                assert e.get_code() == "FailedOperation"
                seen.append(True)
        controls.ok("DELETE", "faults")
        return seen

    first = pattern()
    assert any(first) and not all(first), first
    assert pattern() == first


def test_another_account_is_untouched(emulator, controls, other):
    creds, other_api = other
    fault_id = controls.add_fault(Action="DescribeMNPList", EveryNth=1,
                                  ErrorCode="FailedOperation")
    for _ in range(3):
        list_mnps(other_api)
    theirs = Controls(emulator, creds)
    assert theirs.ok("GET", "faults")["Faults"] == []
    assert theirs.request("DELETE", f"faults/{fault_id}").status_code == 404
    theirs.ok("DELETE", "faults")
    expect_error(lambda: list_mnps(emulator.api()), "FailedOperation")


def test_cli_manages_fault_rules(emulator, controls):
    cli = functools.partial(emulator_cli, emulator)
    added = cli("faults", "add", "--action", "DescribeMNPDetail", "--every-nth", "2",
                "--error-code", "ResourceUnavailable")
    fault_id = added["Fault"]["FaultId"]
    assert [f["FaultId"] for f in cli("faults", "list")["Faults"]] == [fault_id]
    cli("faults", "remove", fault_id)
    cli("faults", "add", "--action", "DescribeMNPDetail", "--probability", "0.1",
        "--seed", "3", "--latency-ms", "10")
    assert cli("faults", "clear")["Removed"] == 1


# -- task control ------------------------------------------------------------


def stage_versions(api, mnp_id: str) -> list:
    return api.call("DescribeMNPAllStageVersions",
                    {"PlatformId": api.platform_id, "MNPId": mnp_id})["Data"]


def test_manual_mode_holds_a_task_until_advanced_to_60(emulator, controls, packages):
    api = emulator.api()
    assert controls.ok("PUT", "tasks", {"Mode": "manual"})["Mode"] == "manual"
    mnp_id = api.create_mnp()
    task_id = api.create_version(mnp_id, "1.0.0", packages.mini_program)
    for _ in range(8):
        assert api.describe_task(task_id)["TaskStatus"] in (1, 20)
        time.sleep(0.2)
    assert api.describe_task(task_id)["TaskStatus"] == 20
    held = controls.ok("GET", "tasks")["Held"]
    assert [t["TaskId"] for t in held] == [task_id], held
    assert stage_versions(api, mnp_id) == []
    ended = controls.ok("POST", f"tasks/{task_id}", {"TaskStatus": 60})
    assert (ended["TaskStatus"], ended["TaskMsg"]) == (60, "Success"), ended
    data = api.describe_task(task_id)
    assert (data["TaskStatus"], data["TaskMsg"]) == (60, "Success"), data
    [develop] = stage_versions(api, mnp_id)
    assert develop["MNPVersion"] == "1.0.0", develop
    assert controls.ok("GET", "tasks")["Held"] == []


def test_manual_mode_fails_a_task_with_the_given_message(emulator, controls, packages):
    api = emulator.api()
    controls.ok("PUT", "tasks", {"Mode": "manual"})
    mnp_id = api.create_mnp()
    # Advanced at once: the control waits for a worker to hold the task.
    task_id = api.create_version(mnp_id, "1.0.0", packages.mini_program)
    ended = controls.ok("POST", f"tasks/{task_id}",
                        {"TaskStatus": 30, "TaskMsg": "rehearsed: the package was rejected"})
    assert ended["TaskStatus"] == 30, ended
    data = api.describe_task(task_id)
    assert data["TaskStatus"] == 30, data
    assert data["TaskMsg"] == "rehearsed: the package was rejected", data
    assert stage_versions(api, mnp_id) == []
    # The version number is free again, as after a real failure.
    controls.ok("PUT", "tasks", {"Mode": "immediate"})
    api.version_succeeds(mnp_id, "1.0.0", packages.mini_program)


def test_leaving_manual_mode_runs_the_held_tasks(emulator, controls, packages):
    api = emulator.api()
    controls.ok("PUT", "tasks", {"Mode": "manual"})
    mnp_id = api.create_mnp()
    task_id = api.create_version(mnp_id, "1.0.0", packages.mini_program)
    deadline = time.monotonic() + 10
    while not controls.ok("GET", "tasks")["Held"]:
        assert time.monotonic() < deadline, "the task was never held"
        time.sleep(0.05)
    controls.ok("PUT", "tasks", {"Mode": "immediate"})
    assert api.wait_task(task_id)["TaskStatus"] == 60


def test_delay_mode_delays_the_end(emulator, controls, packages):
    api = emulator.api()
    mnp_id = api.create_mnp()

    def seconds_to_end(version: str) -> float:
        started = time.monotonic()
        task_id = api.create_version(mnp_id, version, packages.mini_program)
        assert api.wait_task(task_id)["TaskStatus"] == 60
        return time.monotonic() - started

    quick = seconds_to_end("1.0.0")
    assert controls.ok("PUT", "tasks", {"Mode": "delay", "DelayMs": 1500})["DelayMs"] == 1500
    slow = seconds_to_end("1.0.1")
    assert slow >= 1.5, f"delayed task ended after {slow:.2f}s"
    assert quick < 1.5, f"an immediate task took {quick:.2f}s"


def test_task_control_is_per_account(emulator, controls, packages, other):
    creds, other_api = other
    api = emulator.api()
    controls.ok("PUT", "tasks", {"Mode": "manual"})
    mine = api.create_version(api.create_mnp(), "1.0.0", packages.mini_program)
    theirs = other_api.create_version(other_api.create_mnp(), "1.0.0", packages.mini_program)
    assert other_api.wait_task(theirs)["TaskStatus"] == 60
    their_controls = Controls(emulator, creds)
    assert their_controls.ok("GET", "tasks") == {"Mode": "immediate", "Held": []}
    r = their_controls.request("POST", f"tasks/{mine}", {"TaskStatus": 60})
    assert r.status_code == 404, r.text
    assert api.describe_task(mine)["TaskStatus"] == 20
    controls.ok("POST", f"tasks/{mine}", {"TaskStatus": 60})


def test_task_control_refusals(controls):
    for body in [{"Mode": "later"}, {"Mode": "delay"}, {"Mode": "manual", "DelayMs": 5}]:
        r = controls.request("PUT", "tasks", body)
        assert r.status_code == 400, (body, r.text)
    r = controls.request("POST", "tasks/2024010100000000001", {"TaskStatus": 45})
    assert r.status_code == 400, r.text
    r = controls.request("POST", "tasks/2024010100000000001", {"TaskStatus": 30})
    assert r.status_code == 400 and "TaskMsg" in r.text, r.text


def test_cli_drives_manual_tasks(emulator, controls, packages):
    api = emulator.api()
    cli = functools.partial(emulator_cli, emulator)
    assert cli("tasks", "mode", "manual")["Mode"] == "manual"
    task_id = api.create_version(api.create_mnp(), "1.0.0", packages.mini_program)
    ended = cli("tasks", "advance", task_id, "--status", "30", "--msg", "from the CLI")
    assert (ended["TaskStatus"], ended["TaskMsg"]) == (30, "from the CLI"), ended
    assert cli("tasks", "mode", "delay", "--delay-ms", "10")["DelayMs"] == 10
    assert cli("tasks", "show")["Mode"] == "delay"


# -- reset -------------------------------------------------------------------


def mnp_count(api) -> int:
    return list_mnps(api)["Data"]["TotalCount"]


def test_reset_empties_the_account_and_frees_its_names(emulator, controls, packages, other):
    api = emulator.api()
    _, other_api = other
    name = harness.unique_name("reset")
    mnp_id = api.create_mnp(MNPName=name)
    task_id = api.version_succeeds(mnp_id, "1.0.0", packages.mini_program)["TaskId"]
    for _ in range(9):
        api.version_succeeds(api.create_mnp(), "1.0.0", packages.mini_program)
    theirs = other_api.create_mnp(MNPName=name)
    other_api.version_succeeds(theirs, "1.0.0", packages.mini_program)
    their_count = mnp_count(other_api)

    reset = controls.ok("POST", "reset", {})
    print(f"\nreset of an account ({harness.BACKEND}): {reset['ElapsedMs']:.1f} ms")
    assert emulator.platform_id in reset["PlatformIds"], reset
    assert reset["ElapsedMs"] < 1000, reset

    assert mnp_count(api) == 0
    expect_error(lambda: api.describe_task(task_id),
                 "InvalidParameterValue.InvalidMNPVersionTaskId")
    again = api.create_mnp(MNPName=name)
    api.version_succeeds(again, "1.0.0", packages.mini_program)
    assert stage_versions(api, again)[0]["MNPVersion"] == "1.0.0"
    # Another account's data is untouched.
    assert mnp_count(other_api) == their_count
    assert stage_versions(other_api, theirs)[0]["MNPVersion"] == "1.0.0"


def test_reset_of_one_platform_keeps_the_others(emulator, controls, packages):
    api = emulator.api()
    second = emulator.create_platform(emulator.creds.secret_id)["PlatformId"]
    second_api = emulator.api(platform_id=second)
    second_api.create_mnp()
    api.create_mnp()
    reset = controls.ok("POST", "reset", {"PlatformId": second})
    print(f"\nreset of a platform ({harness.BACKEND}): {reset['ElapsedMs']:.1f} ms")
    assert reset["PlatformIds"] == [second], reset
    assert mnp_count(second_api) == 0
    assert mnp_count(api) >= 1


def test_reset_is_refused_for_another_accounts_platform(emulator, controls, other):
    creds, other_api = other
    before = mnp_count(api := emulator.api())
    r = Controls(emulator, creds).request("POST", "reset", {"PlatformId": emulator.platform_id})
    assert r.status_code == 404, r.text
    assert mnp_count(api) == before
    assert controls.request("POST", "reset", {"PlatformId": other_api.platform_id}).status_code == 404


def test_cli_resets(emulator, controls):
    api = emulator.api()
    api.create_mnp()
    out = emulator_cli(emulator, "reset", "--platform-id", emulator.platform_id)
    assert out["PlatformIds"] == [emulator.platform_id], out
    assert mnp_count(api) == 0
    assert emulator.platform_id in emulator_cli(emulator, "reset")["PlatformIds"]
