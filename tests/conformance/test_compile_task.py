"""The console's compile task: CreateConsoleMNPVersionCompileTask and
DescribeConsoleMNPVersionCompileTask, and the WebSocket (WSUrl, RoomId)
that streams a task's progress (docs/lifecycle.md, "The compile task").

Sizes are the bytes a package's files unpack to: the main package is every
file outside the subpackage roots app.json declares."""

from __future__ import annotations

import io
import json
import os
import time
import urllib.parse

import pytest
import requests
import zxingcpp
from PIL import Image
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import harness
from harness import TASK_FAILED, TASK_SUCCEEDED, expect_error

MB = 1024 * 1024
INVALID_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
INVALID_MNP = "InvalidParameterValue.InvalidMNPId"
INVALID_VERSION = "InvalidParameterValue.InvalidMNPVersion"
INVALID_INTRO = "InvalidParameterValue.InvalidMNPVersionIntro"
INVALID_TASK = "InvalidParameterValue.InvalidMNPVersionTaskId"
TOO_LARGE = "InvalidParameterValue.MNPFileSizExceedLimit"
DOWNLOAD_FAILED = "FailedOperation.FileDownloadFailed"
NO_PROXY = {"http": "", "https": ""}


# ---------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------


def project(subpackages: dict, main_extra: bytes = b"") -> dict:
    """A mini program with the given {root: extra bytes} subpackages, each
    with one page; `main_extra` goes into the main package."""
    files = harness.mini_program_files()
    app = json.loads(files["app.json"])
    app["subpackages"] = [{"root": root, "pages": ["pages/p/p"]} for root in subpackages]
    files = {k: v for k, v in files.items() if not k.startswith(harness.SUB_ROOT + "/")}
    files["app.json"] = json.dumps(app, indent=2).encode()
    for root, extra in subpackages.items():
        files.update(harness._page_files(f"{root}/pages/p/p", root))
        if extra:
            files[f"{root}/assets/data.txt"] = extra
    if main_extra:
        files["assets/main-data.txt"] = main_extra
    return files


