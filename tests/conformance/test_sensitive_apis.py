"""Sensitive APIs through the official SDK (docs/sensitive-apis.md): each
host application's catalog, the permission requests of mini programs and
their one state machine under both sets of names, the grants in the policy
manifest beside the package, DescribeMNPPrivacy, and the approver's role.

Each test runs on a platform of its own account."""

from __future__ import annotations

import json
import re

import pytest
import requests

import harness
import test_console_sessions as console
import test_domains

INVALID = "InvalidParameterValue"
EXISTS = "FailedOperation.ExistSensitiveAPI"
NOT_FOUND = "FailedOperation.RecordNotFound"
OPEN = "FailedOperation.ExistMNPApprovalRecord"
NOT_PROCESSING = "InvalidParameterValue.ProcessMNPApprovalStatusError"
BAD_NO = "InvalidParameterValue.InvalidApprovalNo"
BAD_NOTE = "InvalidParameterValue.InvalidApprovalNote"
BAD_APP = "InvalidParameterValue.InvalidApplicationId"
BAD_TEAM = "InvalidParameterValue.InvalidTeamId"
BAD_MNP = "InvalidParameterValue.InvalidMNPId"
FAILED = "FailedOperation"

PROCESSING, REJECTED, APPROVED, REVOKED = 1, 20, 30, 40
APPROVAL_NO = re.compile(r"^20[0-9]{6}[a-z0-9]{10}$")
API_ID = re.compile(r"^api-[a-z0-9]{16}$")


class Tenant(test_domains.Tenant):
    """An account of its own with a platform (as test_domains'), and the
    steps of the sensitive API flow."""

    def app(self, tag="host"):
        name = harness.unique_name(f"sens-{tag}")[:30]
        return self.call("CreateApplication", ApplicationName=name, TeamId=self.team_id,
                         Logo=f"https://cdn.example.com/{name}.png", ApplicationType=2,
                         Intro="a host")["Data"]["ResourceId"]

    def apis(self, app, **params):
        data = self.call("DescribeApplicationSensitiveAPIList", ApplicationId=app,
                         Offset=params.pop("Offset", 0), Limit=params.pop("Limit", 100),
                         **params)["Data"]
        return data

    def add(self, app, *names, api_type=1):
        self.call("CreateApplicationSensitiveAPI", ApplicationId=app, APIList=[
            {"APIName": n, "APIDesc": f"{n} of the host", "APIType": api_type} for n in names])
        rows = {r["APIName"]: r for r in self.apis(app)["DataList"]}
        return [rows[n]["APIId"] for n in names]

    def restricted(self, app, *names):
        ids = self.add(app, *names)
        for i in ids:
            self.call("EnableApplicationSensitiveAPI", APIId=i)
        return ids

    def ask(self, mnp, api_id, reason="to show the nearest shop"):
        no = self.call("CreateMNPSensitiveAPIPermissionApproval", MNPId=mnp, APIId=api_id,
                       ApplyReason=reason)["Data"]["ResourceId"]
        assert APPROVAL_NO.match(no), no
        return no

    def request(self, no):
        return self.call("DescribeMNPSensitiveAPIPermissionApproval", ApprovalNo=no)["Data"]

    def permission(self, mnp, api_id):
        rows = self.call("DescribeMNPSensitiveAPIPermissionList", MNPId=mnp, Offset=0,
                         Limit=100)["Data"]["DataList"]
        return next(r for r in rows if r["APIId"] == api_id)


@pytest.fixture
def tenant(server):
    return Tenant(server)


