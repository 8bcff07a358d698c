"""Host application configuration through the official SDK:
ModifyApplicationAppKey and DescribeSimpleApplicationInfoList, each on a
platform of its own account."""

from __future__ import annotations

import pytest

import harness
from harness import expect_error
from test_domains import Tenant

BAD_LAYOUT = "InvalidParameterValue.InvalidAppPackageNameLayout"
BAD_APP = "InvalidParameterValue.InvalidApplicationId"
BAD_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
BAD_MNP = "InvalidParameterValue.InvalidMNPId"


def new_app(t: Tenant, **over) -> str:
    params = {"ApplicationName": harness.unique_name("app")[:30], "Logo": "https://cdn.example.com/l.png",
              "Intro": "host app", "TeamId": t.team_id, "ApplicationType": 2, **over}
    return t.call("CreateApplication", **params)["Data"]["ResourceId"]


def keys(t: Tenant, app: str):
    d = t.call("DescribeApplication", ApplicationId=app)["Data"]
    return d["AndroidAppKey"], d["IosAppKey"]


@pytest.fixture
def tenant(server):
    return Tenant(server)


@pytest.fixture
def other(server):
    return Tenant(server)


def test_modify_app_keys(tenant):
    app = new_app(tenant, AndroidAppKey="com.example.before")
    resp = tenant.call("ModifyApplicationAppKey", ApplicationId=app, IOSAppKey="com.example.ios")
    assert resp["Data"] == {"Result": True}
    # Left out keeps; sent empty clears.
    assert keys(tenant, app) == ("com.example.before", "com.example.ios")
    tenant.call("ModifyApplicationAppKey", ApplicationId=app, AndroidAppKey="",
                IOSAppKey="com.example.ios2")
    assert keys(tenant, app) == ("", "com.example.ios2")
    for bad in ["nodots", "com..x", "1com.example", "com.exa mple", "com.example.ü"]:
        tenant.fails(BAD_LAYOUT, "ModifyApplicationAppKey", "com.example.app",
                     ApplicationId=app, AndroidAppKey=bad)
    assert keys(tenant, app) == ("", "com.example.ios2")
    tenant.fails(BAD_APP, "ModifyApplicationAppKey", ApplicationId="app-zzzzzzzzzz",
                 AndroidAppKey="com.example.x")


def test_simple_list_paging_keyword_and_mnp(tenant):
    apps = [new_app(tenant, ApplicationName=f"simple-{i}-{harness.unique_name('s')[:12]}")
            for i in range(3)]
    page = tenant.call("DescribeSimpleApplicationInfoList", Offset=0, Limit=2)["Data"]
    assert page["TotalCount"] == 3 and len(page["DataList"]) == 2
    rest = tenant.call("DescribeSimpleApplicationInfoList", Offset=2, Limit=2)["Data"]
    ids = [a["ApplicationID"] for a in page["DataList"] + rest["DataList"]]
    assert sorted(ids) == sorted(apps)
    row = page["DataList"][0]
    assert set(row) == {"ApplicationID", "AppIdentityID", "ApplicationName"}
    assert isinstance(row["AppIdentityID"], int) and row["AppIdentityID"] > 0
    one = tenant.call("DescribeSimpleApplicationInfoList", Offset=0, Limit=10,
                      Keyword="SIMPLE-1", LoadAssistantApp=True)["Data"]
    assert [a["ApplicationID"] for a in one["DataList"]] == [apps[1]]
    # A mini program no application approved yet: none listed.
    mnp = tenant.api.create_mnp()
    assert tenant.call("DescribeSimpleApplicationInfoList", Offset=0, Limit=10,
                       MNPId=mnp)["Data"] == {"TotalCount": 0, "DataList": []}
    tenant.fails(BAD_MNP, "DescribeSimpleApplicationInfoList", Offset=0, Limit=10,
                 MNPId="mp0000000000zzzz")
    tenant.fails("InvalidParameterValue", "DescribeSimpleApplicationInfoList", "Limit",
                 Offset=0, Limit=0)


def test_isolation(tenant, other):
    app = new_app(tenant, AndroidAppKey="com.example.iso")
    mnp = tenant.api.create_mnp()
    a = tenant.platform_id
    expect_error(lambda: other.api.client.call_json("ModifyApplicationAppKey", {
        "PlatformId": a, "ApplicationId": app, "AndroidAppKey": "com.evil.app"}), BAD_PLATFORM)
    expect_error(lambda: other.api.client.call_json("DescribeSimpleApplicationInfoList", {
        "PlatformId": a, "Offset": 0, "Limit": 10}), BAD_PLATFORM)
    other.fails(BAD_APP, "ModifyApplicationAppKey", ApplicationId=app,
                AndroidAppKey="com.evil.app")
    other.fails(BAD_MNP, "DescribeSimpleApplicationInfoList", Offset=0, Limit=10, MNPId=mnp)
    assert other.call("DescribeSimpleApplicationInfoList", Offset=0,
                      Limit=10)["Data"]["TotalCount"] == 0
    assert keys(tenant, app) == ("com.example.iso", "")