def filler(n: int) -> bytes:
    """`n` bytes that deflate about two to one: big packages stay under the
    download limit and well under the zip-bomb ratio."""
    return os.urandom(n // 2 + 1).hex().encode()[:n]


def sizes_of(files: dict, roots) -> tuple[int, dict]:
    subs = {r: sum(len(v) for k, v in files.items() if k.startswith(r + "/")) for r in roots}
    total = sum(len(v) for v in files.values())
    return total - sum(subs.values()), subs


def params(api, mnp_id: str, version: str, url: str, **over) -> dict:
    p = {"MNPId": mnp_id, "MNPVersion": version, "FileUrl": url, "FileInnerUrl": url,
         "PlatformId": api.platform_id, "TaskType": 2,
         "MNPVersionIntro": f"console add version {version}",
         "MNPVersionDesc": f"console add version {version}"}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def create(api, mnp_id: str, version: str, url: str, **over) -> dict:
    resp = api.call("CreateConsoleMNPVersionCompileTask", params(api, mnp_id, version, url, **over))
    data = resp["Data"]
    assert harness.TASK_ID_RE.match(data["TaskId"]), data
    assert data["RoomId"] == data["TaskId"], data
    return data


def describe(api, task_id: str, platform_id=None) -> dict:
    return api.call("DescribeConsoleMNPVersionCompileTask",
                    {"BusinessId": task_id, "PlatformId": platform_id or api.platform_id})


def wait(api, task_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        data = describe(api, task_id)["Data"]
        if data["TaskStatus"] in (TASK_FAILED, TASK_SUCCEEDED):
            return data
        assert time.monotonic() < deadline, f"task {task_id} did not end: {data}"
        time.sleep(0.15)


def stream(ws_url: str, timeout: float = 60.0) -> list:
    """Every message the socket sends until it closes."""
    out = []
    with connect(ws_url, open_timeout=10, close_timeout=5) as ws:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                pytest.fail(f"the socket did not end within {timeout}s: {out}")
            except Exception:  # closed by the server
                break
            out.append(json.loads(message))
    return out


def refused_status(ws_url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        with connect(ws_url, open_timeout=10):
            pass
    return refused.value.response.status_code


def with_query(ws_url: str, **changes) -> str:
    parts = urllib.parse.urlsplit(ws_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def decode_qr(png: bytes) -> str:
    assert png.startswith(b"\x89PNG\r\n\x1a\n"), png[:16]
    found = [b for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
             if b.format == zxingcpp.BarcodeFormat.QRCode and b.valid]
    assert len(found) == 1, found
    return found[0].text


# ---------------------------------------------------------------------------
# Sizes, the version, the QR code
# ---------------------------------------------------------------------------


def test_two_subpackages_report_their_sizes(api, mnp_id, packages, spec):
    files = project({"packageA": filler(30_000), "packageB": filler(70_000)},
                    main_extra=filler(10_000))
    main, subs = sizes_of(files, ["packageA", "packageB"])
    url = packages.fresh_url(harness.zip_bytes(files))
    created = create(api, mnp_id, "1.0.1", url)
    ws = urllib.parse.urlsplit(created["WSUrl"])
    assert ws.scheme == "ws" and ws.path == "/ws/compile", created
    assert dict(urllib.parse.parse_qsl(ws.query))["room"] == created["TaskId"]

    data = wait(api, created["TaskId"])
    resp = describe(api, created["TaskId"])
    harness.check_spec_response(spec, "DescribeConsoleMNPVersionCompileTask", resp)
    assert data["TaskStatus"] == TASK_SUCCEEDED and data["TaskMsg"] == "Success", data
    assert data["MNPId"] == mnp_id and data["TaskId"] == created["TaskId"]
    assert data["PkgSize"] == main + sum(subs.values()), data
    assert data["SubPkgInfos"] == [
        {"PkgName": "__APP__", "PathPrefix": "__APP__", "PkgSize": main},
        {"PkgName": "packageA", "PathPrefix": "/packageA/", "PkgSize": subs["packageA"]},
        {"PkgName": "packageB", "PathPrefix": "/packageB/", "PkgSize": subs["packageB"]},
    ], data
    size_info = json.loads(data["ExtInfo"]["SizeInfo"])
    assert size_info["total"] == data["PkgSize"] and size_info["main"] == main
    assert data["ExtInfo"]["TCMPPErrMsg"] == ""

    # The version is recorded, the one the compile task names.
    develop = {r["Phase"]: r for r in api.call(
        "DescribeMNPAllStageVersions", {"MNPId": mnp_id, "PlatformId": api.platform_id})["Data"]}
    version_id = develop["Develop"]["MNPVersionId"]
    assert develop["Develop"]["MNPVersion"] == "1.0.1"

    # The QR code opens that version at its entry page, in preview mode.
    content = data["QrCodeContent"]
    link = urllib.parse.urlsplit(content)
    assert link.path == f"/open/{mnp_id}", content
    query = dict(urllib.parse.parse_qsl(link.query))
    assert query == {"version_id": str(version_id), "path": "pages/index/index",
                     "mode": "preview"}, query
    png = requests.get(data["QrCodeUrl"], timeout=30, proxies=NO_PROXY)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert decode_qr(png.content) == content
    opened = requests.get(content, timeout=30, proxies=NO_PROXY).json()
    assert opened["MNPVersionId"] == str(version_id)


def test_main_package_over_4mb_is_refused_naming_it(api, mnp_id, packages):
    files = project({"packageA": b""}, main_extra=filler(4 * MB + 1))
    url = packages.fresh_url(harness.zip_bytes(files))
    task = create(api, mnp_id, "1.0.0", url)["TaskId"]
    data = wait(api, task)
    assert data["TaskStatus"] == TASK_FAILED, data
    assert "main package" in data["TaskMsg"] and "__APP__" in data["TaskMsg"], data
    assert "4.00 MB" in data["TaskMsg"], data
    assert data["ExtInfo"]["TCMPPErrMsg"] == data["TaskMsg"]
    # Measured all the same, and no version or QR code.
    main, _ = sizes_of(files, ["packageA"])
    assert data["SubPkgInfos"][0] == {"PkgName": "__APP__", "PathPrefix": "__APP__",
                                      "PkgSize": main}
    assert data["QrCodeUrl"] == "" and data["QrCodeContent"] == ""
    # The number is free again: a smaller package takes it.
    ok = create(api, mnp_id, "1.0.0", packages.fresh_url(harness.zip_bytes(project({"pA": b""}))))
    assert wait(api, ok["TaskId"])["TaskStatus"] == TASK_SUCCEEDED


def test_subpackage_over_4mb_is_refused_naming_it(api, mnp_id, packages):
    files = project({"packageA": filler(1000), "bigPkg": filler(4 * MB + 10)})
    task = create(api, mnp_id, "2.0.0", packages.fresh_url(harness.zip_bytes(files)))["TaskId"]
    data = wait(api, task)
    assert data["TaskStatus"] == TASK_FAILED, data
    assert "subpackage `bigPkg`" in data["TaskMsg"], data


def test_over_20mb_in_all_is_refused(api, mnp_id, packages):
    subs = {f"pkg{i}": filler(3 * MB + MB // 2) for i in range(6)}
    files = project(subs, main_extra=filler(MB))
    archive = harness.zip_bytes(files)
    assert len(archive) < 20 * MB, "the archive itself must pass the download limit"
    task = create(api, mnp_id, "3.0.0", packages.fresh_url(archive))["TaskId"]
    data = wait(api, task)
    assert data["TaskStatus"] == TASK_FAILED, data
    assert "in all" in data["TaskMsg"] and "20.00 MB" in data["TaskMsg"], data
    assert data["PkgSize"] == sum(len(v) for v in files.values())


def test_invalid_project_fails_as_create_version_does(api, mnp_id, packages):
    files = project({"packageA": b""})
    del files["packageA/pages/p/p.wxml"]
    task = create(api, mnp_id, "1.0.0", packages.fresh_url(harness.zip_bytes(files)))["TaskId"]
    data = wait(api, task)
    assert data["TaskStatus"] == TASK_FAILED, data
    assert "packageA/pages/p/p" in data["TaskMsg"], data
    assert data["PkgSize"] == 0 and data["SubPkgInfos"] == []


# ---------------------------------------------------------------------------
# The WebSocket
# ---------------------------------------------------------------------------


def test_socket_streams_progress_to_the_end(api, mnp_id, packages):
    files = project({"packageA": filler(5000), "packageB": filler(9000)})
    created = create(api, mnp_id, "1.2.0", packages.fresh_url(harness.zip_bytes(files)))
    messages = stream(created["WSUrl"])
    progress = [m for m in messages if m["Type"] == "progress"]
    stages = [m["Stage"] for m in progress]
    assert stages == ["queued", "running", "validated", "measured"], messages
    assert [m["Seq"] for m in progress] == [1, 2, 3, 4]
    assert all(m["TaskId"] == created["TaskId"] for m in messages)
    assert "packageB" in progress[-1]["Message"], progress[-1]
    last = messages[-1]
    assert last["Type"] == "end" and last["TaskStatus"] == TASK_SUCCEEDED, messages
    data = describe(api, created["TaskId"])["Data"]
    assert last["QrCodeContent"] == data["QrCodeContent"] != ""
    assert last["QrCodeUrl"] == data["QrCodeUrl"]
    assert last["PkgSize"] == data["PkgSize"]
    # The token opens the room again while it is valid: the same history.
    assert stream(created["WSUrl"]) == messages


def test_socket_streams_a_failure_to_the_end(api, mnp_id, packages):
    files = project({"packageA": b""}, main_extra=filler(4 * MB + 1))
    created = create(api, mnp_id, "1.3.0", packages.fresh_url(harness.zip_bytes(files)))
    messages = stream(created["WSUrl"])
    last = messages[-1]
    assert last["Type"] == "end" and last["TaskStatus"] == TASK_FAILED, messages
    assert "__APP__" in last["TaskMsg"] and last["QrCodeUrl"] == ""


def test_foreign_or_altered_token_is_refused(server, api, mnp_id, packages):
    url = packages.fresh_url(harness.zip_bytes(project({"packageA": b""})))
    first = create(api, mnp_id, "1.0.0", url)
    second = create(api, mnp_id, "1.0.1", url, MNPVersionIntro="second")
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(first["WSUrl"]).query))["token"]
    # Another task's token does not open this room.
    assert refused_status(with_query(second["WSUrl"], token=token)) == 403
    # An altered token, an extended expiry, no token, an unknown room.
    expires, signature = token.split(".")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert refused_status(with_query(first["WSUrl"], token=f"{expires}.{flipped}")) == 403
    assert refused_status(with_query(first["WSUrl"], token=f"{int(expires) + 3600}.{signature}")) == 403
    assert refused_status(with_query(first["WSUrl"], token="")) == 403
    assert refused_status(with_query(first["WSUrl"], room="2024081210302952548")) == 403
    # Another account's token for its own task does not open ours.
    other = server.create_account()
    theirs = server.api(other, server.create_platform(other.secret_id)["PlatformId"])
    their_mnp = theirs.create_mnp()
    their_task = create(theirs, their_mnp, "1.0.0", url)
    their_token = dict(urllib.parse.parse_qsl(
        urllib.parse.urlsplit(their_task["WSUrl"]).query))["token"]
    assert refused_status(with_query(first["WSUrl"], token=their_token)) == 403
    assert stream(first["WSUrl"])[-1]["Type"] == "end"


def test_expired_token_is_refused(server_factory, packages):
    server = server_factory.new("--compile-socket-token-ttl", "1")
    api = server.api()
    mnp_id = api.create_mnp()
    created = create(api, mnp_id, "1.0.0",
                     packages.fresh_url(harness.zip_bytes(project({"packageA": b""}))))
    time.sleep(2.2)
    assert refused_status(created["WSUrl"]) == 401
    # The task itself is unaffected.
    assert wait(api, created["TaskId"])["TaskStatus"] == TASK_SUCCEEDED


def test_compile_task_qr_code_of_a_failed_task_is_not_served(api, mnp_id, packages):
    files = project({"packageA": b""}, main_extra=filler(4 * MB + 1))
    created = create(api, mnp_id, "1.0.0", packages.fresh_url(harness.zip_bytes(files)))
    wait(api, created["TaskId"])
    base = urllib.parse.urlsplit(created["WSUrl"])
    png = requests.get(f"http://{base.netloc}/qrcode/compile/{created['TaskId']}.png",
                       timeout=30, proxies=NO_PROXY)
    assert png.status_code == 404


# ---------------------------------------------------------------------------
# Error codes by their triggers, and isolation
# ---------------------------------------------------------------------------


def test_refusals(server, api, mnp_id, packages, file_server):
    url = packages.fresh_url(harness.zip_bytes(project({"packageA": b""})))
    call = lambda **over: (lambda: api.call("CreateConsoleMNPVersionCompileTask",
                                            params(api, mnp_id, "1.0.0", url, **over)))
    bogus = harness.new_platform_id()
    expect_error(call(PlatformId=bogus), INVALID_PLATFORM, bogus)
    expect_error(call(MNPId="mpdoesnotexist00"), INVALID_MNP, "mpdoesnotexist00")
    expect_error(call(MNPVersion="1.0"), INVALID_VERSION, "MAJOR.MINOR.PATCH")
    expect_error(call(MNPVersionIntro=None, MNPVersionDesc=None), INVALID_INTRO)
    expect_error(call(MNPVersionIntro="x" * 201, MNPVersionDesc=None), INVALID_INTRO, "200")
    expect_error(call(FileUrl=file_server.url("/files/missing.zip")), DOWNLOAD_FAILED)
    big = packages.fresh_url(os.urandom(20 * MB + 1))
    expect_error(call(FileUrl=big), TOO_LARGE)
    expect_error(lambda: api.call("CreateConsoleMNPVersionCompileTask", {
        k: v for k, v in params(api, mnp_id, "1.0.0", url).items() if k != "FileInnerUrl"}),
        "InvalidParameterValue.ExistMismatchParameterType", "FileInnerUrl")
    # A version number is taken by a compile task as by CreateMNPVersion.
    task = create(api, mnp_id, "1.0.0", url)["TaskId"]
    assert wait(api, task)["TaskStatus"] == TASK_SUCCEEDED
    expect_error(call(MNPVersionIntro="again"), INVALID_VERSION, "1.0.0")
    expect_error(lambda: api.create_version(mnp_id, "1.0.0", url), INVALID_VERSION, "1.0.0")
    # The same request again answers the same task.
    assert create(api, mnp_id, "1.0.0", url)["TaskId"] == task

    # Describe: an unknown task, and a CreateMNPVersion task, are not compile tasks.
    expect_error(lambda: describe(api, "2024081210302952548"), INVALID_TASK)
    version_task = api.create_version(mnp_id, "1.1.0", url)
    expect_error(lambda: describe(api, version_task), INVALID_TASK, version_task)
    expect_error(lambda: describe(api, task, platform_id=bogus), INVALID_PLATFORM)


def test_another_account_sees_nothing(server, api, mnp_id, packages):
    url = packages.fresh_url(harness.zip_bytes(project({"packageA": b""})))
    task = create(api, mnp_id, "1.0.0", url)["TaskId"]
    wait(api, task)
    other = server.create_account()
    platform = server.create_platform(other.secret_id)["PlatformId"]
    theirs = server.api(other, platform)
    # Our task through their platform, and through ours.
    expect_error(lambda: describe(theirs, task), INVALID_TASK, task)
    expect_error(lambda: describe(theirs, task, platform_id=api.platform_id), INVALID_PLATFORM)
    # Our mini program through their platform.
    expect_error(lambda: theirs.call("CreateConsoleMNPVersionCompileTask",
                                     params(theirs, mnp_id, "9.0.0", url)), INVALID_MNP, mnp_id)
    expect_error(lambda: theirs.call("CreateConsoleMNPVersionCompileTask",
                                     params(theirs, mnp_id, "9.0.0", url,
                                            PlatformId=api.platform_id)), INVALID_PLATFORM)
    # Ours is unchanged.
    assert describe(api, task)["Data"]["TaskStatus"] == TASK_SUCCEEDED