def test_catalog_create_list_and_page(tenant):
    app, other = tenant.app("a"), tenant.app("b")
    tenant.call("CreateApplicationSensitiveAPI", ApplicationId=app, APIList=[
        {"APIName": "getLocation", "APIDesc": "where the user is", "APIType": 1},
        {"APIName": "scanCode", "APIDesc": "camera", "APIType": 1},
        {"APIName": "payOrder", "APIDesc": "the host's payment", "APIType": 2}])
    assert tenant.call("CreateSensitiveAPI", ApplicationId=app, ApiList=[
        {"ApiName": "getPhoneNumber", "ApiDesc": "phone", "ApiType": 1},
        {"ApiName": "chooseAddress", "ApiDesc": "address", "ApiType": 1}])["Data"] == {"Result": True}
    tenant.add(other, "getLocation")
    data = tenant.apis(app)
    assert data["TotalCount"] == 5
    rows = data["DataList"]
    # Newest first.
    assert [r["APIName"] for r in rows] == [
        "chooseAddress", "getPhoneNumber", "payOrder", "scanCode", "getLocation"]
    pay = rows[2]
    assert API_ID.match(pay["APIId"]), pay
    assert pay["APIMethod"] == "payOrder" and pay["APIDesc"] == "the host's payment"
    assert pay["APIType"] == 2 and pay["Status"] == 0, "a new API is not restricted yet"
    assert pay["ApplicationId"] == app and pay["TeamId"] == tenant.team_id and pay["TeamName"]
    assert pay["ApplicationLogo"].startswith("https://") and pay["ApplicationName"]
    assert pay["CreateUser"].startswith("AKID") and pay["UpdateUser"] == pay["CreateUser"]
    assert pay["CreateTime"].isdigit() and pay["CreateTime"] == pay["UpdateTime"]
    # Paging and the keyword (name or method).
    page = tenant.apis(app, Offset=1, Limit=2)
    assert page["TotalCount"] == 5 and [r["APIName"] for r in page["DataList"]] == [
        "getPhoneNumber", "payOrder"]
    assert [r["APIName"] for r in tenant.apis(app, Keyword="LOCATION")["DataList"]] == ["getLocation"]
    assert tenant.apis(app, TeamId=tenant.team_id)["TotalCount"] == 5
    # The platform-wide listing, and its filters.
    whole = tenant.call("DescribeSensitiveAPIList", Offset=0, Limit=100)["Data"]
    assert whole["TotalCount"] == 6
    assert {r["ApiName"] for r in whole["DataList"]} >= {"getLocation", "payOrder"}
    first = whole["DataList"][0]
    assert first["ApplicationId"] == other and first["ApiMethod"] == "getLocation"
    assert first["APIType"] == 1 and first["Status"] == 0
    assert tenant.call("DescribeSensitiveAPIList", Offset=0, Limit=100,
                       ApplicationId=other)["Data"]["TotalCount"] == 1
    assert tenant.call("DescribeSensitiveAPIList", Offset=5, Limit=1,
                       TeamId=tenant.team_id)["Data"]["TotalCount"] == 6
    assert tenant.call("DescribeSensitiveAPIList", Offset=0, Limit=10,
                       Keyword="pay")["Data"]["TotalCount"] == 1


def test_catalog_refusals(tenant):
    app = tenant.app()
    tenant.add(app, "getLocation")
    tenant.fails(EXISTS, "CreateApplicationSensitiveAPI", "getLocation", ApplicationId=app,
                 APIList=[{"APIName": "getLocation", "APIType": 1}])
    tenant.fails(EXISTS, "CreateSensitiveAPI", "getLocation", ApplicationId=app,
                 ApiList=[{"ApiName": "scanCode", "ApiType": 1},
                          {"ApiName": "getLocation", "ApiType": 1}])
    tenant.fails(EXISTS, "CreateSensitiveAPI", "more than once", ApplicationId=app,
                 ApiList=[{"ApiName": "scanCode", "ApiType": 1}, {"ApiName": "scanCode", "ApiType": 2}])
    # All or none: scanCode was not added by the refused requests.
    assert [r["APIName"] for r in tenant.apis(app)["DataList"]] == ["getLocation"]
    tenant.fails(INVALID, "CreateApplicationSensitiveAPI", "1 (system) or 2 (custom)",
                 ApplicationId=app, APIList=[{"APIName": "scanCode", "APIType": 3}])
    tenant.fails(INVALID, "CreateApplicationSensitiveAPI", "method", ApplicationId=app,
                 APIList=[{"APIName": "scan code", "APIType": 1}])
    tenant.fails(INVALID, "CreateApplicationSensitiveAPI", "empty", ApplicationId=app, APIList=[])
    tenant.fails(INVALID, "CreateApplicationSensitiveAPI", "description", ApplicationId=app,
                 APIList=[{"APIName": "scanCode", "APIType": 1, "APIDesc": "x" * 201}])
    tenant.fails(BAD_APP, "CreateApplicationSensitiveAPI", ApplicationId="app-0000000000",
                 APIList=[{"APIName": "scanCode", "APIType": 1}])
    tenant.fails(BAD_APP, "DescribeApplicationSensitiveAPIList", ApplicationId="app-0000000000",
                 Offset=0, Limit=10)
    tenant.fails(BAD_TEAM, "DescribeSensitiveAPIList", TeamId="1000000000", Offset=0, Limit=10)
    tenant.fails(INVALID, "DescribeSensitiveAPIList", "Limit", Offset=0, Limit=0)
    for action in ["DeleteApplicationSensitiveAPI", "EnableApplicationSensitiveAPI",
                   "DisableApplicationSensitiveAPI"]:
        tenant.fails(NOT_FOUND, action, "api-0000000000000000", APIId="api-0000000000000000")
    tenant.fails(NOT_FOUND, "DeleteSensitiveAPI", ApiId="api-0000000000000000")


