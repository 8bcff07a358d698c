"""API flows the benchmarks build on: a mini program, an ingest polled to
its end, approval and release, the signed package URL."""
from __future__ import annotations

import time
import uuid

from lab import EXT_VERSION, MNP_TYPE, PLATFORM, Mnpd


def create_mnp(mnpd: Mnpd, name: str = "") -> str:
    name = name or f"bench-{uuid.uuid4().hex[:12]}"
    return mnpd.call("CreateMNP", {
        "MNPType": MNP_TYPE, "MNPName": name, "MNPIcon": "https://example.com/i.png",
        "MNPIntro": "bench", "MNPDesc": "bench", "PlatformId": PLATFORM})["Data"]["ResourceId"]


def start_ingest(mnpd: Mnpd, mnp: str, version: str, url: str) -> str:
    return mnpd.call("CreateMNPVersion", {
        "MNPId": mnp, "MNPVersion": version, "FileUrl": url, "PlatformId": PLATFORM,
        "MNPVersionIntro": "bench"})["Data"]["TaskId"]


def wait_task(mnpd: Mnpd, task_id: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while True:
        st = mnpd.call("DescribeMNPVersion",
                       {"BusinessId": task_id, "PlatformId": PLATFORM})["Data"]
        if st["TaskStatus"] == 60:
            return
        if st["TaskStatus"] == 30:
            raise SystemExit(f"task {task_id} failed: {st}")
        if time.monotonic() > deadline:
            raise SystemExit(f"task {task_id} did not end in {timeout} s: {st}")
        time.sleep(0.002)


def ingest(mnpd: Mnpd, mnp: str, version: str, url: str, poll: Mnpd | None = None) -> str:
    """CreateMNPVersion, then DescribeMNPVersion (on `poll`, default the same
    node) until TaskStatus 60."""
    task_id = start_ingest(mnpd, mnp, version, url)
    wait_task(poll or mnpd, task_id)
    return task_id


def application(mnpd: Mnpd) -> str:
    """The deployment's host application (created on first use)."""
    apps = mnpd.call("DescribeApplicationList", {"Offset": 0, "Limit": 1, "PlatformId": PLATFORM})
    existing = apps["Data"].get("DataList") or []
    if existing:
        return existing[0]["ApplicationID"]
    return mnpd.call("CreateApplication", {
        "ApplicationName": "bench-superapp", "Logo": "https://example.com/logo.png",
        "PlatformId": PLATFORM, "TeamId": mnpd.team_id(), "ApplicationType": 2,
        "Intro": "bench host application"})["Data"]["ResourceId"]


def release_latest(mnpd: Mnpd, mnp: str) -> int:
    """Submits the latest version for approval, approves it for every host
    application and releases it; its MNPVersionId."""
    version_id = approve_latest(mnpd, mnp)
    mnpd.call("ReleaseMNPVersion", {"MNPVersionId": version_id, "PlatformId": PLATFORM})
    return version_id


def approve_latest(mnpd: Mnpd, mnp: str) -> int:
    """Submits the latest version for approval and approves it for the host
    application; its MNPVersionId."""
    app_id = application(mnpd)
    stages = mnpd.call("DescribeMNPAllStageVersions",
                       {"MNPId": mnp, "PlatformId": PLATFORM})["Data"]
    version_id = next(s["MNPVersionId"] for s in stages if s["Phase"] == "Develop")
    mnpd.call("CreateMNPApproval", {"MNPVersionId": version_id, "ApplyAction": "submit",
                                    "PlatformId": PLATFORM})
    pending = mnpd.call("DescribeMNPApprovalList", {
        "Offset": 0, "Limit": 100, "PlatformId": PLATFORM, "ApprovalStatusList": [1],
        "Keyword": mnp})["Data"]["DataList"]
    approval_no = next(a["ApprovalNo"] for a in pending if a["MNPId"] == mnp)
    mnpd.call("ProcessMNPApproval", {"ApprovalNo": approval_no, "PlatformId": PLATFORM,
                                     "ApprovalItems": [{"AppId": app_id, "ApprovalResult": 3}]})
    return version_id


def start_gradual_release(mnpd: Mnpd, version_id: int, percentage: float) -> dict:
    """CreateGradualRelease (mnpd's API version): the release's Rollout."""
    return mnpd.call("CreateGradualRelease", {"MNPVersionId": version_id,
                                              "Percentage": percentage, "PlatformId": PLATFORM},
                     version=EXT_VERSION)["Rollout"]


def offline_package_url(mnpd: Mnpd, mnp: str) -> str:
    return mnpd.call("DescribeMNPOfflinePackageURL",
                     {"MNPId": mnp, "PlatformId": PLATFORM})["Data"]["Data"]
