"""The organization through the official SDK: users, teams, members, roles
and preset keys (docs/organization.md), with their error codes by their
real triggers, paging, isolation between accounts, and passwords that
never come back in an answer or a log line."""
import concurrent.futures
import sys
from pathlib import Path

import pytest

import harness
from harness import expect_error

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
import mnpd_preset  # noqa: E402

INVALID_USER = "InvalidParameterValue.InvalidUserId"
INVALID_TEAM = "InvalidParameterValue.InvalidTeamId"
INVALID_ROLE = "InvalidParameterValue.InvalidRoleId"
INVALID_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
UNABLE_ADMIN = "FailedOperation.UnableOperateAdminAccount"
APP_DEVELOPER, APP_SENIOR, APP_ADMIN = 20071, 20070, 20068
MNP_DEVELOPER = 20065

# Every password this file sends; none may come back or reach the log.
SENT_PASSWORDS: list[str] = []


def password(tag: str) -> str:
    p = f"Pw-{tag}-{harness.unique_name('x')[-8:]}9"
    SENT_PASSWORDS.append(p)
    return p


def sealed(api: harness.Api, clear: str) -> tuple[str, str]:
    key = api.call("CreatePresetKey", {})["Data"]["Key"]
    return key, mnpd_preset.encrypt(key, clear)


class Org:
    """Calls of one platform, with the answers kept to look for passwords."""

    def __init__(self, api: harness.Api):
        self.api = api
        self.p = api.platform_id
        self.answers: list[str] = []

    def call(self, action: str, params: dict) -> dict:
        out = self.api.call(action, {"PlatformId": self.p, **params})
        self.answers.append(repr(out))
        return out

    def create_user(self, account_type: int = 3, account: str | None = None) -> str:
        key, pw = sealed(self.api, password("u"))
        return self.call("CreateUser", {
            "UserAccount": account or harness.unique_name("user"),
            "UserName": "A User", "AccountType": account_type,
            "Password": pw, "KeyId": key,
        })["Data"]["ResourceId"]

    def team_named(self, name: str) -> dict:
        found = self.call("DescribeTeamList", {"Offset": 0, "Limit": 100, "Keyword": name})["Data"]
        matches = [t for t in found["DataList"] if t["TeamName"] == name]
        assert len(matches) == 1, found
        return matches[0]

    def create_team(self, types: list[int], admin: str | None = None, **extra) -> str:
        name = harness.unique_name("team")[:30]
        resp = self.call("CreateTeam", {"TeamName": name, "AdminUserId": admin or self.create_user(),
                                        "TeamRoleTypeList": types, **extra})
        assert set(resp) == {"RequestId"}, resp
        return self.team_named(name)["TeamId"]


@pytest.fixture(scope="module")
def org(api) -> Org:
    return Org(api)


def test_a_fresh_start_lists_its_default_team_with_an_admin(server_factory):
    s = server_factory.new()
    api = s.api()
    teams = api.call("DescribeTeamList", {"Offset": 0, "Limit": 10, "PlatformId": s.platform_id})["Data"]
    assert teams["TotalCount"] == 1
    (team,) = teams["DataList"]
    assert team["TeamId"] == s.team_id
    assert team["TeamRoleTypeList"] == [1, 2] and team["RelatedTeamId"] == 0
    assert team["AdminUserAccount"] == "admin" and team["AdminUserId"].startswith("U")
    assert team["MemberCount"] == 1
    admin_line = next(l for l in s.stdout_lines if l.strip().startswith("Admin"))
    assert team["AdminUserId"] in admin_line
    # The printed one-time password is a strong one, and not logged on stderr.
    pw_line = next(l for l in s.stdout_lines if l.strip().startswith("Password"))
    printed = pw_line.split()[1]
    assert len(printed) >= 12
    stderr = "\n".join(l for l in s.log_path.read_text().splitlines() if not l.startswith("[stdout]"))
    assert printed not in stderr
    # The default team takes both mini programs and host applications.
    api.create_mnp(TeamId=s.team_id)
    api.call("CreateApplication", {"PlatformId": s.platform_id, "TeamId": s.team_id,
                                   "ApplicationName": "app", "Logo": "https://e.com/l.png",
                                   "Intro": "i", "ApplicationType": 2})