def test_enable_disable_delete(tenant):
    app = tenant.app()
    a, b = tenant.add(app, "getLocation", "scanCode")
    tenant.call("EnableApplicationSensitiveAPI", APIId=a)
    assert {r["APIId"]: r["Status"] for r in tenant.apis(app)["DataList"]} == {a: 1, b: 0}
    tenant.call("DisableApplicationSensitiveAPI", APIId=a)
    assert tenant.apis(app)["DataList"][1]["Status"] == 0
    tenant.call("DeleteApplicationSensitiveAPI", APIId=a)
    tenant.call("DeleteSensitiveAPI", ApiId=b)
    assert tenant.apis(app)["TotalCount"] == 0
    # The name is free again.
    tenant.add(app, "getLocation")


def test_the_permission_state_machine(tenant):
    app = tenant.app()
    loc, scan = tenant.restricted(app, "getLocation", "scanCode")
    mnp = tenant.api.create_mnp()
    # Nothing asked yet.
    p = tenant.permission(mnp, loc)
    assert (p["APIApplyStatus"], p["ApprovalNo"], p["APIStatus"]) == (0, "", 1)
    no = tenant.ask(mnp, loc)
    assert tenant.request(no) == {
        "APIId": loc, "APIMethod": "getLocation", "ApplyReason": "to show the nearest shop",
        "RejectReason": "", "ApprovalStatus": PROCESSING, "APIDesc": "getLocation of the host",
        "APIType": 1}
    # One open request per mini program and API, whichever name asks.
    tenant.fails(OPEN, "CreateSensitiveApiApply", no, MNPId=mnp, APIId=loc, ApplyReason="again")
    p = tenant.permission(mnp, loc)
    assert (p["APIApplyStatus"], p["ApprovalNo"]) == (PROCESSING, no)
    # Refused decisions leave it processing.
    tenant.fails(BAD_NOTE, "ProcessMNPSensitiveAPIPermissionApproval", "why", ApprovalNo=no,
                 ApprovalStatus=REJECTED)
    tenant.fails(INVALID, "ProcessMNPSensitiveAPIPermissionApproval", "20 to reject or 30",
                 ApprovalNo=no, ApprovalStatus=3)
    tenant.fails(INVALID, "ModifySensitiveAPIAuditStatus", "20 to reject or 30", AuditNo=no,
                 AuditStatus=40)
    assert tenant.request(no)["ApprovalStatus"] == PROCESSING
    # processing -> rejected, with the reason shown.
    tenant.call("ProcessMNPSensitiveAPIPermissionApproval", ApprovalNo=no, ApprovalStatus=REJECTED,
                ApprovalNote="no shop finder in this host")
    detail = tenant.call("DescribeSensitiveApiApplyDetail", AuditNo=no)["Data"]
    assert (detail["AuditStatus"], detail["RejectReason"]) == (REJECTED, "no shop finder in this host")
    # rejected is final.
    for status in (APPROVED, REJECTED):
        tenant.fails(NOT_PROCESSING, "ModifySensitiveAPIAuditStatus", "rejected", AuditNo=no,
                     AuditStatus=status, AuditNote="n")
    # A new request after a rejection; processing -> approved.
    no2 = tenant.call("CreateSensitiveApiApply", MNPId=mnp, APIId=loc,
                      ApplyReason="the shop finder is back")["Data"]["ResourceId"]
    assert no2 != no and APPROVAL_NO.match(no2)
    tenant.call("ModifySensitiveAPIAuditStatus", AuditNo=no2, AuditStatus=APPROVED)
    assert tenant.request(no2)["ApprovalStatus"] == APPROVED
    tenant.fails(NOT_PROCESSING, "ProcessMNPSensitiveAPIPermissionApproval", "approved",
                 ApprovalNo=no2, ApprovalStatus=APPROVED)
    # A granted API is not asked for again.
    tenant.fails(OPEN, "CreateMNPSensitiveAPIPermissionApproval", "holds the permission",
                 MNPId=mnp, APIId=loc, ApplyReason="more")
    p = tenant.permission(mnp, loc)
    assert (p["APIApplyStatus"], p["ApprovalNo"], p["RejectReason"]) == (APPROVED, no2, "")
    # approved -> revoked when the API stops being restricted.
    tenant.call("DisableApplicationSensitiveAPI", APIId=loc)
    revoked = tenant.request(no2)
    assert revoked["ApprovalStatus"] == REVOKED and "disabled" in revoked["RejectReason"]
    tenant.fails(NOT_PROCESSING, "ProcessMNPSensitiveAPIPermissionApproval", "revoked",
                 ApprovalNo=no2, ApprovalStatus=APPROVED)
    # No request for an API that is not restricted.
    tenant.fails(FAILED, "CreateMNPSensitiveAPIPermissionApproval", "not restricted",
                 MNPId=mnp, APIId=loc, ApplyReason="please")
    # Restricted again: the revoked grant stays revoked; ask anew.
    tenant.call("EnableApplicationSensitiveAPI", APIId=loc)
    assert tenant.permission(mnp, loc)["APIApplyStatus"] == REVOKED
    tenant.ask(mnp, loc)
    # processing -> revoked when the API is deleted.
    no3 = tenant.ask(mnp, scan)
    tenant.call("DeleteApplicationSensitiveAPI", APIId=scan)
    gone = tenant.request(no3)
    assert gone["ApprovalStatus"] == REVOKED and "deleted" in gone["RejectReason"]
    assert gone["APIMethod"] == "scanCode", "a request keeps what the API was"
    tenant.fails(NOT_FOUND, "CreateMNPSensitiveAPIPermissionApproval", MNPId=mnp, APIId=scan,
                 ApplyReason="x")
    # Each id by its own code.
    tenant.fails(BAD_NO, "DescribeMNPSensitiveAPIPermissionApproval", ApprovalNo="20240101aaaaaaaaaa")
    tenant.fails(BAD_NO, "DescribeSensitiveApiApplyDetail", AuditNo="20240101aaaaaaaaaa")
    tenant.fails(BAD_NO, "ProcessMNPSensitiveAPIPermissionApproval", ApprovalNo="nope",
                 ApprovalStatus=APPROVED)
    tenant.fails(BAD_MNP, "CreateMNPSensitiveAPIPermissionApproval", MNPId="mp0000000000zzzz",
                 APIId=loc, ApplyReason="x")
    tenant.fails(BAD_MNP, "DescribeSensitiveApiAuthList", MNPId="mp0000000000zzzz", Offset=0, Limit=10)
    tenant.fails(INVALID, "CreateSensitiveApiApply", "ApplyReason", MNPId=mnp, APIId=loc,
                 ApplyReason="  ")


