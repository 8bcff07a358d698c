"""Console sign-in (docs/console.md): the session cookie's attributes,
expiry, lock-out, sessions that die at a password change or when the user
is disabled or deleted, role checks the server makes whatever the page
shows, and passwords that never come back nor reach the log."""
import sys
import time
from pathlib import Path

import pytest
import requests

import harness

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
import mnpd_preset  # noqa: E402

MNP_DEVELOPER, REVIEW_STAFF = 20065, 20073
SENT_PASSWORDS: list[str] = []


def password() -> str:
    p = f"Pw-{harness.unique_name('s')[-8:]}7"
    SENT_PASSWORDS.append(p)
    return p


class Console:
    """What the console page does, over HTTP: its own session, cookie jar."""

    def __init__(self, server: harness.MnpdServer):
        self.server = server
        self.http = requests.Session()
        self.http.verify = server.verify
        self.base = server.url.rstrip("/")
        self.answers: list[str] = []

    def _post(self, path, **kw):
        r = self.http.post(self.base + path, **kw)
        self.answers.append(r.text)
        return r

    def sign_in(self, account: str, clear: str, header: bool = True, extra: dict | None = None):
        hdr = {"X-Mnpd-Console": "1"} if header else {}
        hdr.update(extra or {})
        key = self._post("/console/session/key", headers={"X-Mnpd-Console": "1"}).json()["KeyId"]
        body = {"Account": account, "KeyId": key, "Password": mnpd_preset.encrypt(key, clear)}
        return self._post("/console/session", json=body, headers=hdr)

    def call(self, action: str, params: dict, header: bool = True) -> dict:
        hdr = {"X-TC-Action": action, "X-TC-Version": "2024-08-01", "Content-Type": "application/json"}
        if header:
            hdr["X-Mnpd-Console"] = "1"
        r = self._post("/", json=params, headers=hdr)
        assert r.status_code == 200, r.text
        return r.json()["Response"]

    def code(self, action: str, params: dict, **kw) -> str | None:
        return self.call(action, params, **kw).get("Error", {}).get("Code")

    def who(self):
        return self.http.get(self.base + "/console/session", headers={"X-Mnpd-Console": "1"})

    def sign_out(self):
        return self.http.delete(self.base + "/console/session", headers={"X-Mnpd-Console": "1"})


def make_user(api: harness.Api, role: int | None, team: str) -> tuple[str, str, str]:
    """A member of `team` with `role`: (UserId, account, password)."""
    clear = password()
    key = api.call("CreatePresetKey", {})["Data"]["Key"]
    account = harness.unique_name("person")[:32]
    uid = api.call("CreateUser", {"PlatformId": api.platform_id, "UserAccount": account, "UserName": "P",
                                  "AccountType": 3, "Password": mnpd_preset.encrypt(key, clear),
                                  "KeyId": key})["Data"]["ResourceId"]
    if role:
        api.call("AddTeamMember", {"PlatformId": api.platform_id, "TeamId": team,
                                   "MemberList": [{"UserId": uid, "UserRoleId": role}]})
    return uid, account, clear


@pytest.fixture(scope="module")
def site(server_factory_module):
    return server_factory_module


@pytest.fixture(scope="module")
def server_factory_module(tmp_path_factory, mnpd_bin):
    factory = harness.ServerFactory(tmp_path_factory.mktemp("console-sessions"))
    s = factory.new("--console-idle-timeout", "3")
    yield s
    factory.stop_all()