def test_the_bootstrap_admin_can_be_chosen(server_factory):
    s = server_factory.new(start=False)
    s.extra_env = {"MNPD_BOOTSTRAP_ADMIN_ACCOUNT": "root.admin",
                   "MNPD_BOOTSTRAP_ADMIN_PASSWORD": "Chosen-Pass-42"}
    s.start()
    assert not any(l.strip().startswith("Password") for l in s.stdout_lines), s.stdout_lines
    assert "Chosen-Pass-42" not in s.log_path.read_text()
    users = s.api().call("DescribeUserList", {"Offset": 0, "Limit": 10, "PlatformId": s.platform_id})
    assert [u["UserAccount"] for u in users["Data"]["DataList"]] == ["root.admin"]
    assert users["Data"]["DataList"][0]["AccountType"] == 1


def test_users_happy_path_and_paging(org):
    marker = harness.unique_name("pg")[-10:]
    ids = [org.create_user(account=f"{marker}-{i}") for i in range(5)]
    assert all(i.startswith("U") and len(i) == 21 for i in ids), ids
    page = org.call("DescribeUserList", {"Offset": 0, "Limit": 2, "Keyword": marker})["Data"]
    assert page["TotalCount"] == 5 and len(page["DataList"]) == 2
    rest = org.call("DescribeUserList", {"Offset": 2, "Limit": 10, "Keyword": marker})["Data"]
    listed = [u["UserId"] for u in page["DataList"] + rest["DataList"]]
    assert sorted(listed) == sorted(ids)
    item = rest["DataList"][0]
    assert set(item) == {"UserId", "UserAccount", "Teams", "AccountType", "UserName",
                         "CreateTime", "Status", "TeamName"}
    assert item["Status"] == 1 and item["AccountType"] == 3 and item["CreateTime"].isdigit()
    # AccountType filter.
    admin = org.create_user(account_type=2, account=f"{marker}-padmin")
    only_admins = org.call("DescribeUserList", {"Offset": 0, "Limit": 10, "Keyword": marker,
                                                "AccountType": 2})["Data"]
    assert [u["UserId"] for u in only_admins["DataList"]] == [admin]
    # Describe, detail (PlatformId may be left out), modify.
    one = org.call("DescribeUser", {"UserId": ids[0]})["Data"]
    assert one == {"UserId": ids[0], "UserAccount": f"{marker}-0", "AccountType": 3, "UserName": "A User"}
    detail = org.api.call("DescribeUserDetail", {"UserId": ids[0]})["Data"]
    assert detail == one
    org.call("ModifyUser", {"UserId": ids[0], "UserName": "Renamed", "AccountType": 2,
                            "UserAccount": f"{marker}-zero"})
    assert org.call("DescribeUser", {"UserId": ids[0]})["Data"] == {
        "UserId": ids[0], "UserAccount": f"{marker}-zero", "AccountType": 2, "UserName": "Renamed"}
    key, pw = sealed(org.api, password("new"))
    assert org.call("ModifyUserPassword", {"UserId": ids[0], "KeyId": key, "Password": pw})["Data"] == {"Result": True}
    assert org.call("DeleteUser", {"UserId": ids[1]})["Data"] == {"Result": True}
    expect_error(lambda: org.call("DescribeUser", {"UserId": ids[1]}), INVALID_USER, ids[1])