def test_request_listings_filter_and_page(tenant):
    app = tenant.app()
    ids = tenant.restricted(app, "getLocation", "scanCode", "chooseImage")
    mnp = tenant.api.create_mnp()
    nos = [tenant.ask(mnp, i) for i in ids]
    tenant.call("ProcessMNPSensitiveAPIPermissionApproval", ApprovalNo=nos[0], ApprovalStatus=APPROVED,
                ApprovalNote="fine")
    tenant.call("ProcessMNPSensitiveAPIPermissionApproval", ApprovalNo=nos[1], ApprovalStatus=REJECTED,
                ApprovalNote="no")
    data = tenant.call("DescribeMNPSensitiveAPIPermissionApprovalList", Offset=0, Limit=10)["Data"]
    assert data["TotalCount"] == 3
    assert [r["ApprovalNo"] for r in data["DataList"]] == nos[::-1]
    row = data["DataList"][2]
    assert row["APIName"] == row["APIMethod"] == "getLocation" and row["MNPId"] == mnp
    assert row["ApprovalStatus"] == APPROVED and row["ApprovalNote"] == "fine"
    assert row["ApplyNote"] == "to show the nearest shop" and row["ApplyTime"].isdigit()
    assert row["ApprovalTime"].isdigit() and row["ApprovalUser"] and row["ApplyUser"]
    assert row["ApplicationId"] == app and row["ApplicationName"] and row["MNPName"]
    assert data["DataList"][0]["ApprovalTime"] == "" and data["DataList"][0]["ApprovalUser"] == ""
    only = tenant.call("DescribeMNPSensitiveAPIPermissionApprovalList", Offset=0, Limit=10,
                       ApprovalStatusList=[APPROVED, REJECTED])["Data"]
    assert [r["ApprovalNo"] for r in only["DataList"]] == [nos[1], nos[0]]
    page = tenant.call("DescribeSensitiveAPIAuditList", Offset=1, Limit=1)["Data"]
    assert page["TotalCount"] == 3 and [r["AuditNo"] for r in page["DataList"]] == [nos[1]]
    audit = page["DataList"][0]
    assert (audit["AuditStatus"], audit["AuditNote"], audit["ApiName"]) == (REJECTED, "no", "scanCode")
    pending = tenant.call("DescribeSensitiveAPIAuditList", Offset=0, Limit=10,
                          AuditStatusList=[PROCESSING], Keyword="IMAGE")["Data"]
    assert [r["AuditNo"] for r in pending["DataList"]] == [nos[2]]
    tenant.fails(INVALID, "DescribeSensitiveAPIAuditList", "not a request status", Offset=0,
                 Limit=10, AuditStatusList=[2])
    # A mini program's permissions, both names, paged and filtered.
    auth = tenant.call("DescribeSensitiveApiAuthList", MNPId=mnp, Offset=0, Limit=2)["Data"]
    assert auth["TotalCount"] == 3 and len(auth["DataList"]) == 2
    first = auth["DataList"][0]
    assert (first["APIName"], first["APIApplyStatus"], first["AuditNo"]) == (
        "chooseImage", PROCESSING, nos[2])
    assert first["ApplicationIcon"].startswith("https://")
    rejected = tenant.call("DescribeMNPSensitiveAPIPermissionList", MNPId=mnp, Offset=0, Limit=10,
                           ApplicationId=app, Keyword="scan")["Data"]["DataList"]
    assert [(r["APIApplyStatus"], r["RejectReason"]) for r in rejected] == [(REJECTED, "no")]