def test_sign_in_sets_a_strict_http_only_cookie_and_names_the_user(site):
    api = site.api()
    uid, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    r = c.sign_in(account, clear)
    assert r.status_code == 200, r.text
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("mnpd_console=")
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="]:
        assert attr in cookie, cookie
    assert "Secure" not in cookie  # plain http
    user = r.json()["User"]
    assert user["UserId"] == uid and user["Account"] == account
    assert "mnp.develop" in user["Permissions"] and "mnp.approve" not in user["Permissions"]
    assert any("Mini Program Developer" in role for role in user["Roles"])
    assert c.who().json()["User"]["UserId"] == uid
    listed = c.call("DescribeMNPList", {"PlatformId": site.platform_id, "Offset": 0, "Limit": 10})
    assert "Error" not in listed, listed
    # Behind an https proxy the cookie is Secure.
    r = Console(site).sign_in(account, clear, extra={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["Set-Cookie"]


def test_roles_are_enforced_by_the_server(site):
    api = site.api()
    _, dev, dev_pw = make_user(api, MNP_DEVELOPER, site.team_id)
    _, rev, rev_pw = make_user(api, REVIEW_STAFF, site.team_id)
    developer, reviewer = Console(site), Console(site)
    assert developer.sign_in(dev, dev_pw).status_code == 200
    assert reviewer.sign_in(rev, rev_pw).status_code == 200
    approve = {"PlatformId": site.platform_id, "ApprovalNo": "1", "AuditResult": 1}
    err = developer.call("ProcessMNPApproval", approve)["Error"]
    assert err["Code"] == "UnauthorizedOperation" and "mnp.approve" in err["Message"], err
    # The reviewer passes the role check (and meets the action's own rules).
    assert reviewer.code("ProcessMNPApproval", approve) != "UnauthorizedOperation"
    assert reviewer.code("CreateMNPVersion", {"PlatformId": site.platform_id}) == "UnauthorizedOperation"
    assert developer.code("CreateMNPVersion", {"PlatformId": site.platform_id}) != "UnauthorizedOperation"
    assert developer.code("CreateTeam", {"PlatformId": site.platform_id}) == "UnauthorizedOperation"


def test_the_session_names_the_teams_and_the_actions_the_roles_refuse(site):
    """The console greys out what the server would refuse, from the server's own table."""
    api = site.api()
    _, dev, dev_pw = make_user(api, MNP_DEVELOPER, site.team_id)
    _, rev, rev_pw = make_user(api, REVIEW_STAFF, site.team_id)
    developer, reviewer = Console(site), Console(site)
    d = developer.sign_in(dev, dev_pw).json()["User"]
    r = reviewer.sign_in(rev, rev_pw).json()["User"]
    assert d["Teams"] == [{"TeamId": site.team_id, "TeamName": d["Teams"][0]["TeamName"], "RoleId": MNP_DEVELOPER,
                           "RoleName": "Mini Program Developer", "IsAdmin": False}], d
    assert [t["RoleName"] for t in r["Teams"]] == ["Review Staff"]
    assert d["DeniedActions"]["ProcessMNPApproval"] == "mnp.approve"
    assert d["DeniedActions"]["CreateMNP"] == "mnp.manage"
    assert d["DeniedActions"]["CreateTeam"] == "platform.teams"
    for allowed in ["CreateMNPVersion", "CreateMNPApproval", "DescribeMNPList"]:
        assert allowed not in d["DeniedActions"], allowed
    assert "ProcessMNPApproval" not in r["DeniedActions"]
    assert r["DeniedActions"]["CreateMNPVersion"] == "mnp.develop"
    assert r["DeniedActions"]["ReleaseMNPVersion"] == "mnp.release"
    # mnpd's own actions are in the same list: a gradual release is a release.
    for action in ["CreateGradualRelease", "ModifyGradualRelease", "HaltGradualRelease", "PromoteGradualRelease"]:
        assert d["DeniedActions"][action] == "mnp.release", action
    assert "DescribeGradualRelease" not in d["DeniedActions"]
    # What the session lists as refused is what the gateway refuses, and the rest passes its check.
    params = {"PlatformId": site.platform_id}
    for action in ["ProcessMNPApproval", "CreateMNP", "CreateMNPVersion", "ReleaseMNPVersion", "CreateTeam"]:
        for console, user in [(developer, d), (reviewer, r)]:
            code = console.code(action, params)
            assert (code == "UnauthorizedOperation") == (action in user["DeniedActions"]), (user["Account"], action, code)
    # GET /console/session answers the same.
    assert developer.who().json()["User"]["DeniedActions"] == d["DeniedActions"]
    # The platform admin, admin of the default (mini program and application)
    # team, lacks only what an operations team's roles grant.
    printed = next(l for l in site.stdout_lines if l.strip().startswith("Password")).split()[1]
    admin = Console(site).sign_in("admin", printed).json()["User"]
    assert set(admin["DeniedActions"].values()) <= {"operations"}, admin["DeniedActions"]


def test_a_call_without_the_console_header_is_refused(site):
    api = site.api()
    _, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    assert c.sign_in(account, clear, header=False).status_code == 403
    assert c.sign_in(account, clear).status_code == 200
    assert c.code("DescribeMNPList", {"PlatformId": site.platform_id, "Offset": 0, "Limit": 1},
                  header=False) == "AuthFailure"
    r = c.http.post(c.base + "/", json={}, headers={
        "X-TC-Action": "DescribeMNPList", "X-TC-Version": "2024-08-01", "X-Mnpd-Console": "1",
        "Origin": "https://elsewhere.example"})
    assert r.json()["Response"]["Error"]["Code"] == "AuthFailure"


def test_wrong_passwords_lock_the_account_out_without_telling_it_exists(site):
    api = site.api()
    _, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    ghost = harness.unique_name("ghost")
    wrong = c.sign_in(account, password())
    absent = c.sign_in(ghost, password())
    assert wrong.status_code == absent.status_code == 401
    assert wrong.json() == absent.json()
    for _ in range(4):
        assert c.sign_in(account, password()).status_code == 401
        c.sign_in(ghost, password())
    locked = c.sign_in(account, clear)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.json()["Error"]["Code"] == "RequestLimitExceeded"
    # An account nobody has locks the same way.
    assert c.sign_in(ghost, password()).status_code == 429


def test_a_password_change_ends_the_session(site):
    api = site.api()
    uid, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    assert c.sign_in(account, clear).status_code == 200
    key = api.call("CreatePresetKey", {})["Data"]["Key"]
    api.call("ModifyUserPassword", {"PlatformId": site.platform_id, "UserId": uid,
                                    "Password": mnpd_preset.encrypt(key, password()), "KeyId": key})
    assert c.code("DescribeMNPList", {"PlatformId": site.platform_id, "Offset": 0, "Limit": 1}) == "AuthFailure"
    assert c.who().status_code == 401


def test_a_disabled_or_deleted_user_loses_the_session(site):
    api = site.api()
    _, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    assert c.sign_in(account, clear).status_code == 200
    site.admin_json("user", "disable", "--platform-id", site.platform_id, "--account", account)
    assert c.who().status_code == 401
    site.admin_json("user", "enable", "--platform-id", site.platform_id, "--account", account)
    assert c.who().status_code == 401  # the session is gone for good
    uid, account, clear = make_user(api, None, site.team_id)
    assert c.sign_in(account, clear).status_code == 200
    api.call("DeleteUser", {"PlatformId": site.platform_id, "UserId": uid})
    assert c.who().status_code == 401


def test_sign_out_ends_the_session_on_the_server(site):
    api = site.api()
    _, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    assert c.sign_in(account, clear).status_code == 200
    token = c.http.cookies.get("mnpd_console")
    r = c.sign_out()
    assert r.status_code == 204 and "Max-Age=0" in r.headers["Set-Cookie"]
    replay = Console(site)
    replay.http.cookies.set("mnpd_console", token)
    assert replay.who().status_code == 401


def test_an_idle_session_expires(site):
    # This server's idle timeout is 3 s.
    api = site.api()
    _, account, clear = make_user(api, MNP_DEVELOPER, site.team_id)
    c = Console(site)
    assert c.sign_in(account, clear).status_code == 200
    assert c.who().status_code == 200
    time.sleep(4.5)
    assert c.who().status_code == 401


def test_a_session_ends_at_its_lifetime_however_used(server_factory):
    s = server_factory.new("--console-session-lifetime", "3")
    _, account, clear = make_user(s.api(), MNP_DEVELOPER, s.team_id)
    c = Console(s)
    r = c.sign_in(account, clear)
    assert "Max-Age=3" in r.headers["Set-Cookie"]
    for _ in range(3):
        assert c.who().status_code == 200
        time.sleep(0.5)
    time.sleep(2.5)
    assert c.who().status_code == 401


def test_passwords_never_come_back_nor_reach_the_log(site):
    assert SENT_PASSWORDS
    log = site.log_path.read_text()
    for p in SENT_PASSWORDS:
        assert p not in log


def test_what_a_user_does_names_the_user(site):
    # The platform's super admin, whose one-time password the first start printed.
    printed = next(l for l in site.stdout_lines if l.strip().startswith("Password")).split()[1]
    c = Console(site)
    r = c.sign_in("admin", printed)
    assert r.status_code == 200, r.text
    assert {"mnp.manage", "platform.users"} <= set(r.json()["User"]["Permissions"])
    api = site.api()
    made = c.call("CreateMNP", api.mnp_params(MNPName=harness.unique_name("byadmin"), TeamId=site.team_id))
    assert "Error" not in made, made
    detail = api.call("DescribeMNPDetail", {"MNPId": made["Data"]["ResourceId"], "PlatformId": site.platform_id})
    assert detail["Data"]["CreateUser"] == "admin", detail


def test_a_role_counts_in_its_own_team_only(site):
    """A developer of one mini program team may upload to that team's mini
    programs, not to another team's, though the permission is theirs."""
    api = site.api()
    admin_id, _, _ = make_user(api, None, site.team_id)

    def team(types: list[int], **extra) -> str:
        name = harness.unique_name("devteam")[:30]
        api.call("CreateTeam", {"PlatformId": site.platform_id, "TeamName": name, "AdminUserId": admin_id,
                                "TeamRoleTypeList": types, **extra})
        listed = api.call("DescribeTeamList", {"PlatformId": site.platform_id, "Offset": 0, "Limit": 100,
                                               "Keyword": name})["Data"]["DataList"]
        (team_id,) = [t["TeamId"] for t in listed if t["TeamName"] == name]
        return team_id

    # Another mini program team, bound to an application team.
    other_team = team([1], RelatedTeamId=team([2]))
    own_mnp = api.create_mnp(TeamId=site.team_id)
    other_mnp = api.create_mnp(TeamId=other_team)
    _, dev, dev_pw = make_user(api, MNP_DEVELOPER, site.team_id)
    developer = Console(site)
    assert developer.sign_in(dev, dev_pw).status_code == 200
    version = {"PlatformId": site.platform_id, "MNPVersion": "1.0.0", "MNPVersionIntro": "x",
               "FileUrl": "http://127.0.0.1:9/none.zip"}
    err = developer.call("CreateMNPVersion", {**version, "MNPId": other_mnp})["Error"]
    assert err["Code"] == "UnauthorizedOperation", err
    assert other_mnp in err["Message"] and "mnp.develop" in err["Message"], err
    # In their own team the role check passes (what the FileUrl then does
    # is the action's own business).
    assert developer.code("CreateMNPVersion", {**version, "MNPId": own_mnp}) != "UnauthorizedOperation"
    # Membership changes in another team are refused the same way.
    assert developer.code("AddTeamMember", {"PlatformId": site.platform_id, "TeamId": other_team,
                                            "MemberList": []}) == "UnauthorizedOperation"
    # A mini program that does not exist gets the action's own answer.
    assert developer.code("CreateMNPVersion", {**version, "MNPId": "mpnonexistent000"}) != "UnauthorizedOperation"
