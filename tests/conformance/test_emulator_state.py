"""Emulator fixtures (`GET`/`PUT /_mnpd/emulator/state`, `mnpd admin
emulator state`, `mnpd serve --emulator --fixture FILE`): an account's state
out to a file and back with every ID kept, through the official SDK."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile

import pytest
import requests

import harness
from test_emulator import PREFIX, Controls

APPROVED = 3


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    f = harness.ServerFactory(tmp_path_factory.mktemp("emulator-state"))
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def emulator(factory):
    return factory.new("--emulator", "--rate-limit", "10000")


@pytest.fixture(scope="module")
def controls(emulator):
    return Controls(emulator, emulator.creds)


@pytest.fixture(scope="module")
def state(emulator, controls, packages, tmp_path_factory):
    """A released mini program with an application, an approval and a
    preview, a second one with a version only; the exported file."""
    controls.ok("POST", "reset", {})
    api = emulator.api()
    released = api.create_mnp()
    task_id = api.version_succeeds(released, "1.2.0", packages.mini_program)["TaskId"]
    [develop] = stage_rows(api, released)
    vid = develop["MNPVersionId"]
    app = api.call("CreateApplication", {
        "PlatformId": api.platform_id, "ApplicationName": harness.unique_name("app")[:30],
        "Logo": "https://cdn.example.com/logo.png", "TeamId": emulator.team_id or "",
        "ApplicationType": 2, "Intro": "fixture host app"})["Data"]["ResourceId"]
    api.call("CreateMNPApproval", {"PlatformId": api.platform_id, "MNPVersionId": vid,
                                   "ApplyAction": "submit"})
    no = [r for r in stage_rows(api, released) if r["Phase"] == "Platform"][0]["ApprovalNo"]
    api.call("ProcessMNPApproval", {"PlatformId": api.platform_id, "ApprovalNo": no,
                                    "ApprovalItems": [{"AppId": app, "ApprovalResult": APPROVED}]})
    api.call("ReleaseMNPVersion", {"PlatformId": api.platform_id, "MNPVersionId": vid})
    other = api.create_mnp()
    api.version_succeeds(other, "0.1.0", packages.mini_program)
    path = tmp_path_factory.mktemp("fixture") / "state.zip"
    r = requests.get(f"{emulator.url}{PREFIX}/state", auth=controls.auth, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    path.write_bytes(r.content)
    return {"api": api, "released": released, "other": other, "task_id": task_id,
            "vid": vid, "app": app, "approval": no, "path": path,
            "answers": answers(api, released, other)}


def stage_rows(api, mnp_id):
    return api.call("DescribeMNPAllStageVersions",
                    {"PlatformId": api.platform_id, "MNPId": mnp_id})["Data"]


def package_sha256(api, mnp_id) -> str:
    url = api.call("DescribeMNPOfflinePackageURL",
                   {"PlatformId": api.platform_id, "MNPId": mnp_id})["Data"]["Data"]
    got = requests.get(url, timeout=30)
    assert got.status_code == 200, got.text
    return hashlib.sha256(got.content).hexdigest()


def answers(api, released, other) -> dict:
    """What the state answers, with RequestIds left out."""
    listing = api.call("DescribeMNPList", {"PlatformId": api.platform_id, "Offset": 0, "Limit": 50})
    return {
        "list": listing["Data"],
        "stages": [stage_rows(api, m) for m in (released, other)],
        "detail": api.call("DescribeMNPDetail", {"PlatformId": api.platform_id,
                                                 "MNPId": released})["Data"],
        "history": api.call("DescribeMNPReleasedVersionHistory",
                            {"PlatformId": api.platform_id, "MNPId": released})["Data"],
        "package": package_sha256(api, released),
    }


def put_state(server, creds, data: bytes) -> requests.Response:
    return requests.put(f"{server.url}{PREFIX}/state", data=data,
                        auth=(creds.secret_id, creds.secret_key), timeout=60)


def test_export_reset_import_gives_the_same_answers_and_ids(emulator, controls, state, packages):
    api = state["api"]
    controls.ok("POST", "reset", {})
    assert api.call("DescribeMNPList", {"PlatformId": api.platform_id, "Offset": 0, "Limit": 10})["Data"]["TotalCount"] == 0
    r = put_state(emulator, emulator.creds, state["path"].read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["Packages"] == 1, r.json()
    assert answers(api, state["released"], state["other"]) == state["answers"]
    task = api.describe_task(state["task_id"])
    assert (task["TaskStatus"], task["MNPId"]) == (60, state["released"]), task
    # Sequences are past the imported numbers: a new version gets a new one.
    api.version_succeeds(state["other"], "0.2.0", packages.mini_program)
    [develop] = stage_rows(api, state["other"])
    assert develop["MNPVersion"] == "0.2.0"
    assert develop["MNPVersionId"] > state["vid"], develop


def test_cli_exports_and_imports(emulator, state, tmp_path):
    out = tmp_path / "cli.zip"
    exported = cli(emulator, "state", "export", str(out))
    assert exported["Bytes"] == out.stat().st_size > 0, exported
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        document = json.loads(z.read("mnpd-fixture.json"))
    assert document["Format"] == "mnpd-fixture" and document["FormatVersion"] == 1
    assert [n for n in names if n.startswith("packages/")] == [
        f"packages/{p}" for p in document["Packages"]]
    imported = cli(emulator, "state", "import", str(state["path"]))
    assert imported["Packages"] == 1, imported
    assert answers(state["api"], state["released"], state["other"]) == state["answers"]


def test_a_server_started_with_the_fixture_answers_from_it(factory, emulator, state):
    fresh = factory.new("--emulator", "--fixture", str(state["path"]),
                        creds=emulator.creds, platform_id=emulator.platform_id)
    api = fresh.api()
    assert answers(api, state["released"], state["other"]) == state["answers"]
    assert api.describe_task(state["task_id"])["TaskStatus"] == 60
    # A new mini program gets a ResourceId none of the fixture's has.
    new = api.call("CreateMNP", api.mnp_params())["Data"]
    assert new["ResourceId"] not in (state["released"], state["other"])
    fresh.stop()


def damaged_copies(data: bytes):
    """A file cut short, one whose package changed, one of another format."""
    yield "cut short", data[: len(data) // 2]
    src = zipfile.ZipFile(io.BytesIO(data))
    for what in ("package", "format"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info in src.infolist():
                body = src.read(info.filename)
                if what == "package" and info.filename.startswith("packages/"):
                    body = body + b"tampered"
                if what == "format" and info.filename == "mnpd-fixture.json":
                    doc = json.loads(body)
                    doc["Format"] = "someone-else"
                    body = json.dumps(doc).encode()
                z.writestr(info.filename, body)
        yield what, out.getvalue()
    yield "not a zip", b"{}"


def test_a_damaged_file_is_refused_and_changes_nothing(emulator, controls, state):
    api = state["api"]
    put_state(emulator, emulator.creds, state["path"].read_bytes())
    before = answers(api, state["released"], state["other"])
    for what, data in damaged_copies(state["path"].read_bytes()):
        r = put_state(emulator, emulator.creds, data)
        assert r.status_code == 400, (what, r.status_code, r.text)
        assert r.json()["Error"]["Message"], what
        assert answers(api, state["released"], state["other"]) == before, what


def test_another_accounts_state_is_neither_exported_nor_overwritten(emulator, state):
    creds = emulator.create_account()
    platform = emulator.create_platform(creds.secret_id)["PlatformId"]
    theirs = emulator.api(creds, platform)
    their_mnp = theirs.create_mnp()
    r = requests.get(f"{emulator.url}{PREFIX}/state", auth=(creds.secret_id, creds.secret_key),
                     timeout=60)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        document = json.loads(z.read("mnpd-fixture.json"))
    tables = {t["Table"]: t["Rows"] for t in document["Tables"]}
    assert [m["mnp_id"] for m in tables["mini_programs"]] == [their_mnp]
    assert [p["platform_id"] for p in tables["platforms"]] == [platform]
    # The first account's file names its platform and IDs: refused here.
    r = put_state(emulator, creds, state["path"].read_bytes())
    assert r.status_code == 409, r.text
    assert "another account" in r.json()["Error"]["Message"], r.text
    assert theirs.call("DescribeMNPList", {"PlatformId": platform, "Offset": 0, "Limit": 10})["Data"]["TotalCount"] == 1
    put_state(emulator, emulator.creds, state["path"].read_bytes())
    assert answers(state["api"], state["released"], state["other"]) == state["answers"]


def cli(server, *args) -> dict:
    cp = subprocess.run(
        [str(harness.mnpd_bin()), "admin", "--json", "emulator",
         "--endpoint", server.url.rstrip("/"),
         "--secret-id", server.creds.secret_id,
         "--secret-key", server.creds.secret_key, *args],
        capture_output=True, text=True, env=harness.clean_env(), timeout=90)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)


# -- recording and replay ------------------------------------------------------


def recording(controls) -> list[dict]:
    r = requests.get(f"{controls.server.url}{PREFIX}/recording", auth=controls.auth, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/x-ndjson"
    assert r.headers["X-Mnpd-Recording-Dropped"] == "0"
    return [json.loads(line) for line in r.text.splitlines()]


def secrets_left(value, path="") -> list:
    """Members named like a secret whose value is not redacted."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if any(w in k.lower() for w in ("signature", "secretkey", "password", "token")):
                if v not in ("***", None):
                    found.append((f"{path}.{k}", v))
            else:
                found += secrets_left(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += secrets_left(v, f"{path}[{i}]")
    return found


def test_recording_keeps_requests_and_answers_with_secrets_redacted(emulator, controls, state):
    api = state["api"]
    controls.ok("DELETE", "recording")
    assert controls.ok("PUT", "recording", {"Recording": True})["Recording"] is True
    try:
        api.call("DescribeMNPDetail", {"PlatformId": api.platform_id, "MNPId": state["released"]})
        api.call("DescribeTempSecret4UploadFile2Cos", {"BusinessName": "tcmpp", "Suffix": "zip"})
        try:
            api.call("CreateUser", {"PlatformId": api.platform_id, "UserName": "u",
                                    "UserAccount": "u1", "UserPassword": "hunter2-password",
                                    "TeamId": "t", "RoleId": 1})
        except Exception:  # noqa: BLE001 (the answer does not matter, its record does)
            pass
        harness.v1_request(emulator, "DescribeMNPList",
                           {"PlatformId": api.platform_id, "Offset": 0, "Limit": 1})
        api.call("DescribeMNPOfflinePackageURL", {"PlatformId": api.platform_id,
                                                  "MNPId": state["released"]})
    finally:
        controls.ok("PUT", "recording", {"Recording": False})
    api.call("DescribeMNPCategory", {"PlatformId": api.platform_id})  # not recorded: off
    lines = recording(controls)
    actions = [line["Action"] for line in lines]
    assert actions == ["DescribeMNPDetail", "DescribeTempSecret4UploadFile2Cos", "CreateUser",
                       "DescribeMNPList", "DescribeMNPOfflinePackageURL"], actions
    first = lines[0]
    assert set(first) == {"Time", "Action", "Version", "Region", "Request", "Response",
                          "HttpStatus"}, first
    assert (first["Version"], first["HttpStatus"]) == ("2024-08-01", 200)
    assert first["Request"]["MNPId"] == state["released"]
    assert first["Response"]["Data"]["MNPId"] == state["released"]
    # The form request is recorded as the action's JSON parameters.
    assert lines[3]["Request"] == {"PlatformId": api.platform_id, "Offset": 0, "Limit": 1}
    text = "\n".join(json.dumps(line) for line in lines)
    assert emulator.creds.secret_key not in text
    assert "hunter2-password" not in text
    assert lines[2]["Request"]["UserPassword"] == "***"
    assert "signature=***" in lines[4]["Response"]["Data"]["Data"]
    assert secrets_left(lines) == []
    # Another account's recording is its own.
    creds = emulator.create_account()
    assert Controls(emulator, creds).ok("GET", "recording/status")["Entries"] == 0
    assert controls.ok("DELETE", "recording")["Removed"] == 5


def replay(server, path) -> tuple[int, dict, str]:
    cp = subprocess.run(
        [str(harness.mnpd_bin()), "admin", "--json", "emulator",
         "--endpoint", server.url.rstrip("/"), "--secret-id", server.creds.secret_id,
         "--secret-key", server.creds.secret_key, "replay", str(path)],
        capture_output=True, text=True, env=harness.clean_env(), timeout=180)
    return cp.returncode, json.loads(cp.stdout or "{}"), cp.stderr


def test_a_replay_passes_on_the_same_state_and_reports_a_change(emulator, controls, state,
                                                               packages, tmp_path):
    api = state["api"]
    put_state(emulator, emulator.creds, state["path"].read_bytes())
    controls.ok("DELETE", "recording")
    controls.ok("PUT", "recording", {"Recording": True})
    try:
        mnp = api.create_mnp(MNPName=harness.unique_name("replay"))
        api.version_succeeds(mnp, "1.0.0", packages.mini_program)
        stage_rows(api, mnp)
        api.call("DescribeMNPDetail", {"PlatformId": api.platform_id, "MNPId": state["released"]})
        api.call("DescribeMNPList", {"PlatformId": api.platform_id, "Offset": 0, "Limit": 50})
        api.call("DescribeMNPOfflinePackageURL", {"PlatformId": api.platform_id,
                                                  "MNPId": state["released"]})
    finally:
        controls.ok("PUT", "recording", {"Recording": False})
    path = tmp_path / "session.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in recording(controls)))

    put_state(emulator, emulator.creds, state["path"].read_bytes())
    code, report, err = replay(emulator, path)
    assert code == 0, (report, err)
    assert report["Differences"] == [] and report["Requests"] >= 6, report

    put_state(emulator, emulator.creds, state["path"].read_bytes())
    api.call("ModifyMNP", api.mnp_params(MNPId=state["released"],
                                         MNPName="renamed-before-replay"))
    code, report, err = replay(emulator, path)
    assert code != 0, report
    assert "difference" in err, err
    paths = {(d["Action"], d["Path"], d["Now"]) for d in report["Differences"]}
    assert ("DescribeMNPDetail", "Response.Data.MNPName", "renamed-before-replay") in paths, report
    put_state(emulator, emulator.creds, state["path"].read_bytes())


def test_a_refused_fixture_stops_the_start(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a fixture")
    cp = subprocess.run(
        [str(harness.mnpd_bin()), "serve", "--emulator", "--fixture", str(bad),
         "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=harness.clean_env(backend=False), timeout=30)
    assert cp.returncode != 0, cp.stdout
    assert "refused: the file is not an mnpd fixture" in cp.stderr, cp.stderr
