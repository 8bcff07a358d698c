"""Who did what: every answer field that names a user names the actor of
that record, not the caller of the moment.

Two API keys of one account (the second from `mnpd admin key create --of`)
share a platform and take turns: one creates, the other submits, the first
approves, the second releases. Each key is shown by its SecretId
(docs/architecture.md, "Choices where the issues are silent").
`DescribeMNPAllStageVersions` lists Platform, Online, then one Develop row
per creator, creators in descending order of the name shown, as the
service's public example does (docs/lifecycle.md, Stages). Another account
sees none of it, and its own records name its own key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import harness


@dataclass
class Account:
    platform_id: str
    team_id: str
    keys: list  # [(Credentials, harness.Api)]

    def api(self, i: int) -> harness.Api:
        return self.keys[i][1]

    def sid(self, i: int) -> str:
        return self.keys[i][0].secret_id


def new_account(server, keys: int) -> Account:
    first = server.create_account()
    platform = server.create_platform(first.secret_id)
    creds = [first]
    for _ in range(keys - 1):
        out = server.admin_json("key", "create", "--of", first.secret_id)
        creds.append(harness.Credentials(out["SecretId"], out["SecretKey"]))
    pid = platform["PlatformId"]
    return Account(pid, platform["TeamId"], [(c, server.api(c, pid)) for c in creds])


@pytest.fixture(scope="module")
def acct(server) -> Account:
    return new_account(server, 2)


@pytest.fixture(scope="module")
def host_app(acct) -> str:
    api = acct.api(0)
    return api.call("CreateApplication", {
        "ApplicationName": harness.unique_name("attr-app"),
        "Logo": "https://cdn.example.com/attr.png", "PlatformId": api.platform_id,
        "TeamId": acct.team_id, "ApplicationType": 2, "Intro": "attribution host",
    })["Data"]["ResourceId"]


def stage_rows(api: harness.Api, mnp: str) -> list:
    return api.call("DescribeMNPAllStageVersions",
                    {"MNPId": mnp, "PlatformId": api.platform_id})["Data"]


def new_version(api: harness.Api, mnp: str, number: str, url: str) -> int:
    data = api.wait_task(api.create_version(mnp, number, url, intro=f"attr {number}"))
    assert data["TaskStatus"] == harness.TASK_SUCCEEDED, data
    rows = [r for r in stage_rows(api, mnp)
            if r["Phase"] == "Develop" and r["MNPVersion"] == number]
    assert len(rows) == 1, rows
    return rows[0]["MNPVersionId"]


def approval_rows(api: harness.Api, no: str) -> list:
    rows = api.call("DescribeMNPApprovalList", {
        "PlatformId": api.platform_id, "Keyword": no, "Offset": 0, "Limit": 100,
    })["Data"]["DataList"]
    return [r for r in rows if r["ApprovalNo"] == no]


def audit_rows(api: harness.Api, no: str) -> list:
    rows = api.call("DescribeApplicationMNPVersionAuditList", {
        "PlatformId": api.platform_id, "Keyword": no, "Offset": 0, "Limit": 100,
    })["Data"]["DataList"]
    return [r for r in rows if r["AuditNo"] == no]


def submit(api: harness.Api, mnp: str, vid: int) -> str:
    api.call("CreateMNPApproval", {"MNPVersionId": vid, "ApplyAction": "submit",
                                   "PlatformId": api.platform_id})
    platform = [r for r in stage_rows(api, mnp) if r["Phase"] == "Platform"]
    assert [r["MNPVersionId"] for r in platform] == [vid], platform
    return platform[0]["ApprovalNo"]


def test_each_record_names_the_key_that_made_it(acct, host_app, packages):
    one, two = acct.api(0), acct.api(1)
    sid1, sid2 = acct.sid(0), acct.sid(1)
    url = packages.mini_program

    app = one.call("DescribeApplication", {"ApplicationId": host_app,
                                           "PlatformId": one.platform_id})["Data"]
    assert (app["CreateUser"], app["UpdateUser"]) == (sid1, sid1), app
    mnp = one.create_mnp(MNPName=harness.unique_name("attr"))
    detail = two.call("DescribeMNPDetail", {"MNPId": mnp, "PlatformId": two.platform_id})
    assert detail["Data"]["CreateUser"] == sid1, "the creator, not the key asking"

    v1 = new_version(one, mnp, "1.0.0", url)
    v2 = new_version(two, mnp, "1.0.1", url)

    # The second key submits the first key's version; the first approves.
    no = submit(two, mnp, v1)
    [row] = approval_rows(one, no)
    assert (row["ApplyUser"], row["ApprovalUser"], row["ApprovalStatus"]) == (sid2, "", 1), row
    one.call("ProcessMNPApproval", {"ApprovalNo": no, "PlatformId": one.platform_id,
                                    "ApprovalItems": [{"AppId": host_app, "ApprovalResult": 3}]})
    for rows, user_field in ((approval_rows(two, no), "ApprovalUser"),
                             (audit_rows(two, no), "AuditUser")):
        [row] = rows
        assert (row["ApplyUser"], row[user_field]) == (sid2, sid1), row

    # The second key releases: a new mini program's first release records
    # its releaser as the mini program's UpdateUser.
    two.call("ReleaseMNPVersion", {"MNPVersionId": v1, "PlatformId": two.platform_id})
    listed = one.call("DescribeMNPList", {"PlatformId": one.platform_id, "Keyword": mnp,
                                          "Offset": 0, "Limit": 10})["Data"]["DataList"]
    [m] = [m for m in listed if m["MNPId"] == mnp]
    assert (m["CreateUser"], m["UpdateUser"]) == (sid1, sid2), m

    # The stages: the approved and online version is the first key's, and
    # each key has its own Develop row.
    rows = stage_rows(two, mnp)
    creators = {"Platform": [], "Online": [], "Develop": []}
    for r in rows:
        creators[r["Phase"]].append((r["MNPVersionId"], r["CreateUser"]))
    assert creators["Platform"] == [(v1, sid1)] and creators["Online"] == [(v1, sid1)], rows
    develop = sorted([(v1, sid1), (v2, sid2)], key=lambda r: r[1], reverse=True)
    assert creators["Develop"] == develop, rows
    assert [r["Phase"] for r in rows] == ["Platform", "Online", "Develop", "Develop"], rows

    # A rejection names who rejected; a cancellation who cancelled.
    no = submit(one, mnp, v2)
    two.call("ProcessMNPApproval", {"ApprovalNo": no, "PlatformId": two.platform_id,
                                    "ApprovalItems": [{"AppId": host_app, "ApprovalResult": 2,
                                                       "ApprovalNote": "icon is blurry"}]})
    [row] = approval_rows(one, no)
    assert (row["ApplyUser"], row["ApprovalUser"], row["ApprovalStatus"]) == (sid1, sid2, 2), row
    no = submit(two, mnp, v2)
    one.call("CreateMNPApproval", {"MNPVersionId": v2, "ApplyAction": "cancel",
                                   "PlatformId": one.platform_id})
    [row] = approval_rows(two, no)
    assert (row["ApplyUser"], row["ApprovalUser"], row["ApprovalStatus"]) == (sid2, sid1, 4), row


def test_develop_lists_the_latest_version_of_each_creator(acct, packages):
    one, two = acct.api(0), acct.api(1)
    sid1, sid2 = acct.sid(0), acct.sid(1)
    url = packages.mini_program
    mnp = one.create_mnp(MNPName=harness.unique_name("attr-dev"))
    assert stage_rows(one, mnp) == []

    first = new_version(one, mnp, "1.0.0", url)
    rows = stage_rows(two, mnp)
    assert [(r["Phase"], r["MNPVersionId"], r["CreateUser"]) for r in rows] == [
        ("Develop", first, sid1)]

    second = new_version(two, mnp, "1.1.0", url)
    third = new_version(one, mnp, "1.2.0", url)
    rows = stage_rows(one, mnp)
    develop = sorted([(third, "1.2.0", sid1), (second, "1.1.0", sid2)],
                     key=lambda r: r[2], reverse=True)
    assert [(r["MNPVersionId"], r["MNPVersion"], r["CreateUser"]) for r in rows] == develop, rows
    assert all(r["Phase"] == "Develop" for r in rows), rows
    for r in rows:
        assert r["CreateTime"].isdigit() and r["MNPVersionIntro"] == f"attr {r['MNPVersion']}", r
        assert (r["ApprovalStatus"], r["ApprovalNo"], r["VersionCurrentStatus"]) == (0, "", 0), r

    # The board shows the same rows under its own names.
    board = one.call("DescribeMNPBoard", {"MNPId": mnp, "PlatformId": one.platform_id})["Data"]
    assert [(b["Phase"], b["MNPVersionId"], b["CreateUser"]) for b in board] == [
        ("Develop", vid, sid) for vid, _, sid in develop]


def test_another_account_sees_no_actor_of_this_one(server, acct, host_app, packages):
    other = new_account(server, 1)
    api, sid = other.api(0), other.sid(0)
    ours = {acct.sid(0), acct.sid(1)}
    mnp = acct.api(0).create_mnp(MNPName=harness.unique_name("attr-iso"))
    new_version(acct.api(1), mnp, "1.0.0", packages.mini_program)

    harness.expect_error(
        lambda: api.call("DescribeMNPAllStageVersions",
                         {"MNPId": mnp, "PlatformId": other.platform_id}),
        "InvalidParameterValue.InvalidMNPId")
    harness.expect_error(
        lambda: api.call("DescribeMNPAllStageVersions",
                         {"MNPId": mnp, "PlatformId": acct.platform_id}),
        "InvalidParameterValue.InvalidPlatformId")

    # Its own records name its own key; nothing it lists names ours.
    own = api.create_mnp(MNPName=harness.unique_name("attr-other"))
    vid = new_version(api, own, "1.0.0", packages.mini_program)
    app = api.call("CreateApplication", {
        "ApplicationName": harness.unique_name("attr-other-app"),
        "Logo": "https://cdn.example.com/o.png", "PlatformId": other.platform_id,
        "TeamId": other.team_id, "ApplicationType": 2, "Intro": "other host",
    })["Data"]["ResourceId"]
    no = submit(api, own, vid)
    api.call("ProcessMNPApproval", {"ApprovalNo": no, "PlatformId": other.platform_id,
                                    "ApprovalItems": [{"AppId": app, "ApprovalResult": 3}]})
    [row] = approval_rows(api, no)
    assert (row["ApplyUser"], row["ApprovalUser"]) == (sid, sid), row
    assert [r["CreateUser"] for r in stage_rows(api, own)] == [sid, sid], "Platform, Develop"
    answers = [
        api.call("DescribeMNPApprovalList", {"PlatformId": other.platform_id,
                                             "Offset": 0, "Limit": 1000}),
        api.call("DescribeMNPList", {"PlatformId": other.platform_id, "Offset": 0, "Limit": 1000}),
        api.call("DescribeApplicationList", {"PlatformId": other.platform_id,
                                             "Offset": 0, "Limit": 1000}),
    ]
    text = repr(answers)
    assert sid in text
    assert not any(s in text for s in ours), "another account's actor leaked"
    # And ours name none of its.
    mine = repr([acct.api(0).call("DescribeMNPApprovalList", {
        "PlatformId": acct.platform_id, "Offset": 0, "Limit": 1000}),
        stage_rows(acct.api(0), mnp)])
    assert sid not in mine