def test_user_errors_by_their_triggers(org):
    account = harness.unique_name("dup")
    org.create_user(account=account)
    key, pw = sealed(org.api, password("dup"))
    base = {"UserName": "n", "AccountType": 3, "KeyId": key, "Password": pw}
    expect_error(lambda: org.call("CreateUser", {**base, "UserAccount": account}),
                 "InvalidParameterValue.ExistUserAccount", account)
    for bad_type in (1, 4, 0):
        key, pw = sealed(org.api, password("t"))
        expect_error(lambda: org.call("CreateUser", {**base, "KeyId": key, "Password": pw,
                                                     "UserAccount": harness.unique_name("t"),
                                                     "AccountType": bad_type}),
                     "InvalidParameterValue.InvalidAccountType", "AccountType")
    key, pw = sealed(org.api, password("n"))
    expect_error(lambda: org.call("CreateUser", {**base, "KeyId": key, "Password": pw,
                                                 "UserAccount": harness.unique_name("n"),
                                                 "UserName": "x" * 33}),
                 "InvalidParameterValue.InvalidUserName", "UserName")
    # A clear password is refused with how to encrypt it; so is a weak one.
    key = org.api.call("CreatePresetKey", {})["Data"]["Key"]
    clear = password("clear")
    expect_error(lambda: org.call("CreateUser", {**base, "KeyId": key, "Password": clear,
                                                 "UserAccount": harness.unique_name("c")}),
                 "InvalidParameterValue", "CreatePresetKey", "encrypt")
    key, pw = sealed(org.api, "short")
    expect_error(lambda: org.call("CreateUser", {**base, "KeyId": key, "Password": pw,
                                                 "UserAccount": harness.unique_name("w")}),
                 "InvalidParameterValue", "8 to 64 characters")
    # A key serves once.
    key, pw = sealed(org.api, password("once"))
    org.call("CreateUser", {**base, "KeyId": key, "Password": pw, "UserAccount": harness.unique_name("o")})
    expect_error(lambda: org.call("CreateUser", {**base, "KeyId": key, "Password": pw,
                                                 "UserAccount": harness.unique_name("o")}),
                 "InvalidParameterValue", "not a live preset key")
    expect_error(lambda: org.call("DescribeUser", {"UserId": "U20240101000000ABCDEF"}), INVALID_USER)
    expect_error(lambda: org.call("ModifyUser", {"UserId": "nope", "UserName": "n", "AccountType": 3}),
                 INVALID_USER)


def test_the_super_admin_and_team_admins_are_protected(server, org):
    users = org.call("DescribeUserList", {"Offset": 0, "Limit": 10, "AccountType": 1})["Data"]["DataList"]
    (root,) = users
    expect_error(lambda: org.call("DeleteUser", {"UserId": root["UserId"]}), UNABLE_ADMIN, "super admin")
    expect_error(lambda: org.call("ModifyUser", {"UserId": root["UserId"], "UserName": "r",
                                                 "AccountType": 3}), UNABLE_ADMIN)
    admin = org.create_user()
    team = org.create_team([2], admin=admin)
    expect_error(lambda: org.call("DeleteUser", {"UserId": admin}), UNABLE_ADMIN, "ModifyTeam")
    expect_error(lambda: org.call("DeleteTeamMember", {"TeamId": team, "UserId": admin}), UNABLE_ADMIN)
    expect_error(lambda: org.call("ModifyTeamMember", {"TeamId": team, "UserId": admin,
                                                       "RoleId": APP_DEVELOPER}), UNABLE_ADMIN)
    expect_error(lambda: org.call("AddTeamMember", {"TeamId": team, "MemberList": [
        {"UserId": admin, "UserRoleId": APP_DEVELOPER}]}), UNABLE_ADMIN)
    # Handing the admin role over frees the former admin.
    successor = org.create_user()
    org.call("ModifyTeam", {"TeamId": team, "TeamName": harness.unique_name("renamed")[:30],
                            "AdminUserId": successor})
    members = org.call("DescribeTeamMembers", {"TeamId": team, "Offset": 0, "Limit": 10})["Data"]
    roles = {m["UserId"]: m["UserRoles"] for m in members["DataList"]}
    assert roles == {successor: "Application Administrator", admin: "Application Senior Developer"}
    org.call("DeleteTeamMember", {"TeamId": team, "UserId": admin})
    org.call("DeleteUser", {"UserId": admin})