def release(tenant, packages, mnp, apps):
    url = packages.mini_program
    task = tenant.api.create_version(mnp, "1.0.0", url, intro="sensitive")
    assert tenant.api.wait_task(task)["TaskStatus"] == harness.TASK_SUCCEEDED
    stages = {r["Phase"]: r for r in tenant.call("DescribeMNPAllStageVersions", MNPId=mnp)["Data"]}
    vid = stages["Develop"]["MNPVersionId"]
    tenant.call("CreateMNPApproval", MNPVersionId=vid, ApplyAction="submit")
    stages = {r["Phase"]: r for r in tenant.call("DescribeMNPAllStageVersions", MNPId=mnp)["Data"]}
    no = stages["Platform"]["ApprovalNo"]
    tenant.call("ProcessMNPApproval", ApprovalNo=no,
                ApprovalItems=[{"AppId": a, "ApprovalResult": 3} for a in apps])
    tenant.call("ReleaseMNPVersion", MNPVersionId=vid)
    return vid


def test_grants_reach_the_policy_and_a_revoked_one_leaves_it(tenant, packages):
    app = tenant.app()
    loc, scan, pay = tenant.restricted(app, "getLocation", "scanCode", "payOrder")
    mnp = tenant.api.create_mnp()
    release(tenant, packages, mnp, [app])
    url = tenant.call("DescribeOfflineMNPPackage", MNPId=mnp)["Data"]["Data"]
    policy_url = url.replace(".zip?", ".policy.json?")

    def grants():
        got = requests.get(policy_url, timeout=30, proxies={"http": None, "https": None})
        assert got.status_code == 200, got.text
        body = got.json()
        assert "domains" in body
        return body["sensitiveApis"].get(app, {"restricted": [], "granted": []})

    assert grants() == {"restricted": ["getLocation", "payOrder", "scanCode"], "granted": []}
    for api_id in (loc, scan, pay):
        no = tenant.ask(mnp, api_id)
        tenant.call("ProcessMNPSensitiveAPIPermissionApproval", ApprovalNo=no, ApprovalStatus=APPROVED)
    assert grants()["granted"] == ["getLocation", "payOrder", "scanCode"]
    tenant.call("DisableApplicationSensitiveAPI", APIId=loc)
    assert grants() == {"restricted": ["payOrder", "scanCode"], "granted": ["payOrder", "scanCode"]}
    tenant.call("DeleteSensitiveAPI", ApiId=pay)
    assert grants() == {"restricted": ["scanCode"], "granted": ["scanCode"]}
    # Restricting again does not bring a revoked grant back.
    tenant.call("EnableApplicationSensitiveAPI", APIId=loc)
    assert grants() == {"restricted": ["getLocation", "scanCode"], "granted": ["scanCode"]}
    # The privacy statement names what the mini program may collect now.
    statement = json.loads(tenant.call("DescribeMNPPrivacy", MNPId=mnp)["Data"])
    assert statement["MNPId"] == mnp and statement["Package"]["MNPVersion"] == "1.0.0"
    assert [(s["APIMethod"], s["ApplicationId"], s["Purpose"]) for s in statement["SensitiveAPIs"]] == [
        ("scanCode", app, "to show the nearest shop")]


