"""The life of a mini program version (docs/lifecycle.md), walked through the
official Python SDK's typed models (`models.<Action>Request` sent with
`client.<Action>`): host applications, versions, preview and trial QR codes,
approval under both of its names, release, rollback, the offline package
download, removal, races between concurrent callers, and isolation between
accounts. Every successful answer is also checked, as the raw JSON the SDK
received, against the spec (fields and JSON types, recursively).

The tests run on a platform of their own (created with `mnpd admin platform
create` on the shared server) with exactly two host applications, so what an
approval covers does not depend on the rest of the suite."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable, Optional

import pytest
import requests
import zxingcpp
from PIL import Image
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.tcmpp.v20240801 import models

import harness
from harness import MNP_ID_RE, TASK_ID_RE, UUID_RE, expect_error

# Error codes, as docs/lifecycle.md names their triggers.
INVALID_VALUE = "InvalidParameterValue"
INVALID_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
INVALID_MNP = "InvalidParameterValue.InvalidMNPId"
INVALID_MNP_VERSION = "InvalidParameterValue.InvalidMNPVersion"
INVALID_VERSION_ID = "InvalidParameterValue.InvalidMNPVersionId"
INVALID_TASK = "InvalidParameterValue.InvalidMNPVersionTaskId"
INVALID_TEAM = "InvalidParameterValue.InvalidTeamId"
INVALID_APPLY_ACTION = "InvalidParameterValue.InvalidApplyAction"
INVALID_APPROVAL_NO = "InvalidParameterValue.InvalidApprovalNo"
INVALID_NOTE = "InvalidParameterValue.InvalidApprovalNote"
ITEMS_EMPTY = "InvalidParameterValue.ProcessApprovalItemIsEmpty"
APP_MISMATCH = "InvalidParameterValue.ProcessApplicationAndApprovalApplicationMismatch"
NOT_PROCESSING = "InvalidParameterValue.ProcessMNPApprovalStatusError"
NOTHING_TO_CANCEL = "InvalidParameterValue.MNPApprovalStatusError"
FAILED = "FailedOperation"
APPROVAL_EXISTS = "FailedOperation.ExistMNPApprovalRecord"
SHOWCASE_EXISTS = "FailedOperation.ShowcaseVersionAlreadyExist"
NOT_APPROVED = "FailedOperation.OnlyReleasePlatformApprovedMNPVersion"
RELEASED = "FailedOperation.MNPVersionReleased"
NOT_GREATER = "FailedOperation.ReleaseMNPVersionNeedGreaterThanOnlineVersion"
NOTHING_ONLINE = "FailedOperation.MNPOnlineVersionNotExist"

# Approval (and item) statuses.
PROCESSING, REJECTED, APPROVED, CANCELLED = 1, 2, 3, 4

APPROVAL_NO_RE = re.compile(r"^aud[a-z0-9]{15}$")  # as the spec's examples
APPLICATION_ID_RE = re.compile(r"^app-[a-z0-9]{10}$")
NO_PROXY = {"http": None, "https": None}

# Pages of harness.mini_program_files().
ENTRY_PAGE = harness.MAIN_PAGES[0]
SUB_PAGE = f"{harness.SUB_ROOT}/{harness.SUB_PAGES[0]}"


# ---------------------------------------------------------------------------
# Typed SDK calls, checked against the spec
# ---------------------------------------------------------------------------


class Sdk:
    """Typed SDK calls for one platform: `sdk("ReleaseMNPVersion",
    MNPVersionId=7)` builds `models.ReleaseMNPVersionRequest`, sends it with
    `client.ReleaseMNPVersion` and returns the typed response. The raw JSON
    the SDK received is kept (per thread) and checked against the spec."""

    def __init__(self, client, platform_id: str, spec: dict):
        self.client = client
        self.platform_id = platform_id
        self.spec = spec
        self._local = threading.local()
        send = client.call

        def recording_call(action, params, *args, **kw):
            body = send(action, params, *args, **kw)
            self._local.raw = json.loads(body)
            return body

        # The typed client methods all go through `self.call`.
        client.call = recording_call

    def request(self, action: str, params: dict):
        req = getattr(models, f"{action}Request")()
        req.from_json_string(json.dumps(params))
        return req

    def __call__(self, action: str, **params):
        params.setdefault("PlatformId", self.platform_id)
        self._local.raw = None
        typed = getattr(self.client, action)(self.request(action, params))
        raw = self._local.raw
        assert raw is not None and "Response" in raw, raw
        resp = raw["Response"]
        assert isinstance(resp.get("RequestId"), str) and UUID_RE.match(resp["RequestId"]), resp
        assert typed.RequestId == resp["RequestId"]
        harness.check_spec_response(self.spec, action, resp,
                                    harness.example_nulls(self.spec, action))
        self._local.last = resp
        return typed

    def raw(self, action: str, **params) -> dict:
        """The raw `Response` (RequestId removed) of a typed call."""
        self(action, **params)
        return {k: v for k, v in self._local.last.items() if k != "RequestId"}

    def fails(self, code: str, action: str, *fragments: str, **params):
        return expect_error(lambda: self(action, **params), code, *fragments)


# ---------------------------------------------------------------------------
# The walk: helpers that bring a mini program to a stage
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """One of the two names of the approval machine."""
    submit: str
    decide: str
    listing: str
    status_filter: str
    status: str
    no: str
    note: str
    user: str
    time: str


APPROVAL = Names("CreateMNPApproval", "ProcessMNPApproval", "DescribeMNPApprovalList",
                 "ApprovalStatusList", "ApprovalStatus", "ApprovalNo", "ApprovalNote",
                 "ApprovalUser", "ApprovalTime")
AUDIT = Names("CreatePlatformAudit", "ModifyPlatformAuditStatus",
              "DescribeApplicationMNPVersionAuditList", "AuditStatusList", "AuditStatus",
              "AuditNo", "AuditNote", "AuditUser", "AuditTime")
NAMES = {"approval": APPROVAL, "audit": AUDIT}


class Lifecycle:
    """A platform of the bootstrap account with two host applications, and
    the steps of docs/lifecycle.md as typed SDK calls."""

    def __init__(self, server: harness.MnpdServer, sdk: Sdk, packages, team_id: str):
        self.server = server
        self.sdk = sdk
        self.packages = packages
        self.team_id = team_id
        self.apps: list[str] = []
        self.app_names: dict[str, str] = {}
        self._params = harness.Api(sdk.client, sdk.platform_id)

    @property
    def platform_id(self) -> str:
        return self.sdk.platform_id

    def create_application(self, name: str) -> str:
        resp = self.sdk("CreateApplication", ApplicationName=name,
                        Logo=f"https://cdn.example.com/logos/{name}.png",
                        TeamId=self.team_id, ApplicationType=2,
                        Intro=f"Host application {name}")
        app_id = resp.Data.ResourceId
        assert APPLICATION_ID_RE.match(app_id), app_id
        self.apps.append(app_id)
        self.app_names[app_id] = name
        return app_id

    def new_mnp(self, **over) -> str:
        resp = self.sdk("CreateMNP", **self._params.mnp_params(**over))
        assert MNP_ID_RE.match(resp.Data.ResourceId), resp.Data.ResourceId
        return resp.Data.ResourceId

    def wait_task(self, task_id: str, timeout: float = 45.0):
        deadline = time.monotonic() + timeout
        while True:
            data = self.sdk("DescribeMNPVersion", BusinessId=task_id).Data
            assert data.TaskStatus in harness.TASK_STATES, data
            if data.TaskStatus in (harness.TASK_FAILED, harness.TASK_SUCCEEDED):
                return data
            assert time.monotonic() < deadline, f"task {task_id} stuck at {data.TaskStatus}"
            time.sleep(0.05)

    def new_version(self, mnp: str, version: str, url: Optional[str] = None,
                    intro: Optional[str] = None) -> int:
        """CreateMNPVersion, polled to 60; the MNPVersionId from the Develop
        stage."""
        resp = self.sdk("CreateMNPVersion", MNPId=mnp, MNPVersion=version,
                        FileUrl=url or self.packages.mini_program,
                        MNPVersionIntro=intro or f"version {version}")
        task_id = resp.Data.TaskId
        assert TASK_ID_RE.match(task_id), task_id
        data = self.wait_task(task_id)
        assert (data.TaskStatus, data.TaskMsg) == (harness.TASK_SUCCEEDED, "Success"), (
            data.TaskStatus, data.TaskMsg)
        assert data.MNPId == mnp and data.TaskId == task_id
        develop = self.stage(mnp, "Develop")
        assert develop.MNPVersion == version, develop
        assert isinstance(develop.MNPVersionId, int) and develop.MNPVersionId > 0
        return develop.MNPVersionId

    def stages(self, mnp: str) -> dict:
        rows = self.sdk("DescribeMNPAllStageVersions", MNPId=mnp).Data
        phases = [r.Phase for r in rows]
        assert len(set(phases)) == len(phases), f"a phase listed twice: {phases}"
        assert set(phases) <= {"Develop", "Platform", "Online"}, phases
        for r in rows:
            assert r.MNPId == mnp
            assert r.ApprovalStatus == r.VersionCurrentStatus, r
        return {r.Phase: r for r in rows}

    def stage(self, mnp: str, phase: str):
        found = self.stages(mnp)
        assert phase in found, f"no {phase} row for {mnp}: {sorted(found)}"
        return found[phase]

    def submit(self, mnp: str, vid: int, names: Names = APPROVAL) -> str:
        """Submits the version; returns its new ApprovalNo (stage Platform)."""
        resp = self.sdk(names.submit, MNPVersionId=vid, ApplyAction="submit")
        assert resp.Data.Result is True
        platform = self.stage(mnp, "Platform")
        assert platform.MNPVersionId == vid, platform
        assert platform.ApprovalStatus == PROCESSING, platform
        assert APPROVAL_NO_RE.match(platform.ApprovalNo), platform.ApprovalNo
        return platform.ApprovalNo

    def decide_params(self, names: Names, no: str, items) -> dict:
        """ProcessMNPApproval / ModifyPlatformAuditStatus parameters for
        items of (AppId, result, note or None)."""
        if names is APPROVAL:
            return {"ApprovalNo": no, "ApprovalItems": [
                {k: v for k, v in (("AppId", app), ("ApprovalResult", result),
                                   ("ApprovalNote", note)) if v is not None}
                for app, result, note in items]}
        return {"AuditNo": no, "AuditResult": items[0][1] if items else APPROVED,
                "AuditItems": [
                    {k: v for k, v in (("ApplicationId", app), ("AuditStatus", result),
                                       ("AuditNote", note)) if v is not None}
                    for app, result, note in items]}

    def decide(self, names: Names, no: str, *items):
        resp = self.sdk(names.decide, **self.decide_params(names, no, items))
        assert resp.Data.Result is True

    def approve(self, mnp: str, vid: int) -> str:
        no = self.submit(mnp, vid)
        self.decide(APPROVAL, no, *[(app, APPROVED, None) for app in self.apps])
        platform = self.stage(mnp, "Platform")
        assert (platform.MNPVersionId, platform.ApprovalStatus) == (vid, APPROVED), platform
        return no

    def release(self, vid: int, action: str = "ReleaseMNPVersion"):
        assert self.sdk(action, MNPVersionId=vid).Data.Result is True

    def released(self, versions=("1.0.0",), url: Optional[str] = None):
        """A mini program whose versions were each approved and released, in
        order: (MNPId, [MNPVersionId])."""
        mnp = self.new_mnp()
        vids = []
        for v in versions:
            vid = self.new_version(mnp, v, url)
            self.approve(mnp, vid)
            self.release(vid)
            vids.append(vid)
        return mnp, vids

    def rows(self, mnp: str, statuses=None, names: Names = APPROVAL, **filters) -> list:
        params = {"Offset": 0, "Limit": 100, "Keyword": mnp, **filters}
        if statuses is not None:
            params[names.status_filter] = statuses
        data = self.sdk(names.listing, **params).Data
        assert data.TotalCount == len(data.DataList), (data.TotalCount, len(data.DataList))
        for r in data.DataList:
            assert r.MNPId == mnp, r
        return data.DataList

    def name_of(self, mnp: str) -> str:
        return self.sdk("DescribeMNPDetail", MNPId=mnp).Data.MNPName

    def online(self, mnp: str) -> list:
        data = self.sdk("DescribeOnlineVersion", MNPId=mnp).Data
        assert data.TotalCount == len(data.DataList) <= 1, data
        return [(r.MNPVersionId, r.MNPVersion) for r in data.DataList]

    def history(self, mnp: str) -> list:
        data = self.sdk("DescribeMNPReleasedVersionHistory", MNPId=mnp).Data
        assert data.TotalCount == len(data.DataList), data
        for r in data.DataList:
            assert r.MNPId == mnp and r.UpdateTime.isdigit(), r
        return [(r.MNPVersionId, r.MNPVersion) for r in data.DataList]

    def package_url(self, mnp: str, action: str = "DescribeMNPOfflinePackageURL") -> str:
        url = self.sdk(action, MNPId=mnp).Data.Data
        assert isinstance(url, str) and url, url
        return url


def http_get(url: str, headers: Optional[dict] = None) -> requests.Response:
    return requests.get(url, headers=headers or {}, timeout=30, proxies=NO_PROXY)


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a PNG."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n"), f"not a PNG: {png[:16]!r}"
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    found = [b for b in zxingcpp.read_barcodes(image)
             if b.format == zxingcpp.BarcodeFormat.QRCode and b.valid]
    assert len(found) == 1, f"expected one QR code, found {[(b.format, b.text) for b in found]}"
    return found[0].text


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lc(server, spec, packages) -> Lifecycle:
    """Step 1: a platform of the bootstrap account, its TeamId read back from
    DescribeMNP, and two host applications (CreateApplication)."""
    platform = server.create_platform(server.creds.secret_id)
    life = Lifecycle(server, Sdk(server.client(), platform["PlatformId"], spec), packages,
                     team_id="")
    mnp = life.new_mnp()
    described = life.sdk("DescribeMNP", MNPId=mnp).Data
    assert described.MNPId == mnp
    assert described.TeamId == platform["TeamId"], (
        f"DescribeMNP names team {described.TeamId!r}; the platform's default team is "
        f"{platform['TeamId']!r}")
    assert described.Status == 0 and described.AccessStatus == 1, described
    life.team_id = described.TeamId
    life.create_application("lifecycle-host-a")
    life.create_application("lifecycle-host-b")
    return life


@pytest.fixture(scope="module")
def foreign_app(server, spec, packages) -> str:
    """A host application of another platform of the same account."""
    platform = server.create_platform(server.creds.secret_id)
    other = Lifecycle(server, Sdk(server.client(), platform["PlatformId"], spec), packages,
                      team_id=platform["TeamId"])
    return other.create_application("foreign-host")


# ---------------------------------------------------------------------------
# 1. Host applications, a mini program and its versions
# ---------------------------------------------------------------------------


def test_host_applications_are_listed(lc):
    data = lc.sdk("DescribeApplicationList", Offset=0, Limit=100).Data
    assert data.TotalCount == 2 == len(data.DataList), data
    by_id = {a.ApplicationID: a for a in data.DataList}
    assert set(by_id) == set(lc.apps)
    for app_id, name in lc.app_names.items():
        assert by_id[app_id].ApplicationName == name


def test_versions_show_in_the_develop_stage(lc):
    mnp = lc.new_mnp()
    assert lc.stages(mnp) == {}, "a mini program without versions has no stage"
    first = lc.new_version(mnp, "1.0.0", intro="first version")
    dev = lc.stage(mnp, "Develop")
    assert (dev.MNPVersionId, dev.MNPVersion, dev.MNPVersionIntro) == (
        first, "1.0.0", "first version")
    assert (dev.ApprovalStatus, dev.ApprovalNo, dev.ShowCase, dev.RollbackVersion,
            dev.Status) == (0, "", 0, 0, 0), dev
    assert dev.CreateTime.isdigit() and int(dev.CreateTime) > 1_600_000_000, dev.CreateTime
    assert dev.CreateUser, "CreateUser should name the creator"

    second = lc.new_version(mnp, "1.1.0", intro="second version")
    assert second != first
    stages = lc.stages(mnp)
    assert list(stages) == ["Develop"], "only the latest version is in development"
    assert (stages["Develop"].MNPVersionId, stages["Develop"].MNPVersion) == (second, "1.1.0")

    board = lc.sdk("DescribeMNPBoard", MNPId=mnp).Data
    assert [(b.Phase, b.MNPVersionId, b.AuditStatus, b.AuditNo, b.ScanStatus, b.ScanScore)
            for b in board] == [("Develop", second, 0, "", 0, 0)]


# ---------------------------------------------------------------------------
# 2. Preview and trial
# ---------------------------------------------------------------------------


def open_link(lc: Lifecycle, link: str, mnp: str, vid: int, path: str, mode: str):
    """Checks what a QR code says and follows it as a host app would."""
    parts = urllib.parse.urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}/" == lc.server.url, (
        f"the QR code points at {link}, not at the server {lc.server.url}")
    assert parts.path == f"/open/{mnp}", link
    query = urllib.parse.parse_qs(parts.query)
    assert query == {"version_id": [str(vid)], "path": [path], "mode": [mode]}, query
    landing = http_get(link)
    assert landing.status_code == 200, landing.text
    body = landing.json()
    assert body["MNPId"] == mnp and str(body["MNPVersionId"]) == str(vid), body
    assert body["Path"] == path and body["Mode"] == mode, body


def test_preview_qr_code_opens_the_version(lc):
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0", intro="preview me")
    assert lc.stage(mnp, "Develop").ShowCase == 0
    path = f"{SUB_PAGE}?from=qr&n=1"
    resp = lc.sdk("ConfigureMNPPreview", MNPId=mnp, ActionType=1, MNPVersionId=vid,
                  PreivewEntrancePath=path)
    assert resp.Data.Result is True
    assert lc.stage(mnp, "Develop").ShowCase == 1

    data = lc.sdk("DescribeMNPPreview", MNPId=mnp, MNPVersionId=vid).Data
    assert (data.MNPId, data.MNPVersion, data.MNPVersionIntro, data.PreviewEntrancePath) == (
        mnp, "1.0.0", "preview me", path)
    assert data.MNPName and data.MNPDesc == "Created by the mnpd conformance suite."
    assert data.QRCodeUrl == f"{lc.server.url}qrcode/preview/{mnp}/{vid}.png", data.QRCodeUrl

    png = http_get(data.QRCodeUrl)
    assert png.status_code == 200, png.text
    assert png.headers["Content-Type"] == "image/png"
    open_link(lc, decode_qr(png.content), mnp, vid, path, "preview")

    # Cancelled: the QR code is gone and DescribeMNPPreview refuses.
    assert lc.sdk("ConfigureMNPPreview", MNPId=mnp, ActionType=2,
                  MNPVersionId=vid).Data.Result is True
    assert lc.stage(mnp, "Develop").ShowCase == 0
    assert http_get(data.QRCodeUrl).status_code == 404
    lc.sdk.fails(INVALID_VALUE, "DescribeMNPPreview", MNPId=mnp, MNPVersionId=vid)


def test_preview_without_path_opens_the_entry_page(lc):
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0")
    lc.sdk("ConfigureMNPPreview", MNPId=mnp, ActionType=1, MNPVersionId=vid)
    data = lc.sdk("DescribeMNPPreview", MNPId=mnp, MNPVersionId=vid).Data
    assert data.PreviewEntrancePath == ENTRY_PAGE
    open_link(lc, decode_qr(http_get(data.QRCodeUrl).content), mnp, vid, ENTRY_PAGE,
              "preview")


MAX_ENTRANCE_PATH_BYTES = 512  # docs/lifecycle.md, "Preview and trial"


def test_entrance_path_longest_accepted_renders_and_longer_is_refused(lc):
    """The cap keeps every stored path drawable: the longest one, of
    characters that URL-encoding triples, still gives a QR code that opens
    it; one byte more, or a megabyte, is refused up front instead of being
    stored and breaking the QR route."""
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0")
    prefix = f"{SUB_PAGE}?q="
    longest = prefix + "%" * (MAX_ENTRANCE_PATH_BYTES - len(prefix))
    for too_long in [longest + "%", prefix + "x" * 1_000_000]:
        lc.sdk.fails(INVALID_VALUE, "ConfigureMNPPreview", f"at most {MAX_ENTRANCE_PATH_BYTES}",
                     MNPId=mnp, ActionType=1, MNPVersionId=vid, PreivewEntrancePath=too_long)
        lc.sdk.fails(INVALID_VALUE, "ModifyMNPVersionPreview", f"at most {MAX_ENTRANCE_PATH_BYTES}",
                     MNPId=mnp, ActionType=1, MNPVersionId=vid, TestEntrancePath=too_long)
    lc.sdk("ConfigureMNPPreview", MNPId=mnp, ActionType=1, MNPVersionId=vid,
           PreivewEntrancePath=longest)
    data = lc.sdk("DescribeMNPPreview", MNPId=mnp, MNPVersionId=vid).Data
    assert data.PreviewEntrancePath == longest
    png = http_get(data.QRCodeUrl)
    assert png.status_code == 200, png.text
    open_link(lc, decode_qr(png.content), mnp, vid, longest, "preview")


def test_qr_code_of_offline_mini_program_is_not_served(lc):
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0")
    lc.sdk("ConfigureMNPPreview", MNPId=mnp, ActionType=1, MNPVersionId=vid)
    url = lc.sdk("DescribeMNPPreview", MNPId=mnp, MNPVersionId=vid).Data.QRCodeUrl
    assert http_get(url).status_code == 200
    assert lc.sdk("ModifyMNPStatusOffline", MNPId=mnp).Data.Result is True
    offline = http_get(url)
    assert offline.status_code == 404, (
        f"the QR code of an offline mini program answered {offline.status_code}; "
        "nothing of it is to be served to users")


def test_trial_version_qr_code_and_host_apps(lc):
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "2.0.0", intro="trial me")
    path = "pages/logs/logs"
    resp = lc.sdk("ModifyMNPVersionPreview", MNPId=mnp, ActionType=1, MNPVersionId=vid,
                  TestEntrancePath=path)
    assert resp.Data.Result is True
    assert lc.stage(mnp, "Develop").ShowCase == 1

    data = lc.sdk("DescribeMNPVersionPreview", MNPId=mnp, MNPVersionId=vid).Data
    assert (data.MNPId, data.MNPVersion, data.MNPVersionIntro, data.TestEntrancePath) == (
        mnp, "2.0.0", "trial me", path)
    assert data.QRCodeUrl == f"{lc.server.url}qrcode/trial/{mnp}/{vid}.png", data.QRCodeUrl
    assert {a.ApplicationId: a.ApplicationName for a in data.AppList} == lc.app_names
    for a in data.AppList:
        assert a.ApplicationIcon == f"https://cdn.example.com/logos/{a.ApplicationName}.png"
    open_link(lc, decode_qr(http_get(data.QRCodeUrl).content), mnp, vid, path, "trial")
    # The trial is not a preview.
    lc.sdk.fails(INVALID_VALUE, "DescribeMNPPreview", MNPId=mnp, MNPVersionId=vid)


@pytest.mark.parametrize("kind", ["preview", "trial"])
def test_one_showcase_version_per_kind(lc, kind):
    set_action, path_field = {
        "preview": ("ConfigureMNPPreview", "PreivewEntrancePath"),
        "trial": ("ModifyMNPVersionPreview", "TestEntrancePath"),
    }[kind]
    other_action = ("ModifyMNPVersionPreview" if kind == "preview" else "ConfigureMNPPreview")
    mnp = lc.new_mnp()
    first = lc.new_version(mnp, "1.0.0")
    second = lc.new_version(mnp, "1.0.1")
    lc.sdk(set_action, MNPId=mnp, ActionType=1, MNPVersionId=first)
    # Setting the same version again is fine (a new path replaces the old).
    lc.sdk(set_action, MNPId=mnp, ActionType=1, MNPVersionId=first,
           **{path_field: "pages/logs/logs"})
    lc.sdk.fails(SHOWCASE_EXISTS, set_action, MNPId=mnp, ActionType=1, MNPVersionId=second)
    # The other kind is separate: the second version can be that one.
    lc.sdk(other_action, MNPId=mnp, ActionType=1, MNPVersionId=second)
    # Once cancelled, the second version may take the place.
    lc.sdk.fails(INVALID_VALUE, set_action, MNPId=mnp, ActionType=2, MNPVersionId=second)
    lc.sdk(set_action, MNPId=mnp, ActionType=2, MNPVersionId=first)
    lc.sdk(set_action, MNPId=mnp, ActionType=1, MNPVersionId=second)


@pytest.mark.parametrize("action,field", [
    ("ConfigureMNPPreview", "PreivewEntrancePath"),
    ("ModifyMNPVersionPreview", "TestEntrancePath"),
])
def test_preview_path_must_be_a_page_of_the_package(lc, action, field):
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0")
    for bad in ["pages/missing/missing", "pages/index", "pages/cat/cat",
                "pages/index/index.js", "app.json"]:
        lc.sdk.fails(INVALID_VALUE, action, bad, MNPId=mnp, ActionType=1, MNPVersionId=vid,
                     **{field: bad})
    lc.sdk.fails(INVALID_VALUE, action, MNPId=mnp, ActionType=3, MNPVersionId=vid)
    assert lc.stage(mnp, "Develop").ShowCase == 0, "a refused path must not set anything"
    for good in [ENTRY_PAGE, SUB_PAGE, "pages/logs/logs?tab=2"]:
        lc.sdk(action, MNPId=mnp, ActionType=1, MNPVersionId=vid, **{field: good})


def test_preview_of_another_mini_programs_version(lc):
    mine, theirs = lc.new_mnp(), lc.new_mnp()
    their_vid = lc.new_version(theirs, "1.0.0")
    lc.new_version(mine, "1.0.0")
    lc.sdk.fails(INVALID_VERSION_ID, "ConfigureMNPPreview", MNPId=mine, ActionType=1,
                 MNPVersionId=their_vid)
    lc.sdk.fails(INVALID_VERSION_ID, "DescribeMNPVersionPreview", MNPId=mine,
                 MNPVersionId=their_vid)


# ---------------------------------------------------------------------------
# 3. Approval, under both names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["approval", "audit"])
def test_approval_reject_resubmit_approve(lc, flavor):
    """The approval names walk the first version, the audit names the
    second version of a mini program."""
    names = NAMES[flavor]
    mnp = lc.new_mnp()
    first = lc.new_version(mnp, "1.0.0")
    second = lc.new_version(mnp, "1.1.0")
    vid, version = (first, "1.0.0") if flavor == "approval" else (second, "1.1.0")
    app_a, app_b = lc.apps

    no = lc.submit(mnp, vid, names)
    rows = lc.rows(mnp, [PROCESSING], names)
    assert sorted(r.ApplicationId for r in rows) == sorted(lc.apps), "one row per application"
    for r in rows:
        assert getattr(r, names.no) == no
        assert getattr(r, names.status) == PROCESSING
        assert (r.MNPVersionId, r.MNPVersion, r.TeamId) == (vid, version, lc.team_id), r
        assert r.ApplicationName == lc.app_names[r.ApplicationId]
        assert r.ApplicationLogo.endswith(f"/{r.ApplicationName}.png")
        assert r.ApplyUser and r.ApplyTime.isdigit() and int(r.ApplyTime) > 1_600_000_000
        assert (getattr(r, names.user), getattr(r, names.time), getattr(r, names.note)) == (
            "", "0", "")
    # 0 ("pending") is taken as 1; nothing is rejected yet; one application.
    assert len(lc.rows(mnp, [0], names)) == 2
    assert lc.rows(mnp, [REJECTED, APPROVED, CANCELLED], names) == []
    assert [r.ApplicationId for r in lc.rows(mnp, [PROCESSING], names,
                                             ApplicationId=app_b)] == [app_b]
    lc.sdk.fails(INVALID_VALUE, names.listing, "5", Offset=0, Limit=10,
                 **{names.status_filter: [5]})

    note = "The icon is blurry on high-density screens."
    lc.decide(names, no, (app_a, REJECTED, note))
    assert lc.stage(mnp, "Platform").ApprovalStatus == REJECTED
    [rejected] = lc.rows(mnp, [REJECTED], names)
    assert (rejected.ApplicationId, getattr(rejected, names.no),
            getattr(rejected, names.note)) == (app_a, no, note)
    assert getattr(rejected, names.user), "the deciding user is recorded"
    assert int(getattr(rejected, names.time)) >= int(rejected.ApplyTime)
    lc.sdk.fails(NOT_PROCESSING, names.decide, no,
                 **lc.decide_params(names, no, [(app_b, APPROVED, None)]))

    again = lc.submit(mnp, vid, names)
    assert again != no, "a resubmission is a new approval"
    lc.decide(names, again, (app_a, APPROVED, None))
    assert lc.stage(mnp, "Platform").ApprovalStatus == PROCESSING, (
        "approved by one of two applications: still in progress")
    if names is APPROVAL:
        lc.decide(names, again, (app_b, APPROVED, "looks good"))
    else:
        # Without AuditItems, AuditResult applies to every application.
        assert lc.sdk(names.decide, AuditNo=again, AuditResult=APPROVED,
                      AuditNote="looks good").Data.Result is True
    platform = lc.stage(mnp, "Platform")
    assert (platform.MNPVersionId, platform.ApprovalNo, platform.ApprovalStatus) == (
        vid, again, APPROVED), platform
    board = {b.Phase: b for b in lc.sdk("DescribeMNPBoard", MNPId=mnp).Data}
    assert (board["Platform"].AuditNo, board["Platform"].AuditStatus) == (again, APPROVED)
    approved = lc.rows(mnp, [APPROVED], names)
    assert sorted((getattr(r, names.no), r.ApplicationId) for r in approved) == sorted(
        (again, a) for a in lc.apps)
    assert {getattr(r, names.note) for r in approved if r.ApplicationId == app_b} == {
        "looks good"}


@pytest.mark.parametrize("flavor", ["approval", "audit"])
def test_approval_refusals(lc, foreign_app, flavor):
    names = NAMES[flavor]
    mnp = lc.new_mnp()
    first = lc.new_version(mnp, "1.0.0")
    second = lc.new_version(mnp, "1.0.1")
    app_a, app_b = lc.apps

    lc.sdk.fails(INVALID_APPLY_ACTION, names.submit, "approve", MNPVersionId=first,
                 ApplyAction="approve")
    lc.sdk.fails(NOTHING_TO_CANCEL, names.submit, MNPVersionId=first, ApplyAction="cancel")
    no = lc.submit(mnp, first, names)
    lc.sdk.fails(APPROVAL_EXISTS, names.submit, no, MNPVersionId=first, ApplyAction="submit")
    lc.sdk.fails(APPROVAL_EXISTS, names.submit, no, MNPVersionId=second, ApplyAction="submit")
    # The open approval covers the first version: nothing of the second to cancel.
    lc.sdk.fails(NOTHING_TO_CANCEL, names.submit, MNPVersionId=second, ApplyAction="cancel")

    def refused(code, items, approval_no=no, *fragments):
        lc.sdk.fails(code, names.decide, *fragments,
                     **lc.decide_params(names, approval_no, items))

    refused(INVALID_NOTE, [(app_a, REJECTED, None)])
    refused(INVALID_NOTE, [(app_a, REJECTED, "   ")])
    refused(INVALID_NOTE, [(app_a, APPROVED, None), (app_b, REJECTED, "")])
    if names is APPROVAL:
        refused(ITEMS_EMPTY, [])
    refused(INVALID_APPROVAL_NO, [(app_a, APPROVED, None)], "audzzzzzzzzzzzzzzz",
            "audzzzzzzzzzzzzzzz")
    refused(APP_MISMATCH, [(foreign_app, APPROVED, None)], no, foreign_app)
    # One good item and one foreign: nothing is applied.
    refused(APP_MISMATCH, [(app_a, REJECTED, "no"), (foreign_app, APPROVED, None)], no,
            foreign_app)
    refused(INVALID_VALUE, [(app_a, PROCESSING, None)])
    assert [getattr(r, names.status) for r in lc.rows(mnp, None, names)] == [
        PROCESSING, PROCESSING], "refused decisions must change nothing"
    assert lc.stage(mnp, "Platform").ApprovalStatus == PROCESSING

    # Cancel: the approval ends (4) and leaves the Platform stage.
    assert lc.sdk(names.submit, MNPVersionId=first, ApplyAction="cancel").Data.Result is True
    assert "Platform" not in lc.stages(mnp)
    assert [getattr(r, names.status) for r in lc.rows(mnp, [CANCELLED], names)] == [
        CANCELLED, CANCELLED]
    refused(NOT_PROCESSING, [(app_a, APPROVED, None)], no, no)
    lc.sdk.fails(NOTHING_TO_CANCEL, names.submit, MNPVersionId=first, ApplyAction="cancel")

    # Processing a finished (approved) approval.
    done = lc.submit(mnp, second, names)
    lc.decide(names, done, (app_a, APPROVED, None), (app_b, APPROVED, None))
    refused(NOT_PROCESSING, [(app_a, REJECTED, "too late")], done, done)
    lc.sdk.fails(NOTHING_TO_CANCEL, names.submit, MNPVersionId=second, ApplyAction="cancel")


def test_approval_needs_a_host_application(server, spec, packages):
    platform = server.create_platform(server.creds.secret_id)
    bare = Lifecycle(server, Sdk(server.client(), platform["PlatformId"], spec), packages,
                     team_id=platform["TeamId"])
    mnp = bare.new_mnp()
    vid = bare.new_version(mnp, "1.0.0")
    bare.sdk.fails(FAILED, "CreateMNPApproval", "CreateApplication", MNPVersionId=vid,
                   ApplyAction="submit")
    assert "Platform" not in bare.stages(mnp)


def test_approval_covers_the_applications_of_submit_time(server, spec, packages):
    platform = server.create_platform(server.creds.secret_id)
    life = Lifecycle(server, Sdk(server.client(), platform["PlatformId"], spec), packages,
                     team_id=platform["TeamId"])
    first_app = life.create_application("early-host")
    mnp = life.new_mnp()
    vid = life.new_version(mnp, "1.0.0")
    no = life.submit(mnp, vid)
    late_app = life.create_application("late-host")
    life.sdk.fails(APP_MISMATCH, "ProcessMNPApproval", late_app,
                   **life.decide_params(APPROVAL, no, [(late_app, APPROVED, None)]))
    assert [r.ApplicationId for r in life.rows(mnp)] == [first_app]
    # Approved by every application it covers: approved.
    life.decide(APPROVAL, no, (first_app, APPROVED, None))
    assert life.stage(mnp, "Platform").ApprovalStatus == APPROVED
    # The next approval covers both.
    newer = life.new_version(mnp, "1.0.1")
    again = life.submit(mnp, newer)
    assert sorted(r.ApplicationId for r in life.rows(mnp, [PROCESSING])) == sorted(
        [first_app, late_app])
    life.sdk.fails(APP_MISMATCH, "ProcessMNPApproval", "foreign",
                   **life.decide_params(APPROVAL, again, [("app-foreign000", APPROVED, None)]))


def test_platform_stage_is_left_out_after_a_cancel(lc):
    """docs/lifecycle.md: the Platform row is the version of the latest
    approval, left out when that approval was cancelled."""
    mnp = lc.new_mnp()
    first = lc.new_version(mnp, "1.0.0")
    lc.approve(mnp, first)
    assert "Platform" in lc.stages(mnp)
    second = lc.new_version(mnp, "1.1.0")
    lc.submit(mnp, second)
    lc.sdk("CreateMNPApproval", MNPVersionId=second, ApplyAction="cancel")
    stages = lc.stages(mnp)
    assert stages["Develop"].ApprovalStatus == CANCELLED, "the latest approval of 1.1.0"
    assert "Platform" not in stages, stages


def test_rejected_approval_leaves_nothing_pending(lc):
    """One rejection ends the approval (status 2): nothing of it can be
    processed any more, so the pending listing (ApprovalStatusList [1], the
    host applications' worklist) must not offer the other application's item,
    as it does not after a cancel."""
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0")
    no = lc.submit(mnp, vid)
    app_a, app_b = lc.apps
    lc.decide(APPROVAL, no, (app_a, REJECTED, "crashes on start"))
    lc.sdk.fails(NOT_PROCESSING, "ProcessMNPApproval",
                 **lc.decide_params(APPROVAL, no, [(app_b, APPROVED, None)]))
    pending = [(r.ApprovalNo, r.ApplicationId, r.ApprovalStatus)
               for r in lc.rows(mnp, [PROCESSING])]
    assert pending == [], (
        f"approval {no} is rejected, yet DescribeMNPApprovalList with ApprovalStatusList [1] "
        f"lists it as pending: {pending}")


def test_concurrent_decisions_of_the_applications(server, spec, packages):
    """Every application decides at the same moment: no decision is lost, and
    a rejection is never overwritten by the approvals around it."""
    platform = server.create_platform(server.creds.secret_id)
    life = Lifecycle(server, Sdk(server.client(), platform["PlatformId"], spec), packages,
                     team_id=platform["TeamId"])
    for i in range(6):
        life.create_application(f"busy-host-{i}")
    mnp = life.new_mnp()
    for round_, rejecter in enumerate([None, 3, None, 0]):
        vid = life.new_version(mnp, f"1.0.{round_}")
        no = life.submit(mnp, vid)
        sdks = [Sdk(server.client(), life.platform_id, spec) for _ in life.apps]
        barrier = threading.Barrier(len(sdks))

        def decide(i):
            result, note = (REJECTED, "no") if i == rejecter else (APPROVED, None)
            barrier.wait(timeout=10)
            try:
                sdks[i]("ProcessMNPApproval", **life.decide_params(
                    APPROVAL, no, [(life.apps[i], result, note)]))
                return result
            except TencentCloudSDKException as e:
                return e.get_code()

        with concurrent.futures.ThreadPoolExecutor(len(sdks)) as pool:
            outcomes = list(pool.map(decide, range(len(sdks))))
        rows = {r.ApplicationId: r.ApprovalStatus for r in life.rows(mnp)
                if r.ApprovalNo == no}
        status = life.stage(mnp, "Platform").ApprovalStatus
        if rejecter is None:
            assert outcomes == [APPROVED] * len(sdks), outcomes
            assert rows == {app: APPROVED for app in life.apps}, (
                f"round {round_}: decisions lost: {rows}")
            assert status == APPROVED, f"round {round_}: every application approved: {status}"
        else:
            # Approvals that came after the rejection find it finished.
            assert outcomes[rejecter] == REJECTED, outcomes
            assert set(outcomes) <= {APPROVED, REJECTED, NOT_PROCESSING}, outcomes
            assert status == REJECTED, f"round {round_}: one application rejected: {status}"
            assert rows[life.apps[rejecter]] == REJECTED, rows
            for i, app in enumerate(life.apps):
                if outcomes[i] == APPROVED:
                    assert rows[app] == APPROVED, (f"round {round_}: the approval by {app} "
                                                   f"was accepted but lost: {rows}")


def test_unknown_version_in_approval_and_release(lc):
    for action in ["CreateMNPApproval", "CreatePlatformAudit"]:
        lc.sdk.fails(INVALID_VERSION_ID, action, "999999999", MNPVersionId=999999999,
                     ApplyAction="submit")
    for action in ["ReleaseMNPVersion", "CreateOnlineApply"]:
        lc.sdk.fails(INVALID_VERSION_ID, action, "999999999", MNPVersionId=999999999)


# ---------------------------------------------------------------------------
# 4. Release
# ---------------------------------------------------------------------------


def test_release_rules_and_what_the_listings_show(lc):
    mnp = lc.new_mnp(MNPName=harness.unique_name("release"))
    a = lc.new_version(mnp, "1.9.0", intro="first")
    b = lc.new_version(mnp, "1.9.5", intro="second")
    c = lc.new_version(mnp, "1.10.0", intro="third")
    assert lc.online(mnp) == [] and lc.history(mnp) == []

    lc.sdk.fails(NOT_APPROVED, "ReleaseMNPVersion", "1.9.0", MNPVersionId=a)
    no = lc.submit(mnp, a)
    lc.sdk.fails(NOT_APPROVED, "ReleaseMNPVersion", MNPVersionId=a)  # in progress
    lc.decide(APPROVAL, no, (lc.apps[0], REJECTED, "not yet"))
    lc.sdk.fails(NOT_APPROVED, "ReleaseMNPVersion", MNPVersionId=a)  # rejected
    lc.approve(mnp, a)

    assert lc.sdk("ReleaseMNPVersion", MNPVersionId=a).Data.Result is True
    lc.sdk.fails(RELEASED, "ReleaseMNPVersion", "1.9.0", MNPVersionId=a)
    lc.sdk.fails(RELEASED, "CreateOnlineApply", MNPVersionId=a)
    lc.sdk.fails(RELEASED, "CreateMNPApproval", MNPVersionId=a, ApplyAction="submit")
    assert lc.online(mnp) == [(a, "1.9.0")]
    detail = lc.sdk("DescribeMNPDetail", MNPId=mnp).Data
    assert (detail.OnlineStatus, detail.Status) == (1, 1), "the first release: Status 0 -> 1"
    described = lc.sdk("DescribeMNP", MNPId=mnp).Data
    assert (described.Status, described.AccessStatus) == (1, 2)

    lc.approve(mnp, c)
    lc.approve(mnp, b)
    # CreateOnlineApply is ReleaseMNPVersion's other name. Versions compare as
    # numbers: 1.10.0 is greater than 1.9.5 (and than 1.9.0).
    lc.release(c, action="CreateOnlineApply")
    lc.sdk.fails(NOT_GREATER, "ReleaseMNPVersion", "1.9.5", MNPVersionId=b)
    lc.sdk.fails(NOT_GREATER, "CreateOnlineApply", MNPVersionId=b)

    assert lc.online(mnp) == [(c, "1.10.0")]
    online = lc.sdk("DescribeOnlineVersion", MNPId=mnp).Data.DataList[0]
    assert online.MNPVersionNote == "third" and online.UpdateTime.isdigit()
    assert lc.history(mnp) == [(c, "1.10.0"), (a, "1.9.0")], "releases, newest first"
    stages = lc.stages(mnp)
    assert (stages["Online"].MNPVersionId, stages["Online"].RollbackVersion,
            stages["Online"].ApprovalStatus, stages["Online"].Status) == (c, 0, APPROVED, 1)

    listed = lc.sdk("DescribeMNPList", Offset=0, Limit=10, Keyword=lc.name_of(mnp)).Data
    [item] = [i for i in listed.DataList if i.MNPId == mnp]
    assert (item.EffectStatus, item.EffectMNPVersionId, item.EffectMNPVersion, item.Status) == (
        2, c, "1.10.0", 1), item


def test_never_released_mini_program_in_the_listings(lc):
    mnp = lc.new_mnp()
    lc.new_version(mnp, "1.0.0")
    [item] = [i for i in lc.sdk("DescribeMNPList", Offset=0, Limit=10,
                                Keyword=lc.name_of(mnp)).Data.DataList if i.MNPId == mnp]
    assert (item.EffectStatus, item.EffectMNPVersionId, item.EffectMNPVersion, item.Status) == (
        0, 0, "", 0), item
    assert lc.sdk("DescribeMNPDetail", MNPId=mnp).Data.OnlineStatus == 0
    lc.sdk.fails(NOTHING_ONLINE, "DescribeMNPOfflinePackageURL", MNPId=mnp)
    lc.sdk.fails(NOTHING_ONLINE, "DescribeOfflineMNPPackage", MNPId=mnp)


# ---------------------------------------------------------------------------
# 5. Rollback
# ---------------------------------------------------------------------------


def test_rollback_rules(lc):
    mnp, (a, b) = lc.released(("1.9.0", "1.10.0"))
    never = lc.new_version(mnp, "1.11.0")
    old_url = lc.package_url(mnp)
    assert http_get(old_url).status_code == 200

    # Versions compare as numbers: 1.9.0 is earlier than 1.10.0.
    # Refused: a version never released, and one not earlier than online.
    lc.sdk.fails(FAILED, "RollbackMNPVersion", MNPId=mnp, MNPVersionId=never,
                 MNPVersion="1.11.0")
    lc.sdk.fails(FAILED, "RollbackMNPVersion", MNPId=mnp, MNPVersionId=b, MNPVersion="1.10.0")
    lc.sdk.fails(INVALID_MNP_VERSION, "RollbackMNPVersion", "1.9.0", MNPId=mnp,
                 MNPVersionId=a, MNPVersion="9.9.9")
    assert lc.online(mnp) == [(b, "1.10.0")]

    resp = lc.sdk("RollbackMNPVersion", MNPId=mnp, MNPVersionId=a, MNPVersion="1.9.0")
    assert resp.Data.Result is True
    assert lc.online(mnp) == [(a, "1.9.0")]
    online = lc.stage(mnp, "Online")
    assert (online.MNPVersionId, online.RollbackVersion) == (a, 1), online
    assert lc.history(mnp) == [(b, "1.10.0"), (a, "1.9.0")], "a rollback is not a release"
    assert http_get(old_url).status_code == 404, "the URL of a version no longer online"
    assert http_get(lc.package_url(mnp)).status_code == 200

    # No rollback right after a rollback, under either name.
    lc.sdk.fails(FAILED, "RollbackMNPVersion", "rollback", MNPId=mnp, MNPVersionId=a,
                 MNPVersion="1.9.0")
    lc.sdk.fails(FAILED, "ModifyOnlineVersion", "rollback", MNPId=mnp, MNPVersionId=a)
    assert lc.online(mnp) == [(a, "1.9.0")]

    # A new release, then ModifyOnlineVersion (the other name) rolls back.
    c = lc.new_version(mnp, "2.0.0")
    lc.approve(mnp, c)
    lc.release(c)
    assert lc.stage(mnp, "Online").RollbackVersion == 0
    assert lc.sdk("ModifyOnlineVersion", MNPId=mnp, MNPVersionId=b).Data.Result is True
    online = lc.stage(mnp, "Online")
    assert (online.MNPVersionId, online.MNPVersion, online.RollbackVersion) == (b, "1.10.0", 1)
    assert lc.history(mnp) == [(c, "2.0.0"), (b, "1.10.0"), (a, "1.9.0")]


def test_rollback_with_nothing_online(lc):
    mnp = lc.new_mnp()
    vid = lc.new_version(mnp, "1.0.0")
    lc.approve(mnp, vid)
    lc.sdk.fails(NOTHING_ONLINE, "RollbackMNPVersion", MNPId=mnp, MNPVersionId=vid,
                 MNPVersion="1.0.0")
    lc.sdk.fails(NOTHING_ONLINE, "ModifyOnlineVersion", MNPId=mnp, MNPVersionId=vid)


def test_rollback_to_a_version_of_another_mini_program(lc):
    mine, (a, _) = lc.released(("1.0.0", "1.1.0"))
    theirs, (x,) = lc.released(("1.0.0",))
    lc.sdk.fails(INVALID_VERSION_ID, "RollbackMNPVersion", MNPId=mine, MNPVersionId=x,
                 MNPVersion="1.0.0")
    lc.sdk.fails(INVALID_MNP, "ModifyOnlineVersion", "mp0000000000zzzz",
                 MNPId="mp0000000000zzzz", MNPVersionId=a)


# ---------------------------------------------------------------------------
# 6. The offline package
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def offline(lc):
    """A released mini program whose package is bytes of its own."""
    files = harness.mini_program_files()
    files["utils/build.js"] = f"module.exports = '{harness.unique_name('build')}'\n".encode()
    data = harness.zip_bytes(files)
    mnp, (vid,) = lc.released(("3.1.4",), url=lc.packages.fresh_url(data))
    return mnp, vid, data


def test_offline_package_url_and_download(lc, offline):
    mnp, vid, data = offline
    sha = hashlib.sha256(data).hexdigest()
    pattern = re.compile(
        "^" + re.escape(f"{lc.server.url}packages/{mnp}/{vid}/{mnp}-3.1.4.zip")
        + r"\?expires=([0-9]+)&signature=([0-9a-f]{64})$")
    for action in ["DescribeMNPOfflinePackageURL", "DescribeOfflineMNPPackage"]:
        url = lc.package_url(mnp, action)
        m = pattern.match(url)
        assert m, f"{action} answered {url!r}"
        assert abs(int(m.group(1)) - (time.time() + 3600)) < 120, "valid for --package-url-ttl"
        got = http_get(url)
        assert got.status_code == 200, got.text
        assert got.content == data, "the package must be the bytes given to CreateMNPVersion"
        assert got.headers["ETag"] == f'"{sha}"'
        assert got.headers["Content-Type"] == "application/zip"
        assert int(got.headers["Content-Length"]) == len(data)


def test_offline_package_policy_follows_the_domain_lists(lc, offline):
    """The manifest next to the package carries the effective domain lists
    (docs/host-apps.md), read anew at each fetch: no new version needed."""
    mnp, vid, data = offline
    url = lc.package_url(mnp, "DescribeOfflineMNPPackage")
    policy_url = url.replace(".zip?", ".policy.json?")

    def policy():
        got = http_get(policy_url)
        assert got.status_code == 200, got.text
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["Cache-Control"] == "no-store"
        body = got.json()
        assert (body["mnpId"], body["mnpVersionId"], body["version"]) == (mnp, vid, "3.1.4")
        assert body["packageSha256"] == hashlib.sha256(data).hexdigest()
        assert set(body["domains"]) == {"request", "uploadFile", "downloadFile", "socket", "webView"}
        return body["domains"]

    own = harness.unique_name("pol").lower()
    api_host, black_host = f"api.{own}.example.com", f"ads.{own}.example.com"
    lc.sdk("ModifyDomain", MNPId=mnp, Domain=[
        {"DomainType": 1, "DomainUrlList": [f"https://{api_host}", f"https://{black_host}"]},
        {"DomainType": 4, "DomainUrlList": [f"wss://{api_host}"]}])
    first = policy()
    assert {f"https://{api_host}", f"https://{black_host}"} <= set(first["request"])
    assert f"wss://{api_host}" in first["socket"]
    lc.sdk("ModifyDomain", MNPId=mnp, Domain=[
        {"DomainType": 1, "DomainUrlList": [f"https://{black_host}"]}])
    after_modify = policy()
    assert f"https://{api_host}" not in after_modify["request"]
    assert f"wss://{api_host}" in after_modify["socket"]
    # Black-listed after the mini program listed it: gone from the policy.
    lc.sdk("CreateGlobalDomain", DomainType=2, DomainUrlList=[black_host])
    assert f"https://{black_host}" not in policy()["request"]
    # A disabled domain leaves it too.
    teams = lc.sdk("DescribeDomainTeamList", Offset=0, Limit=1000).Data.DataList
    team_rows = [r for t in teams for r in lc.sdk(
        "DescribeTeamDomainList", TeamId=t.TeamId, Offset=0, Limit=1000).Data.DataList]
    socket = [r for r in team_rows if r.MNPId == mnp and r.DomainUrl == f"wss://{api_host}"]
    assert len(socket) == 1, team_rows
    lc.sdk("DisableTeamDomain", DomainId=socket[0].DomainId)
    assert f"wss://{api_host}" not in policy()["socket"]
    # The same signature rules as the package.
    tampered = policy_url.replace("signature=", "signature=0")
    assert http_get(tampered).status_code == 403


def test_offline_package_conditional_and_range_requests(lc, offline):
    mnp, _, data = offline
    url = lc.package_url(mnp)
    etag = f'"{hashlib.sha256(data).hexdigest()}"'

    not_modified = http_get(url, {"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["ETag"] == etag
    assert http_get(url, {"If-None-Match": f'"0000", W/{etag}'}).status_code == 304
    assert http_get(url, {"If-None-Match": '"0000"'}).content == data

    part = http_get(url, {"Range": "bytes=0-99"})
    assert part.status_code == 206, part.status_code
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert part.content == data[:100]
    tail = http_get(url, {"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, data[-10:])
    assert tail.headers["Content-Range"] == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"
    beyond = http_get(url, {"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"


def test_offline_package_signature_is_checked(lc, offline):
    mnp, vid, _ = offline
    url = lc.package_url(mnp)
    base, query = url.split("?")
    q = dict(urllib.parse.parse_qsl(query))
    sig = q["signature"]
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    for bad in [
        f"{base}?expires={q['expires']}&signature={flipped}",
        f"{base}?expires={int(q['expires']) + 1}&signature={sig}",
        f"{base}?expires={q['expires']}",
        base,
        f"{base.replace(f'/{vid}/', f'/{vid + 1}/')}?{query}",
        f"{base[:-len('.zip')]}-x.zip?{query}",
    ]:
        got = http_get(bad)
        assert got.status_code == 403, f"{bad} answered {got.status_code}"
        assert b"PK\x03\x04" not in got.content[:4]
    assert http_get(url).status_code == 200


# ---------------------------------------------------------------------------
# 7. Removal
# ---------------------------------------------------------------------------


def test_removed_mini_program(lc):
    mnp, (vid,) = lc.released(("1.0.0",))
    url = lc.package_url(mnp)
    assert http_get(url).status_code == 200

    assert lc.sdk("RemoveMNP", MNPId=mnp).Data.Result is True
    assert http_get(url).status_code == 404
    lc.sdk.fails(NOTHING_ONLINE, "DescribeMNPOfflinePackageURL", MNPId=mnp)
    lc.sdk.fails(NOTHING_ONLINE, "DescribeOfflineMNPPackage", MNPId=mnp)
    detail = lc.sdk("DescribeMNPDetail", MNPId=mnp).Data
    assert (detail.Status, detail.OnlineStatus) == (2, 0), detail
    described = lc.sdk("DescribeMNP", MNPId=mnp).Data
    assert (described.Status, described.AccessStatus) == (2, 1), described
    [item] = [i for i in lc.sdk("DescribeMNPList", Offset=0, Limit=10,
                                Keyword=detail.MNPName).Data.DataList if i.MNPId == mnp]
    assert item.Status == 2 and item.EffectStatus != 2, item

    # It still takes versions and approvals.
    newer = lc.new_version(mnp, "2.0.0")
    lc.submit(mnp, newer)
    assert lc.stage(mnp, "Develop").MNPVersionId == newer


def test_removed_mini_program_stays_out_of_service_after_a_release(lc):
    """A removed mini program still takes versions and approvals, but no
    package URL is handed out; the refusal must not send the caller to do
    what does not help."""
    mnp, _ = lc.released(("1.0.0",))
    lc.sdk("RemoveMNP", MNPId=mnp)
    newer = lc.new_version(mnp, "2.0.0")
    lc.approve(mnp, newer)
    lc.release(newer)
    assert lc.online(mnp) == [(newer, "2.0.0")]
    assert lc.sdk("DescribeMNPDetail", MNPId=mnp).Data.Status == 2, "a removed one stays removed"
    err = lc.sdk.fails(NOTHING_ONLINE, "DescribeMNPOfflinePackageURL", mnp, MNPId=mnp)
    assert "release a version to serve it again" not in err.get_message(), (
        "version 2.0.0 was just released and the mini program is still not served, yet the "
        f"message says to release a version: {err.get_message()!r}")


def test_offline_mini_program(lc):
    mnp, _ = lc.released(("1.0.0",))
    url = lc.package_url(mnp, "DescribeOfflineMNPPackage")
    assert lc.sdk("ModifyMNPStatusOffline", MNPId=mnp).Data.Result is True
    assert http_get(url).status_code == 404
    lc.sdk.fails(NOTHING_ONLINE, "DescribeOfflineMNPPackage", MNPId=mnp)


# ---------------------------------------------------------------------------
# 8. Concurrency
# ---------------------------------------------------------------------------

RACERS = 8


def race(lc: Lifecycle, spec, call: Callable[[Sdk, int], object]) -> list:
    """Runs `call` in RACERS threads at once, each with a client of its own;
    the SDK exception codes, None for a success."""
    sdks = [Sdk(lc.server.client(), lc.platform_id, spec) for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)

    def one(i):
        barrier.wait(timeout=10)
        try:
            call(sdks[i], i)
            return None
        except TencentCloudSDKException as e:
            return e.get_code()

    with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_concurrent_releases_of_one_version(lc, spec):
    for _ in range(2):
        mnp = lc.new_mnp()
        vid = lc.new_version(mnp, "1.0.0")
        lc.approve(mnp, vid)
        codes = race(lc, spec, lambda sdk, i: sdk(
            "ReleaseMNPVersion" if i % 2 else "CreateOnlineApply", MNPVersionId=vid))
        assert codes.count(None) == 1, f"exactly one release must win: {codes}"
        assert sorted(c for c in codes if c) == [RELEASED] * (RACERS - 1), codes
        assert lc.history(mnp) == [(vid, "1.0.0")], "one release recorded"
        assert lc.online(mnp) == [(vid, "1.0.0")]


def test_concurrent_submits_for_one_mini_program(lc, spec):
    mnp = lc.new_mnp()
    vids = [lc.new_version(mnp, "1.0.0"), lc.new_version(mnp, "1.0.1")]
    for round_ in range(3):
        codes = race(lc, spec, lambda sdk, i: sdk(
            "CreateMNPApproval" if i % 2 else "CreatePlatformAudit",
            MNPVersionId=vids[i % 2], ApplyAction="submit"))
        assert codes.count(None) == 1, f"round {round_}: exactly one submit must win: {codes}"
        assert sorted(c for c in codes if c) == [APPROVAL_EXISTS] * (RACERS - 1), codes
        open_rows = [r for r in lc.rows(mnp) if r.ApprovalStatus == PROCESSING]
        assert len({r.ApprovalNo for r in open_rows}) == 1, open_rows
        assert len(open_rows) == len(lc.apps)
        winner = lc.stage(mnp, "Platform").MNPVersionId
        lc.sdk("CreateMNPApproval", MNPVersionId=winner, ApplyAction="cancel")


# ---------------------------------------------------------------------------
# 9. Isolation between accounts
# ---------------------------------------------------------------------------


@dataclass
class Victim:
    """A mini program of the first account in every stage: v1 and v2
    released (v2 online), v3 approved and the preview and trial version, v4
    with an approval in progress."""
    platform_id: str
    team_id: str
    mnp: str
    name: str
    apps: list
    v1: int
    v2: int
    v3: int
    v4: int
    task: str
    open_no: str
    url: str


@pytest.fixture(scope="module")
def victim(lc) -> Victim:
    name = harness.unique_name("victim")
    mnp = lc.new_mnp(MNPName=name)
    v1 = lc.new_version(mnp, "1.0.0")
    lc.approve(mnp, v1)
    lc.release(v1)
    v2 = lc.new_version(mnp, "1.1.0")
    lc.approve(mnp, v2)
    lc.release(v2)
    v3 = lc.new_version(mnp, "1.2.0")
    lc.approve(mnp, v3)
    lc.sdk("ConfigureMNPPreview", MNPId=mnp, ActionType=1, MNPVersionId=v3)
    lc.sdk("ModifyMNPVersionPreview", MNPId=mnp, ActionType=1, MNPVersionId=v3)
    task = lc.sdk("CreateMNPVersion", MNPId=mnp, MNPVersion="1.3.0",
                  FileUrl=lc.packages.mini_program, MNPVersionIntro="v4").Data.TaskId
    assert lc.wait_task(task).TaskStatus == harness.TASK_SUCCEEDED
    v4 = lc.stage(mnp, "Develop").MNPVersionId
    open_no = lc.submit(mnp, v4)
    return Victim(lc.platform_id, lc.team_id, mnp, name, list(lc.apps), v1, v2, v3, v4, task,
                  open_no, lc.packages.mini_program)


@pytest.fixture(scope="module")
def intruder(server, spec) -> Sdk:
    """A second account (mnpd admin account create) with a platform of its own."""
    creds = server.create_account()
    platform = server.create_platform(creds.secret_id)
    return Sdk(server.client(creds), platform["PlatformId"], spec)


EMPTY = "empty listing"

# action -> (parameters naming the victim's resources, what the intruder's own
# platform answers: the action's not-found code, or EMPTY for a listing).
LIFECYCLE_ACTIONS: dict[str, tuple[Callable[[Victim], dict], str]] = {
    "CreateApplication": (lambda v: {
        "ApplicationName": harness.unique_name("intruder"), "Logo": "https://x.example/l.png",
        "TeamId": v.team_id, "ApplicationType": 2, "Intro": "intruder"}, INVALID_TEAM),
    "CreateMNP": (lambda v: {
        "MNPName": harness.unique_name("intruder"), "MNPType": harness.MNP_TYPE,
        "MNPIcon": "https://x.example/i.png", "MNPIntro": "i", "MNPDesc": "d",
        "TeamId": v.team_id}, INVALID_TEAM),
    "DescribeMNP": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "DescribeMNPDetail": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "DescribeMNPList": (lambda v: {"Offset": 0, "Limit": 100, "Keyword": v.name}, EMPTY),
    "DescribeApplicationList": (lambda v: {"Offset": 0, "Limit": 100}, EMPTY),
    "CreateMNPVersion": (lambda v: {
        "MNPId": v.mnp, "MNPVersion": "9.0.0", "FileUrl": v.url,
        "MNPVersionIntro": "intruder"}, INVALID_MNP),
    "DescribeMNPVersion": (lambda v: {"BusinessId": v.task}, INVALID_TASK),
    "DescribeMNPAllStageVersions": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "DescribeMNPBoard": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "ConfigureMNPPreview": (lambda v: {
        "MNPId": v.mnp, "ActionType": 2, "MNPVersionId": v.v3}, INVALID_MNP),
    "DescribeMNPPreview": (lambda v: {"MNPId": v.mnp, "MNPVersionId": v.v3}, INVALID_MNP),
    "ModifyMNPVersionPreview": (lambda v: {
        "MNPId": v.mnp, "ActionType": 2, "MNPVersionId": v.v3}, INVALID_MNP),
    "DescribeMNPVersionPreview": (lambda v: {"MNPId": v.mnp, "MNPVersionId": v.v3},
                                  INVALID_MNP),
    "CreateMNPApproval": (lambda v: {"MNPVersionId": v.v4, "ApplyAction": "cancel"},
                          INVALID_VERSION_ID),
    "CreatePlatformAudit": (lambda v: {"MNPVersionId": v.v4, "ApplyAction": "cancel"},
                            INVALID_VERSION_ID),
    "ProcessMNPApproval": (lambda v: {"ApprovalNo": v.open_no, "ApprovalItems": [
        {"AppId": app, "ApprovalResult": REJECTED, "ApprovalNote": "intruder"}
        for app in v.apps]}, INVALID_APPROVAL_NO),
    "ModifyPlatformAuditStatus": (lambda v: {
        "AuditNo": v.open_no, "AuditResult": REJECTED, "AuditNote": "intruder"},
        INVALID_APPROVAL_NO),
    "DescribeMNPApprovalList": (lambda v: {"Offset": 0, "Limit": 100, "Keyword": v.mnp},
                                EMPTY),
    "DescribeApplicationMNPVersionAuditList": (lambda v: {
        "Offset": 0, "Limit": 100, "Keyword": v.mnp}, EMPTY),
    "ReleaseMNPVersion": (lambda v: {"MNPVersionId": v.v3}, INVALID_VERSION_ID),
    "CreateOnlineApply": (lambda v: {"MNPVersionId": v.v3}, INVALID_VERSION_ID),
    "RollbackMNPVersion": (lambda v: {
        "MNPId": v.mnp, "MNPVersionId": v.v1, "MNPVersion": "1.0.0"}, INVALID_MNP),
    "ModifyOnlineVersion": (lambda v: {"MNPId": v.mnp, "MNPVersionId": v.v1}, INVALID_MNP),
    "DescribeOnlineVersion": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "DescribeMNPReleasedVersionHistory": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "DescribeMNPOfflinePackageURL": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "DescribeOfflineMNPPackage": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "RemoveMNP": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
    "ModifyMNPStatusOffline": (lambda v: {"MNPId": v.mnp}, INVALID_MNP),
}


def victim_state(lc: Lifecycle, v: Victim) -> list:
    """Everything an intruder's successful call could change."""
    return [
        lc.sdk.raw("DescribeMNPAllStageVersions", MNPId=v.mnp),
        lc.sdk.raw("DescribeMNPDetail", MNPId=v.mnp),
        lc.sdk.raw("DescribeOnlineVersion", MNPId=v.mnp),
        lc.sdk.raw("DescribeMNPReleasedVersionHistory", MNPId=v.mnp),
        lc.sdk.raw("DescribeMNPApprovalList", Offset=0, Limit=100, Keyword=v.mnp),
        lc.sdk.raw("DescribeMNPPreview", MNPId=v.mnp, MNPVersionId=v.v3),
        lc.sdk.raw("DescribeMNPVersionPreview", MNPId=v.mnp, MNPVersionId=v.v3),
        lc.sdk.raw("DescribeApplicationList", Offset=0, Limit=100),
        lc.sdk.raw("DescribeMNPList", Offset=0, Limit=1000)["Data"]["TotalCount"],
    ]


def test_isolation_covers_every_lifecycle_action():
    used = {
        "CreateApplication", "CreateMNP", "DescribeMNP", "CreateMNPVersion",
        "DescribeMNPVersion", "DescribeMNPAllStageVersions", "DescribeMNPBoard",
        "ConfigureMNPPreview", "DescribeMNPPreview", "ModifyMNPVersionPreview",
        "DescribeMNPVersionPreview", "CreateMNPApproval", "DescribeMNPApprovalList",
        "ProcessMNPApproval", "CreatePlatformAudit", "ModifyPlatformAuditStatus",
        "DescribeApplicationMNPVersionAuditList", "ReleaseMNPVersion", "CreateOnlineApply",
        "DescribeOnlineVersion", "DescribeMNPReleasedVersionHistory", "DescribeMNPList",
        "DescribeMNPDetail", "RollbackMNPVersion", "ModifyOnlineVersion",
        "DescribeMNPOfflinePackageURL", "DescribeOfflineMNPPackage", "RemoveMNP",
        "ModifyMNPStatusOffline", "DescribeApplicationList",
    }
    assert used == set(LIFECYCLE_ACTIONS), sorted(used ^ set(LIFECYCLE_ACTIONS))


@pytest.mark.parametrize("platform", ["victims-platform", "own-platform"])
@pytest.mark.parametrize("action", sorted(LIFECYCLE_ACTIONS))
def test_other_account_cannot_touch_the_lifecycle(lc, victim, intruder, action, platform):
    build, own_answer = LIFECYCLE_ACTIONS[action]
    params = build(victim)
    before = victim_state(lc, victim)
    if platform == "victims-platform":
        intruder.fails(INVALID_PLATFORM, action, victim.platform_id,
                       PlatformId=victim.platform_id, **params)
    elif own_answer == EMPTY:
        data = intruder(action, **params).Data
        assert (data.TotalCount, data.DataList) == (0, []), data
    else:
        intruder.fails(own_answer, action, **params)
    assert victim_state(lc, victim) == before, f"{action} by another account changed state"