def test_teams_happy_path_types_and_paging(org):
    marker = harness.unique_name("tm")[-8:]
    app_admin = org.create_user()
    names = []
    for i in range(3):
        name = f"{marker}-app-{i}"
        org.call("CreateTeam", {"TeamName": name, "AdminUserId": app_admin, "TeamRoleTypeList": [2],
                                "Remark": "r"})
        names.append(name)
    page = org.call("DescribeTeamList", {"Offset": 0, "Limit": 2, "Keyword": marker})["Data"]
    assert page["TotalCount"] == 3 and len(page["DataList"]) == 2
    rest = org.call("DescribeTeamList", {"Offset": 2, "Limit": 2, "Keyword": marker})["Data"]
    assert sorted(t["TeamName"] for t in page["DataList"] + rest["DataList"]) == names
    app_team = org.team_named(names[0])
    assert set(app_team) == {"TeamId", "TeamName", "AdminUserId", "AdminUserAccount", "AdminUserName",
                             "MemberCount", "RegisterLink", "TeamRoleTypeList", "RelatedTeamId"}
    assert app_team["TeamRoleTypeList"] == [2] and app_team["AdminUserId"] == app_admin
    assert app_team["TeamId"].isdigit() and len(app_team["TeamId"]) == 10
    # A mini program team bound to the application team.
    mnp_team_name = f"{marker}-mnp"
    org.call("CreateTeam", {"TeamName": mnp_team_name, "AdminUserId": org.create_user(),
                            "TeamRoleTypeList": [1], "RelatedTeamId": app_team["TeamId"]})
    mnp_team = org.team_named(mnp_team_name)
    assert mnp_team["RelatedTeamId"] == int(app_team["TeamId"])
    d = org.call("DescribeTeam", {"TeamId": mnp_team["TeamId"]})["Data"]
    assert d["TeamRoleType"] == 1 and d["BindTeamName"] == names[0] and d["MemberCount"] == 1
    assert d["CreateTime"].isdigit()
    assert org.call("DescribeTeam", {"TeamId": app_team["TeamId"]})["Data"]["BindMiniTeamCount"] == 1
    # Simple list by type.
    simple = org.call("DescribeSimpleTeamList", {"TeamRoleTypeList": [1]})["Data"]
    assert {"Key": mnp_team["TeamId"], "Value": mnp_team_name} in simple["DataList"]
    assert all(kv["Key"] != app_team["TeamId"] for kv in simple["DataList"])
    assert simple["TotalCount"] == len(simple["DataList"])
    # Mini programs go into the mini program team, applications into the
    # application team; each refuses the other.
    org.api.create_mnp(TeamId=mnp_team["TeamId"])
    app = {"ApplicationName": harness.unique_name("a")[:30], "Logo": "https://e.com/l.png",
           "Intro": "i", "ApplicationType": 2}
    org.call("CreateApplication", {**app, "TeamId": app_team["TeamId"]})
    expect_error(lambda: org.api.call("CreateMNP", org.api.mnp_params(TeamId=app_team["TeamId"])),
                 "InvalidParameterValue.TeamTypeMismatch", "mini program team")
    expect_error(lambda: org.call("CreateApplication", {**app, "TeamId": mnp_team["TeamId"]}),
                 "FailedOperation.MNPTeamAssociatedApplicationTeamNotCreateApplication", app_team["TeamId"])
    # Both teams name the host application they work for.
    for team in (app_team, mnp_team):
        assert org.call("DescribeTeam", {"TeamId": team["TeamId"]})["Data"]["ApplicationName"] == \
            app["ApplicationName"]
    assert org.call("DescribeTeam", {"TeamId": org.team_named(names[1])["TeamId"]})["Data"]["ApplicationName"] == ""
    # Rename; delete refused while anything needs the team.
    org.call("ModifyTeam", {"TeamId": app_team["TeamId"], "TeamName": f"{marker}-renamed"})
    assert org.call("DescribeTeam", {"TeamId": app_team["TeamId"]})["Data"]["TeamName"] == f"{marker}-renamed"
    expect_error(lambda: org.call("DeleteTeam", {"TeamId": mnp_team["TeamId"]}), "ResourceInUse", "mini programs")
    expect_error(lambda: org.call("DeleteTeam", {"TeamId": app_team["TeamId"]}), "ResourceInUse")
    empty = org.team_named(names[1])["TeamId"]
    member = org.create_user()
    org.call("AddTeamMember", {"TeamId": empty, "MemberList": [{"UserId": member, "UserRoleId": APP_DEVELOPER}]})
    expect_error(lambda: org.call("DeleteTeam", {"TeamId": empty}), "ResourceInUse", "members")
    org.call("DeleteTeamMember", {"TeamId": empty, "UserId": member})
    assert org.call("DeleteTeam", {"TeamId": empty})["Data"] == {"Result": True}
    expect_error(lambda: org.call("DescribeTeam", {"TeamId": empty}), INVALID_TEAM, empty)


def test_concurrent_creates_of_one_team_name_leave_one_team(org, server):
    """The name is unique in the schema, not only by a check that races."""
    admin = org.create_user()
    name = harness.unique_name("race")[:30]

    def create(_):
        try:
            # A client per thread: the SDK's client is not made to be shared.
            server.api().call("CreateTeam", {"PlatformId": org.p, "TeamName": name, "AdminUserId": admin,
                                             "TeamRoleTypeList": [2]})
            return "created"
        except harness.TencentCloudSDKException as e:
            return e.code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(8)))
    assert outcomes.count("created") == 1, outcomes
    assert set(outcomes) == {"created", "InvalidParameterValue.ExistTeamName"}, outcomes
    found = org.call("DescribeTeamList", {"Offset": 0, "Limit": 100, "Keyword": name})["Data"]
    assert [t["TeamName"] for t in found["DataList"]] == [name], found


