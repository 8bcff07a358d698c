"""State survives the process: a graceful restart (SIGTERM) and a crash
(SIGKILL) on the same data directory."""

import threading
import time

import harness
from harness import TASK_FAILED, TASK_SUCCEEDED, expect_error


def test_graceful_restart_keeps_everything(server_factory, packages):
    first = server_factory.new()
    api = first.api()
    name = harness.unique_name("persist")
    mnp = api.create_mnp(MNPName=name, MNPDesc="survives a restart")
    done = api.version_succeeds(mnp, "1.2.3", packages.mini_program, intro="before restart")
    task = done["TaskId"]
    team = first.team_id
    assert team, "the bootstrap should print the default TeamId"

    assert first.stop(timeout=10) == 0, f"SIGTERM should exit 0: {first.log_tail()}"

    second = server_factory.restart(first)
    assert second.data_dir == first.data_dir
    api2 = second.api()  # the same credentials
    again = api2.describe_task(task)
    assert again == {"MNPId": mnp, "TaskId": task, "TaskStatus": TASK_SUCCEEDED,
                     "TaskMsg": "Success"}
    listed = api2.call("DescribeMNPList", {"Offset": 0, "Limit": 100,
                                           "PlatformId": second.platform_id,
                                           "TeamId": team})["Data"]
    assert [i["MNPId"] for i in listed["DataList"]] == [mnp]
    assert listed["DataList"][0]["MNPName"] == name
    detail = api2.call("DescribeMNPDetail", {"MNPId": mnp,
                                             "PlatformId": second.platform_id})["Data"]
    assert detail["MNPDesc"] == "survives a restart"

    # The version history survived too: 1.2.3 is taken, a greater one is not.
    expect_error(lambda: api2.call("CreateMNPVersion", api2.version_params(
        mnp, "1.2.3", packages.mini_program, intro="again after restart")),
        "InvalidParameterValue.InvalidMNPVersion")
    # The very same request still answers the same task.
    assert api2.create_version(mnp, "1.2.3", packages.mini_program,
                               intro="before restart") == task
    api2.version_succeeds(mnp, "1.2.4", packages.mini_program)
    # Names stay unique.
    expect_error(lambda: api2.call("CreateMNP", api2.mnp_params(MNPName=name)),
                 "InvalidParameterValue.MiniProgramNameAlreadyExist")
    # The bootstrap does not run again on a used data directory.
    assert not any("first start" in line for line in second.stdout_lines), second.stdout_lines


def test_kill_9_right_after_create_version(server_factory, packages):
    first = server_factory.new()
    api = first.api()
    mnps = [api.create_mnp() for _ in range(3)]
    tasks = [api.create_version(m, "1.0.0", packages.mini_program) for m in mnps]
    first.kill9()

    second = server_factory.restart(first)
    api2 = second.api()
    for mnp, task in zip(mnps, tasks):
        data = api2.wait_task(task, timeout=60)
        assert data["TaskStatus"] in (TASK_FAILED, TASK_SUCCEEDED), data
        assert data["MNPId"] == mnp
        assert data["TaskMsg"].strip(), data
        if data["TaskStatus"] == TASK_SUCCEEDED:
            assert data["TaskMsg"] == "Success", data
    # The server keeps working after the crash.
    api2.version_succeeds(api2.create_mnp(), "1.0.0", packages.mini_program)


def test_kill_9_during_download_leaves_no_task(server_factory, packages, file_server):
    """A crash while CreateMNPVersion is still downloading: no TaskId was
    answered, so after the restart the same version can be created."""
    first = server_factory.new()
    api = first.api()
    mnp = api.create_mnp()
    url = file_server.url(f"/trickle/6/{packages.mini_program_name}")
    outcome = {}

    def create():
        try:
            outcome["task"] = api.create_version(mnp, "1.0.0", url)
        except Exception as e:  # the connection dies with the server
            outcome["error"] = e

    t = threading.Thread(target=create)
    t.start()
    deadline = time.monotonic() + 5
    while file_server.hit_count(url) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert file_server.hit_count(url) == 1, "the download never started"
    first.kill9()
    t.join(30)
    assert "task" not in outcome, outcome

    second = server_factory.restart(first)
    api2 = second.api()
    api2.version_succeeds(mnp, "1.0.0", packages.mini_program)


def test_sigterm_lets_an_in_flight_request_finish(server_factory, packages, file_server):
    """SIGTERM during a CreateMNPVersion whose download takes 2 s: the caller
    still gets its TaskId, the process exits 0, and the task completes after
    the restart (or before the exit)."""
    first = server_factory.new()
    api = first.api()
    mnp = api.create_mnp()
    url = file_server.url(f"/trickle/2/{packages.mini_program_name}")
    outcome = {}

    def create():
        try:
            outcome["task"] = api.create_version(mnp, "1.0.0", url)
        except Exception as e:
            outcome["error"] = e

    t = threading.Thread(target=create)
    t.start()
    deadline = time.monotonic() + 5
    while file_server.hit_count(url) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert file_server.hit_count(url) == 1, "the download never started"
    assert first.stop(timeout=10) == 0, first.log_tail()
    t.join(30)
    assert "task" in outcome, f"the in-flight request was cut off: {outcome}"

    second = server_factory.restart(first)
    data = second.api().wait_task(outcome["task"])
    assert data["TaskStatus"] == TASK_SUCCEEDED and data["TaskMsg"] == "Success", data


def test_bootstrap_settings_ignored_on_a_used_store_are_named(server_factory):
    first = server_factory.new()
    first.stop()
    # The same settings again (an ordinary restart): nothing to say.
    again = server_factory.restart(first)
    assert "ignored" not in again.log_path.read_text()
    again.stop()
    # Other bootstrap credentials on the same store: said at start, with
    # what to do instead.
    other = server_factory.new(data_dir=first.data_dir, platform_id=first.platform_id)
    log = other.log_path.read_text()
    assert ("MNPD_BOOTSTRAP_SECRET_ID, MNPD_BOOTSTRAP_SECRET_KEY, MNPD_BOOTSTRAP_PLATFORM_ID "
            "ignored") in log, log[-2000:]
    assert "mnpd admin key create" in log and "empty --data-dir" in log, log[-2000:]
    harness.expect_error(
        lambda: other.api().call("DescribeMNPList", {"Offset": 0, "Limit": 1,
                                                     "PlatformId": first.platform_id}),
        "AuthFailure.SecretIdNotFound")