def test_privacy_of_a_mini_program_with_nothing_granted(tenant):
    mnp = tenant.api.create_mnp()
    statement = json.loads(tenant.call("DescribeMNPPrivacy", MNPId=mnp)["Data"])
    assert statement["Package"] is None and statement["SensitiveAPIs"] == []
    tenant.fails(BAD_MNP, "DescribeMNPPrivacy", MNPId="mp0000000000zzzz")


def test_only_a_sensitive_api_approver_decides(server):
    api = server.api()
    t = Tenant.__new__(Tenant)
    t.api, t.platform_id, t.team_id = api, server.platform_id, server.team_id
    app = t.app()
    (loc,) = t.restricted(app, "getLocation")
    mnp = api.create_mnp()
    no = t.ask(mnp, loc)
    _, dev, dev_pw = console.make_user(api, 20070, server.team_id)  # Application Senior Developer
    _, rev, rev_pw = console.make_user(api, console.REVIEW_STAFF, server.team_id)
    developer, reviewer = console.Console(server), console.Console(server)
    assert developer.sign_in(dev, dev_pw).status_code == 200
    assert reviewer.sign_in(rev, rev_pw).status_code == 200
    decide = {"PlatformId": server.platform_id, "ApprovalNo": no, "ApprovalStatus": APPROVED}
    for action, params in [("ProcessMNPSensitiveAPIPermissionApproval", decide),
                           ("ModifySensitiveAPIAuditStatus",
                            {"PlatformId": server.platform_id, "AuditNo": no, "AuditStatus": APPROVED})]:
        err = developer.call(action, params)["Error"]
        assert err["Code"] == "UnauthorizedOperation" and "sensitive_api.approve" in err["Message"], err
    assert t.request(no)["ApprovalStatus"] == PROCESSING
    # The senior developer manages the catalog; the reviewer does not.
    assert developer.code("EnableApplicationSensitiveAPI",
                          {"PlatformId": server.platform_id, "APIId": loc}) is None
    assert reviewer.code("DisableApplicationSensitiveAPI",
                         {"PlatformId": server.platform_id, "APIId": loc}) == "UnauthorizedOperation"
    assert reviewer.code("ProcessMNPSensitiveAPIPermissionApproval", decide) is None
    assert t.request(no)["ApprovalStatus"] == APPROVED
    assert t.permission(mnp, loc)["APIApplyStatus"] == APPROVED