def test_team_errors_by_their_triggers(org):
    admin = org.create_user()
    name = harness.unique_name("taken")[:30]
    org.call("CreateTeam", {"TeamName": name, "AdminUserId": admin, "TeamRoleTypeList": [2]})
    expect_error(lambda: org.call("CreateTeam", {"TeamName": name, "AdminUserId": admin,
                                                 "TeamRoleTypeList": [1]}),
                 "InvalidParameterValue.ExistTeamName", name)
    other = org.create_team([2], admin=admin)
    expect_error(lambda: org.call("ModifyTeam", {"TeamId": other, "TeamName": name}),
                 "InvalidParameterValue.ExistTeamName")
    expect_error(lambda: org.call("CreateTeam", {"TeamName": "x", "AdminUserId": "U20240101000000NOPENO",
                                                 "TeamRoleTypeList": [2]}), INVALID_USER)
    expect_error(lambda: org.call("CreateTeam", {"TeamName": "x", "AdminUserId": admin,
                                                 "TeamRoleTypeList": [1], "RelatedTeamId": "1234"}),
                 INVALID_TEAM)
    # RelatedTeamId must name an application team, and only a mini program
    # team is bound.
    mnp_team = org.create_team([1], admin=admin, RelatedTeamId=other)
    expect_error(lambda: org.call("CreateTeam", {"TeamName": "y", "AdminUserId": admin,
                                                 "TeamRoleTypeList": [1], "RelatedTeamId": mnp_team}),
                 "InvalidParameterValue.TeamTypeMismatch", "application team")
    expect_error(lambda: org.call("CreateTeam", {"TeamName": "y", "AdminUserId": admin,
                                                 "TeamRoleTypeList": [2], "RelatedTeamId": other}),
                 "InvalidParameterValue.TeamTypeMismatch")
    expect_error(lambda: org.call("CreateTeam", {"TeamName": "y", "AdminUserId": admin,
                                                 "TeamRoleTypeList": [1, 2]}),
                 "InvalidParameterValue", "exactly one")
    # A mini program team bound to no application team holds no mini program.
    lone = org.create_team([1], admin=admin)
    expect_error(lambda: org.api.call("CreateMNP", org.api.mnp_params(TeamId=lone)),
                 "FailedOperation.MNPTeamNotAssociatedApplicationTeam", lone)
    expect_error(lambda: org.call("CreateApplication", {
        "TeamId": lone, "ApplicationName": "a", "Logo": "https://e.com/l.png", "Intro": "i",
        "ApplicationType": 2}), "InvalidParameterValue.TeamTypeMismatch")
    # Operations teams hold neither.
    ops = org.create_team([3], admin=admin)
    expect_error(lambda: org.api.call("CreateMNP", org.api.mnp_params(TeamId=ops)),
                 "FailedOperation.OperationsTeamNoMiniProgramPermission", ops)
    expect_error(lambda: org.call("CreateApplication", {
        "TeamId": ops, "ApplicationName": "a", "Logo": "https://e.com/l.png", "Intro": "i",
        "ApplicationType": 2}), "FailedOperation.OperationsTeamNoApplicationPermission", ops)
    expect_error(lambda: org.call("DescribeTeam", {"TeamId": "9999999999"}), INVALID_TEAM)
    expect_error(lambda: org.call("DeleteTeam", {"TeamId": "9999999999"}), INVALID_TEAM)


def test_members_happy_path_paging_and_errors(org):
    team = org.create_team([2])
    users = [org.create_user() for _ in range(3)]
    org.call("AddTeamMember", {"TeamId": team, "MemberList": [
        {"UserId": u, "UserRoleId": APP_DEVELOPER} for u in users]})
    key, pw = sealed(org.api, password("member"))
    account = harness.unique_name("member")
    created = org.call("CreateTeamMember", {"TeamId": team, "UserName": "New Member", "UserAccount": account,
                                            "UserPassword": pw, "KeyId": key, "RoleId": APP_SENIOR})["Data"]["UserId"]
    assert created.startswith("U")
    page = org.call("DescribeTeamMemberList", {"TeamId": team, "Offset": 0, "Limit": 2})["Data"]
    assert page["TotalCount"] == 5 and len(page["DataList"]) == 2
    rest = org.call("DescribeTeamMemberList", {"TeamId": team, "Offset": 2, "Limit": 10})["Data"]
    everyone = page["DataList"] + rest["DataList"]
    assert {m["UserId"] for m in everyone} >= set(users) | {created}
    item = next(m for m in everyone if m["UserId"] == created)
    assert item == {"UserId": created, "UserAccount": account, "UserName": "New Member", "TeamId": team,
                    "TeamName": item["TeamName"], "TeamRoleName": "Application Senior Developer",
                    "TeamRoleId": APP_SENIOR, "CanEdit": True}
    assert [m["CanEdit"] for m in everyone if m["TeamRoleId"] == APP_ADMIN] == [False]
    by_role = org.call("DescribeTeamMemberList", {"TeamId": team, "Offset": 0, "Limit": 10,
                                                  "RoleIds": [APP_SENIOR]})["Data"]
    assert [m["UserId"] for m in by_role["DataList"]] == [created]
    by_keyword = org.call("DescribeTeamMemberList", {"Offset": 0, "Limit": 10, "Keyword": account})["Data"]
    assert [m["UserId"] for m in by_keyword["DataList"]] == [created]
    members = org.call("DescribeTeamMembers", {"TeamId": team, "Offset": 0, "Limit": 10})["Data"]
    assert members["TotalCount"] == 5
    org.call("ModifyTeamMember", {"TeamId": team, "UserId": users[0], "RoleId": 20073})
    roles = {m["UserId"]: m["UserRoles"] for m in
             org.call("DescribeTeamMembers", {"TeamId": team, "Offset": 0, "Limit": 10})["Data"]["DataList"]}
    assert roles[users[0]] == "Review Staff"
    # The user list names the team.
    listed = org.call("DescribeUserList", {"Offset": 0, "Limit": 10, "TeamId": team})["Data"]
    assert listed["TotalCount"] == 5 and all(team in u["Teams"].split(",") for u in listed["DataList"])
    org.call("DeleteTeamMember", {"TeamId": team, "UserId": users[0]})
    # Errors.
    expect_error(lambda: org.call("DeleteTeamMember", {"TeamId": team, "UserId": users[0]}),
                 "InvalidParameterValue.UserTeamRelationNotExist", users[0])
    expect_error(lambda: org.call("ModifyTeamMember", {"TeamId": team, "UserId": users[0], "RoleId": APP_DEVELOPER}),
                 "InvalidParameterValue.UserTeamRelationNotExist")
    expect_error(lambda: org.call("ModifyTeamMember", {"TeamId": team, "UserId": users[1], "RoleId": MNP_DEVELOPER}),
                 INVALID_ROLE, "not a role of team")
    expect_error(lambda: org.call("AddTeamMember", {"TeamId": team, "MemberList": [
        {"UserId": users[0], "UserRoleId": 12345}]}), INVALID_ROLE)
    expect_error(lambda: org.call("AddTeamMember", {"TeamId": team, "MemberList": [
        {"UserId": users[0], "UserRoleId": APP_ADMIN}]}), INVALID_ROLE, "admin")
    expect_error(lambda: org.call("AddTeamMember", {"TeamId": team, "MemberList": [
        {"UserId": "U20240101000000NOPENO", "UserRoleId": APP_DEVELOPER}]}), INVALID_USER)
    expect_error(lambda: org.call("AddTeamMember", {"TeamId": "9999999999", "MemberList": [
        {"UserId": users[1], "UserRoleId": APP_DEVELOPER}]}), INVALID_TEAM)
    key, pw = sealed(org.api, password("m2"))
    expect_error(lambda: org.call("CreateTeamMember", {"TeamId": team, "UserName": "n", "UserAccount": account,
                                                       "UserPassword": pw, "KeyId": key, "RoleId": APP_SENIOR}),
                 "InvalidParameterValue.ExistUserAccount")
    expect_error(lambda: org.call("DescribeTeamMemberList", {"Offset": 0, "Limit": 10, "RoleIds": [7]}), INVALID_ROLE)


def test_roles(org):
    everything = org.call("DescribeRoleList", {"Offset": 0, "Limit": 100})["Data"]
    assert everything["TotalCount"] == len(everything["DataList"]) >= 11
    first = everything["DataList"][0]
    assert set(first) == {"RoleId", "RoleName", "TeamName", "CreateTime", "RoleType"}
    page = org.call("DescribeRoleList", {"Offset": 1, "Limit": 2})["Data"]
    assert page["TotalCount"] == everything["TotalCount"]
    assert page["DataList"] == everything["DataList"][1:3]
    app_team = org.create_team([2])
    of_team = org.call("DescribeRoleList", {"Offset": 0, "Limit": 100, "TeamId": app_team})["Data"]
    assert [r["RoleId"] for r in of_team["DataList"]] == list(range(20068, 20074))
    assert [r["RoleName"] for r in of_team["DataList"]][:2] == ["Application Administrator",
                                                                "Application Member Manager"]
    found = org.call("DescribeRoleList", {"Offset": 0, "Limit": 100, "Keyword": "review"})["Data"]
    assert [r["RoleId"] for r in found["DataList"]] == [20073]
    detail = org.call("DescribeRoleDetail", {"RoleId": 20073})["Data"]
    assert detail["RoleName"] == "Review Staff" and "mnp.approve" in detail["ResourceIds"]
    expect_error(lambda: org.call("DescribeRoleDetail", {"RoleId": 1}), INVALID_ROLE)
    expect_error(lambda: org.call("DescribeRoleList", {"Offset": 0, "Limit": 10, "TeamId": "9999999999"}),
                 INVALID_TEAM)


def test_every_action_answers_another_accounts_resources_as_absent(server, org):
    mine_user = org.create_user()
    mine_team = org.create_team([2], admin=mine_user)
    mine_platform = org.p
    theirs = server.create_account()
    platform = server.create_platform(theirs.secret_id)
    other = harness.Api(server.client(theirs), platform["PlatformId"])
    o = Org(other)
    key, pw = sealed(other, password("iso"))
    on_mine = {"PlatformId": mine_platform}
    calls = {
        "CreateUser": {"UserAccount": "x-iso", "UserName": "n", "AccountType": 3, "Password": pw, "KeyId": key},
        "DescribeUser": {"UserId": mine_user},
        "DescribeUserList": {"Offset": 0, "Limit": 10},
        "ModifyUser": {"UserId": mine_user, "UserName": "n", "AccountType": 3},
        "ModifyUserPassword": {"UserId": mine_user, "Password": pw, "KeyId": key},
        "DeleteUser": {"UserId": mine_user},
        "CreateTeam": {"TeamName": "t", "AdminUserId": mine_user, "TeamRoleTypeList": [2]},
        "DescribeTeam": {"TeamId": mine_team},
        "DescribeTeamList": {"Offset": 0, "Limit": 10},
        "DescribeSimpleTeamList": {},
        "ModifyTeam": {"TeamId": mine_team, "TeamName": "t"},
        "DeleteTeam": {"TeamId": mine_team},
        "AddTeamMember": {"TeamId": mine_team, "MemberList": [{"UserId": mine_user, "UserRoleId": APP_DEVELOPER}]},
        "CreateTeamMember": {"TeamId": mine_team, "UserName": "n", "UserAccount": "x-iso2", "UserPassword": pw,
                             "KeyId": key, "RoleId": APP_DEVELOPER},
        "DescribeTeamMemberList": {"Offset": 0, "Limit": 10},
        "DescribeTeamMembers": {"TeamId": mine_team, "Offset": 0, "Limit": 10},
        "ModifyTeamMember": {"TeamId": mine_team, "UserId": mine_user, "RoleId": APP_DEVELOPER},
        "DeleteTeamMember": {"TeamId": mine_team, "UserId": mine_user},
        "DescribeRoleList": {"Offset": 0, "Limit": 10},
        "DescribeRoleDetail": {"RoleId": 20068},
    }
    for action, params in calls.items():
        expect_error(lambda: other.call(action, {**params, **on_mine}), INVALID_PLATFORM)
    # On their own platform, my users and teams are absent.
    own = {"PlatformId": other.platform_id}
    expect_error(lambda: other.call("DescribeUser", {"UserId": mine_user, **own}), INVALID_USER)
    expect_error(lambda: other.call("DescribeUserDetail", {"UserId": mine_user}), INVALID_USER)
    expect_error(lambda: other.call("DeleteUser", {"UserId": mine_user, **own}), INVALID_USER)
    expect_error(lambda: other.call("DescribeTeam", {"TeamId": mine_team, **own}), INVALID_TEAM)
    expect_error(lambda: other.call("DeleteTeam", {"TeamId": mine_team, **own}), INVALID_TEAM)
    expect_error(lambda: other.call("DescribeTeamMembers", {"TeamId": mine_team, "Offset": 0, "Limit": 1, **own}),
                 INVALID_TEAM)
    expect_error(lambda: other.call("CreateTeam", {"TeamName": "t", "AdminUserId": mine_user,
                                                   "TeamRoleTypeList": [2], **own}), INVALID_USER)
    # A preset key of my account is no key for theirs.
    my_key, my_pw = sealed(org.api, password("k"))
    expect_error(lambda: o.call("CreateUser", {"UserAccount": "k-iso", "UserName": "n", "AccountType": 3,
                                               "Password": my_pw, "KeyId": my_key}),
                 "InvalidParameterValue", "not a live preset key")
    listed = other.call("DescribeUserList", {"Offset": 0, "Limit": 100, **own})["Data"]["DataList"]
    assert mine_user not in {u["UserId"] for u in listed}
    teams = other.call("DescribeTeamList", {"Offset": 0, "Limit": 100, **own})["Data"]["DataList"]
    assert mine_team not in {t["TeamId"] for t in teams}
    # My user still exists, untouched.
    assert org.call("DescribeUser", {"UserId": mine_user})["Data"]["UserName"] == "A User"
    # An account with one platform may leave CreateTeam's PlatformId out.
    other_admin = o.create_user()
    other.call("CreateTeam", {"TeamName": "no-platform-id", "AdminUserId": other_admin, "TeamRoleTypeList": [2]})
    assert o.team_named("no-platform-id")["AdminUserId"] == other_admin


def test_passwords_never_come_back_nor_reach_the_log(server, org):
    # Every answer this module received, and the server's log (stderr).
    assert SENT_PASSWORDS, "the tests above sent passwords"
    answers = "\n".join(org.answers)
    stderr = "\n".join(l for l in server.log_path.read_text().splitlines() if not l.startswith("[stdout]"))
    for p in SENT_PASSWORDS:
        assert p not in answers
        assert p not in stderr
    assert "argon2" not in answers and "argon2" not in stderr


def test_operators_manage_users_with_mnpd_admin(server_factory):
    s = server_factory.new()
    api = s.api()
    made = s.admin_json("user", "create", "--platform-id", s.platform_id, "--account", "ops.person",
                        "--account-type", "2")
    assert made["UserId"].startswith("U") and made["AccountType"] == 2 and len(made["Password"]) >= 12
    listed = s.admin_json("user", "list", "--platform-id", s.platform_id)
    assert {u["UserAccount"] for u in listed} == {"admin", "ops.person"}
    assert all("Password" not in u and "argon2" not in str(u) for u in listed)
    # The API sees the same user.
    assert api.call("DescribeUser", {"PlatformId": s.platform_id, "UserId": made["UserId"]})["Data"][
        "AccountType"] == 2
    reset = s.admin_json("user", "reset-password", "--platform-id", s.platform_id, "--account", "ops.person")
    assert reset["Password"] and reset["Password"] != made["Password"]
    disabled = s.admin_json("user", "disable", "--platform-id", s.platform_id, "--account", "ops.person")
    assert disabled["Status"] == 2
    status = api.call("DescribeUserList", {"PlatformId": s.platform_id, "Offset": 0, "Limit": 10,
                                           "Keyword": "ops.person"})["Data"]["DataList"][0]["Status"]
    assert status == 2
    # A second super admin is refused; so is an unknown account.
    cp = s.admin("user", "create", "--platform-id", s.platform_id, "--account", "root2",
                 "--account-type", "1", check=False)
    assert cp.returncode != 0 and "super admin" in cp.stderr
    cp = s.admin("user", "disable", "--platform-id", s.platform_id, "--account", "nobody", check=False)
    assert cp.returncode != 0 and "no user" in cp.stderr
    # A platform made by an operator starts with its own admin too.
    account = s.create_account()
    platform = s.create_platform(account.secret_id)
    assert platform["AdminAccount"] == "admin" and platform["AdminPassword"]
    teams = s.api(account, platform["PlatformId"]).call(
        "DescribeTeamList", {"PlatformId": platform["PlatformId"], "Offset": 0, "Limit": 10})["Data"]
    assert teams["DataList"][0]["AdminUserId"] == platform["AdminUserId"]
