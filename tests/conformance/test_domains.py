"""Server domains through the official SDK (docs/domains.md): a mini
program's lists, the team view, the platform's white and black lists.

Each test runs on a platform of its own account, so the black list of one
test never reaches another's mini programs."""

from __future__ import annotations

import pytest

import harness
from harness import expect_error

INVALID = "InvalidParameterValue"
REPEAT = "FailedOperation.ExistRepeatDomainUrl"
WHITE = "FailedOperation.ExistWhiteDomain"
BLACK = "FailedOperation.ExistBlackDomain"
NOT_FOUND = "FailedOperation.RecordNotFound"

REQUEST, UPLOAD, DOWNLOAD, SOCKET, WEBVIEW = 1, 2, 3, 4, 5


class Tenant:
    def __init__(self, server):
        creds = server.create_account()
        platform = server.create_platform(creds.secret_id)
        self.api = server.api(creds, platform["PlatformId"])
        self.platform_id = platform["PlatformId"]
        self.team_id = platform["TeamId"]

    def call(self, action, **params):
        return self.api.call(action, {"PlatformId": self.platform_id, **params})

    def fails(self, code, action, *fragments, **params):
        return expect_error(
            lambda: self.api.client.call_json(action, {"PlatformId": self.platform_id, **params}),
            code, *fragments)

    def domains(self, mnp_id):
        data = self.call("DescribeDomainInfo", MNPId=mnp_id)["Data"]
        return sorted((d["DomainType"], d["DomainUrl"]) for d in data)


@pytest.fixture
def tenant(server):
    return Tenant(server)


@pytest.fixture
def other(server):
    return Tenant(server)


def test_create_describe_modify(tenant):
    mnp = tenant.api.create_mnp()
    resp = tenant.call("CreateDomain", MNPId=mnp, Domain=[
        {"DomainType": REQUEST, "DomainUrlList": ["https://API.example.com/", "https://bücher.example"]},
        {"DomainType": SOCKET, "DomainUrlList": ["wss://chat.example.com"]},
    ])
    assert resp["Data"] == {"Result": True}
    assert tenant.domains(mnp) == [
        (REQUEST, "https://api.example.com"),
        (REQUEST, "https://xn--bcher-kva.example"),
        (SOCKET, "wss://chat.example.com"),
    ]
    # The ACL names answer the same lists.
    acl = tenant.call("DescribeMNPDomainACL", MNPId=mnp)["Data"]
    assert sorted((d["DomainType"], d["DomainUrl"]) for d in acl) == tenant.domains(mnp)
    tenant.call("CreateMNPDomainACL", MNPId=mnp, Domain=[
        {"DomainType": UPLOAD, "DomainUrlList": ["https://up.example.com"]}])
    # ModifyDomain replaces the types it names and keeps the others.
    tenant.call("ModifyDomain", MNPId=mnp, Domain=[
        {"DomainType": REQUEST, "DomainUrlList": ["https://api2.example.com"]},
        {"DomainType": UPLOAD, "DomainUrlList": []},
    ])
    assert tenant.domains(mnp) == [
        (REQUEST, "https://api2.example.com"), (SOCKET, "wss://chat.example.com")]
    tenant.call("ModifyMNPDomain", MNPId=mnp, Domain=[
        {"DomainType": SOCKET, "DomainUrlList": []},
        {"DomainType": WEBVIEW, "DomainUrlList": ["https://shop.example.com"]}])
    assert tenant.domains(mnp) == [
        (REQUEST, "https://api2.example.com"), (WEBVIEW, "https://shop.example.com")]
    # As in the public example: an item with a DomainType alone clears it.
    tenant.call("ModifyMNPDomain", MNPId=mnp, Domain=[{"DomainType": WEBVIEW}])
    assert tenant.domains(mnp) == [(REQUEST, "https://api2.example.com")]
    # Without Domain, nothing changes.
    tenant.call("ModifyDomain", MNPId=mnp)
    assert len(tenant.domains(mnp)) == 1


# (DomainType, URL, what the message names): at least 30, by rule.
BAD_DOMAINS = [
    (REQUEST, "http://api.example.com", "scheme"),
    (REQUEST, "wss://api.example.com", "scheme"),
    (REQUEST, "api.example.com", "no scheme"),
    (UPLOAD, "ftp://files.example.com", "scheme"),
    (DOWNLOAD, "ws://cdn.example.com", "scheme"),
    (SOCKET, "https://chat.example.com", "scheme"),
    (SOCKET, "ws://chat.example.com", "scheme"),
    (WEBVIEW, "http://shop.example.com", "scheme"),
    (REQUEST, "https://127.0.0.1", "IP address"),
    (REQUEST, "https://8.8.8.8", "IP address"),
    (REQUEST, "https://127.1", "IP address"),
    (REQUEST, "https://2130706433", "IP address"),
    (REQUEST, "https://0x7f000001", "IP address"),
    (REQUEST, "https://0x7f.0.0.1", "IP address"),
    (REQUEST, "https://0177.0.0.1", "IP address"),
    (UPLOAD, "https://[::1]", "IP address"),
    (DOWNLOAD, "https://[2001:db8::1]", "IP address"),
    (SOCKET, "wss://[::ffff:127.0.0.1]", "IP address"),
    (REQUEST, "https://localhost", "localhost"),
    (REQUEST, "https://dev.localhost", "localhost"),
    (REQUEST, "https://intranet", "single-label"),
    (REQUEST, "https://api.example.com:8443", "port"),
    (SOCKET, "wss://chat.example.com:443", "port"),
    (REQUEST, "https://api.example.com/v1", "path"),
    (REQUEST, "https://api.example.com?q=1", "path"),
    (REQUEST, "https://api.example.com#x", "path"),
    (REQUEST, "https://user@api.example.com", "user name"),
    (REQUEST, "https://user:pw@api.example.com", "user name"),
    (REQUEST, "https://ex\u0430mple.com", "look-alike"),
    (REQUEST, "https://xn--exmple-4nf.com", "look-alike"),
    (REQUEST, "https://g\u03bf\u03bfgle.com", "look-alike"),
    (REQUEST, "https://api .example.com", "space"),
    (REQUEST, "https://-api.example.com", "not a valid domain name"),
    (REQUEST, "https://api_x.example.com", "not a valid domain name"),
    (REQUEST, "https://" + "a" * 300 + ".com", "longer than"),
    (REQUEST, "", "empty"),
]


@pytest.mark.parametrize("domain_type,url,fragment", BAD_DOMAINS)
def test_bad_domains(tenant, domain_type, url, fragment):
    mnp = tenant.api.create_mnp()
    good = ("wss" if domain_type == SOCKET else "https") + "://ok.example.com"
    tenant.fails(INVALID, "CreateDomain", fragment, MNPId=mnp,
                 Domain=[{"DomainType": domain_type, "DomainUrlList": [good, url]}])
    # Nothing was stored, not even the good entry sent with it.
    assert tenant.domains(mnp) == []


def test_domain_type_and_repeats(tenant):
    mnp = tenant.api.create_mnp()
    tenant.fails(INVALID, "CreateDomain", "DomainType 6", MNPId=mnp,
                 Domain=[{"DomainType": 6, "DomainUrlList": ["https://a.example.com"]}])
    tenant.fails(INVALID, "CreateDomain", "at least one", MNPId=mnp,
                 Domain=[{"DomainType": 1, "DomainUrlList": []}])
    # The same origin twice in one request, once spelled differently.
    tenant.fails(REPEAT, "CreateDomain", "https://a.example.com", MNPId=mnp,
                 Domain=[{"DomainType": 1, "DomainUrlList": ["https://a.example.com", "HTTPS://A.Example.com/"]}])
    tenant.call("CreateDomain", MNPId=mnp,
                Domain=[{"DomainType": 1, "DomainUrlList": ["https://a.example.com"]}])
    tenant.fails(REPEAT, "CreateDomain", "already configured", MNPId=mnp,
                 Domain=[{"DomainType": 1, "DomainUrlList": ["https://a.example.com"]}])
    # The same origin for another type is another entry.
    tenant.call("CreateDomain", MNPId=mnp,
                Domain=[{"DomainType": 3, "DomainUrlList": ["https://a.example.com"]}])


def test_limit_per_type(tenant):
    mnp = tenant.api.create_mnp()
    urls = [f"https://s{i}.example.com" for i in range(101)]
    tenant.fails(INVALID, "CreateDomain", "at most 100", MNPId=mnp,
                 Domain=[{"DomainType": WEBVIEW, "DomainUrlList": urls}])
    tenant.call("CreateDomain", MNPId=mnp,
                Domain=[{"DomainType": WEBVIEW, "DomainUrlList": urls[:100]}])
    assert len(tenant.domains(mnp)) == 100


def test_global_lists_and_check(tenant):
    resp = tenant.call("CreateGlobalDomain", DomainType=1,
                       DomainUrlList=["cdn.example.net", "https://Static.Example.net"])
    assert resp["Data"] == {"Result": True, "RepeatUrls": [], "ExistsWhiteUrls": [], "ExistsBlackUrls": []}
    tenant.call("CreateGlobalDomainACL", DomainType=2, DomainUrlList=["evil.example.org"])
    check = tenant.call("CheckGlobalDomain", DomainUrlList=[
        "new.example.com", "CDN.example.net", "evil.example.org", "new.example.com",
        "https://static.example.net/"])["Data"]
    assert check == {"RepeatUrls": ["new.example.com"],
                     "ExistsWhiteUrls": ["cdn.example.net", "static.example.net"],
                     "ExistsBlackUrls": ["evil.example.org"]}
    tenant.fails(INVALID, "CheckGlobalDomain", "IP address", DomainUrlList=["10.0.0.1"])
    # Adding refuses all or nothing, by the first kind of conflict.
    tenant.fails(REPEAT, "CreateGlobalDomain", "a.example.com", DomainType=1,
                 DomainUrlList=["a.example.com", "A.example.com"])
    tenant.fails(WHITE, "CreateGlobalDomain", "cdn.example.net", DomainType=2,
                 DomainUrlList=["b.example.com", "cdn.example.net"])
    tenant.fails(BLACK, "CreateGlobalDomainACL", "evil.example.org", DomainType=1,
                 DomainUrlList=["evil.example.org"])
    tenant.fails(INVALID, "CreateGlobalDomain", "DomainType 3", DomainType=3,
                 DomainUrlList=["c.example.com"])
    listed = tenant.call("DescribeGlobalDomainList", Offset=0, Limit=10)["Data"]
    assert listed["TotalCount"] == 3
    assert "b.example.com" not in [d["DomainURL"] for d in listed["DataList"]]


def test_global_paging_filters_modify_delete(tenant):
    tenant.call("CreateGlobalDomain", DomainType=1,
                DomainUrlList=[f"w{i}.example.com" for i in range(5)])
    tenant.call("CreateGlobalDomain", DomainType=2,
                DomainUrlList=[f"b{i}.example.com" for i in range(3)])
    page = tenant.call("DescribeGlobalDomainList", Offset=0, Limit=3)["Data"]
    assert page["TotalCount"] == 8 and len(page["DataList"]) == 3
    rest = tenant.call("DescribeGlobalDomainList", Offset=3, Limit=10)["Data"]
    seen = [d["DomainId"] for d in page["DataList"] + rest["DataList"]]
    assert len(seen) == len(set(seen)) == 8
    item = page["DataList"][0]
    assert item["CustomerID"] == tenant.platform_id
    assert set(item) >= {"DomainId", "DomainURL", "DomainType", "CreateUser", "CreateTime",
                         "UpdateUser", "UpdateTime"}
    black = tenant.call("DescribeGlobalDomainACL", Offset=0, Limit=20, DomainTypes=[2])["Data"]
    assert black["TotalCount"] == 3
    assert {d["DomainUrl"] for d in black["DataList"]} == {f"b{i}.example.com" for i in range(3)}
    kw = tenant.call("DescribeGlobalDomainList", Offset=0, Limit=20, Keyword="W3")["Data"]
    assert [d["DomainURL"] for d in kw["DataList"]] == ["w3.example.com"]
    tenant.fails(INVALID, "DescribeGlobalDomainList", "Limit", Offset=0, Limit=0)
    tenant.fails(INVALID, "DescribeGlobalDomainList", "DomainType 7", Offset=0, Limit=5,
                 DomainTypes=[7])
    tenant.fails("InvalidParameterValue.QueryParameterLengthExceedLimit", "DescribeGlobalDomainList",
                 "Keyword", Offset=0, Limit=5, Keyword="k" * 500)

    w3 = kw["DataList"][0]["DomainId"]
    resp = tenant.call("ModifyGlobalDomain", DomainId=w3, DomainUrl="W33.example.com")
    assert resp["Data"] == {"Result": 0}
    tenant.fails(WHITE, "ModifyGlobalDomain", "w1.example.com", DomainId=w3,
                 DomainUrl="w1.example.com")
    tenant.fails(BLACK, "ModifyGlobalDomain", "b1.example.com", DomainId=w3,
                 DomainUrl="b1.example.com")
    tenant.fails(INVALID, "ModifyGlobalDomain", "localhost", DomainId=w3, DomainUrl="localhost")
    tenant.fails(NOT_FOUND, "ModifyGlobalDomain", "999999", DomainId=999999,
                 DomainUrl="x.example.com")
    assert tenant.call("DeleteGlobalDomain", DomainId=w3)["Data"] == {"Result": True}
    tenant.fails(NOT_FOUND, "DeleteGlobalDomain", str(w3), DomainId=w3)
    assert tenant.call("DescribeGlobalDomainList", Offset=0, Limit=1)["Data"]["TotalCount"] == 7


def test_black_list_refuses_mini_program_domains(tenant):
    mnp = tenant.api.create_mnp()
    tenant.call("CreateGlobalDomain", DomainType=2, DomainUrlList=["evil.example.org"])
    for url in ["https://evil.example.org", "https://api.EVIL.example.org"]:
        tenant.fails(BLACK, "CreateDomain", "black list", MNPId=mnp,
                     Domain=[{"DomainType": 1, "DomainUrlList": [url]}])
        tenant.fails(BLACK, "ModifyDomain", "black list", MNPId=mnp,
                     Domain=[{"DomainType": 1, "DomainUrlList": [url]}])
    # A name that merely ends the same way is not under it.
    tenant.call("CreateDomain", MNPId=mnp,
                Domain=[{"DomainType": 1, "DomainUrlList": ["https://notevil.example.org"]}])


def test_team_domains(server, tenant):
    mnp = tenant.api.create_mnp(TeamId=tenant.team_id)
    tenant.call("CreateDomain", MNPId=mnp, Domain=[
        {"DomainType": 1, "DomainUrlList": [f"https://t{i}.example.com" for i in range(3)]}])
    teams = tenant.call("DescribeDomainTeamList", Offset=0, Limit=10)["Data"]
    assert teams["TotalCount"] == 1 and teams["DataList"][0]["TeamId"] == tenant.team_id
    team2 = server.admin_json("team", "create", "--platform-id", tenant.platform_id,
                              "--name", "domains-team-two")
    both = tenant.call("DescribeDomainTeamList", Offset=0, Limit=10)["Data"]
    ids = [t["TeamId"] for t in both["DataList"]]
    assert both["TotalCount"] == 2 and sorted(ids) == sorted([tenant.team_id, team2["TeamId"]])
    second = tenant.call("DescribeDomainTeamList", Offset=1, Limit=10)["Data"]
    assert second["TotalCount"] == 2 and [t["TeamId"] for t in second["DataList"]] == ids[1:]
    found = tenant.call("DescribeDomainTeamList", Offset=0, Limit=10, Keyword="TEAM-TWO")["Data"]
    assert [t["TeamName"] for t in found["DataList"]] == ["domains-team-two"]
    # Teams the operator made name `admin` as their creator.
    assert {t["CreateUser"] for t in both["DataList"]} == {"admin"}

    page = tenant.call("DescribeTeamDomainList", TeamId=tenant.team_id, Offset=0, Limit=2)["Data"]
    assert page["TotalCount"] == 3 and len(page["DataList"]) == 2
    row = page["DataList"][0]
    assert row["MNPId"] == mnp and row["Status"] == 1 and row["DomainType"] == 1
    assert tenant.call("DescribeTeamDomainList", TeamId=team2["TeamId"], Offset=0,
                       Limit=5)["Data"]["TotalCount"] == 0
    resp = tenant.call("DisableTeamDomain", DomainId=row["DomainId"])
    assert resp["Data"] == {"Result": True}
    again = tenant.call("DescribeTeamDomainList", TeamId=tenant.team_id, Offset=0, Limit=5)["Data"]
    status = {r["DomainId"]: r["Status"] for r in again["DataList"]}
    assert status[row["DomainId"]] == 2 and sorted(status.values()) == [1, 1, 2]
    tenant.fails(NOT_FOUND, "DisableTeamDomain", "DescribeTeamDomainList", DomainId=987654321)
    tenant.fails("InvalidParameterValue.InvalidTeamId", "DescribeTeamDomainList",
                 TeamId="team-nope", Offset=0, Limit=5)


def test_isolation(tenant, other):
    """Another account's resources answer as if absent, for every action."""
    mnp = tenant.api.create_mnp()
    tenant.call("CreateDomain", MNPId=mnp,
                Domain=[{"DomainType": 1, "DomainUrlList": ["https://iso.example.com"]}])
    tenant.call("CreateGlobalDomain", DomainType=1, DomainUrlList=["iso-white.example.com"])
    domain_id = tenant.call("DescribeTeamDomainList", TeamId=tenant.team_id, Offset=0,
                            Limit=5)["Data"]["DataList"][0]["DomainId"]
    global_id = tenant.call("DescribeGlobalDomainList", Offset=0,
                            Limit=5)["Data"]["DataList"][0]["DomainId"]
    bad_platform = "InvalidParameterValue.InvalidPlatformId"
    a = tenant.platform_id
    calls = [
        ("CreateDomain", {"MNPId": mnp, "Domain": [{"DomainType": 1, "DomainUrlList": ["https://x.example.com"]}]}),
        ("CreateMNPDomainACL", {"MNPId": mnp, "Domain": [{"DomainType": 1, "DomainUrlList": ["https://x.example.com"]}]}),
        ("ModifyDomain", {"MNPId": mnp, "Domain": [{"DomainType": 1, "DomainUrlList": []}]}),
        ("ModifyMNPDomain", {"MNPId": mnp, "Domain": [{"DomainType": 1, "DomainUrlList": []}]}),
        ("DescribeDomainInfo", {"MNPId": mnp}),
        ("DescribeMNPDomainACL", {"MNPId": mnp}),
        ("DescribeDomainTeamList", {"Offset": 0, "Limit": 5}),
        ("DescribeTeamDomainList", {"TeamId": tenant.team_id, "Offset": 0, "Limit": 5}),
        ("DisableTeamDomain", {"DomainId": domain_id}),
        ("CreateGlobalDomain", {"DomainType": 2, "DomainUrlList": ["y.example.com"]}),
        ("CreateGlobalDomainACL", {"DomainType": 2, "DomainUrlList": ["y.example.com"]}),
        ("ModifyGlobalDomain", {"DomainId": global_id, "DomainUrl": "z.example.com"}),
        ("DeleteGlobalDomain", {"DomainId": global_id}),
        ("DescribeGlobalDomainList", {"Offset": 0, "Limit": 5}),
        ("DescribeGlobalDomainACL", {"Offset": 0, "Limit": 5}),
        ("CheckGlobalDomain", {"DomainUrlList": ["iso-white.example.com"]}),
    ]
    for action, params in calls:
        # A's platform: refused as unknown.
        expect_error(lambda: other.api.client.call_json(action, {**params, "PlatformId": a}),
                     bad_platform)
    # B's own platform with A's ids: as if absent.
    by_id = {
        "CreateDomain": "InvalidParameterValue.InvalidMNPId",
        "CreateMNPDomainACL": "InvalidParameterValue.InvalidMNPId",
        "ModifyDomain": "InvalidParameterValue.InvalidMNPId",
        "ModifyMNPDomain": "InvalidParameterValue.InvalidMNPId",
        "DescribeDomainInfo": "InvalidParameterValue.InvalidMNPId",
        "DescribeMNPDomainACL": "InvalidParameterValue.InvalidMNPId",
        "DescribeTeamDomainList": "InvalidParameterValue.InvalidTeamId",
        "DisableTeamDomain": NOT_FOUND,
        "ModifyGlobalDomain": NOT_FOUND,
        "DeleteGlobalDomain": NOT_FOUND,
    }
    for action, params in calls:
        if action in by_id:
            other.fails(by_id[action], action, **params)
    assert other.call("DescribeGlobalDomainList", Offset=0, Limit=5)["Data"]["TotalCount"] == 0
    assert other.call("CheckGlobalDomain", DomainUrlList=["iso-white.example.com"])["Data"][
        "ExistsWhiteUrls"] == []
    teams = other.call("DescribeDomainTeamList", Offset=0, Limit=5)["Data"]["DataList"]
    assert [t["TeamId"] for t in teams] == [other.team_id]
    # A's state is untouched.
    assert tenant.domains(mnp) == [(1, "https://iso.example.com")]
    rows = tenant.call("DescribeTeamDomainList", TeamId=tenant.team_id, Offset=0, Limit=5)["Data"]
    assert [r["Status"] for r in rows["DataList"]] == [1]
    assert [d["DomainURL"] for d in tenant.call("DescribeGlobalDomainList", Offset=0, Limit=5)[
        "Data"]["DataList"]] == ["iso-white.example.com"]


def test_team_types_creators_and_members(server, tenant):
    """DescribeTeamDomainList answers for mini program teams only; a team
    made with CreateTeam names its creator; a console user sees a team's
    domains as a member of it (or of an operations team), not otherwise."""
    import test_console_sessions as console  # the console page's client
    from test_organization import Org

    org = Org(tenant.api)
    app_team = org.create_team([2])
    ops_team = org.create_team([3])
    mnp_team = org.create_team([1], RelatedTeamId=app_team)
    listed = tenant.call("DescribeDomainTeamList", Offset=0, Limit=10)["Data"]["DataList"]
    creators = {t["TeamId"]: t["CreateUser"] for t in listed}
    # CreateTeam by an API key: the key's SecretId, as every record shows it.
    secret_id = tenant.api.client.credential.secretId
    assert creators[app_team] == creators[ops_team] == creators[mnp_team] == secret_id
    assert creators[tenant.team_id] == "admin"
    for team, kind in [(app_team, "host application team"), (ops_team, "operations team")]:
        tenant.fails("InvalidParameterValue.TeamTypeMismatch", "DescribeTeamDomainList", kind,
                     TeamId=team, Offset=0, Limit=5)
    mnp = tenant.api.create_mnp(TeamId=mnp_team)
    tenant.call("CreateDomain", MNPId=mnp, Domain=[
        {"DomainType": 1, "DomainUrlList": ["https://members.example.com"]}])
    rows = tenant.call("DescribeTeamDomainList", TeamId=mnp_team, Offset=0, Limit=5)["Data"]
    assert [r["DomainUrl"] for r in rows["DataList"]] == ["https://members.example.com"]

    # A developer of the default team, signed in to the console.
    _, account, clear = console.make_user(tenant.api, console.MNP_DEVELOPER, tenant.team_id)
    page = console.Console(server)
    assert page.sign_in(account, clear).status_code == 200
    params = {"PlatformId": tenant.platform_id, "Offset": 0, "Limit": 5}
    out = page.call("DescribeTeamDomainList", {**params, "TeamId": mnp_team})
    assert out["Error"]["Code"] == "InvalidParameterValue.UserTeamRelationNotExist", out
    assert mnp_team in out["Error"]["Message"]
    assert "Error" not in page.call("DescribeTeamDomainList", {**params, "TeamId": tenant.team_id})
    # An operator (operations team) sees every team's domains.
    _, op_account, op_clear = console.make_user(tenant.api, 20076, ops_team)
    operator = console.Console(server)
    assert operator.sign_in(op_account, op_clear).status_code == 200
    seen = operator.call("DescribeTeamDomainList", {**params, "TeamId": mnp_team})
    assert seen["Data"]["TotalCount"] == 1, seen
    domain_id = seen["Data"]["DataList"][0]["DomainId"]
    assert "Error" not in operator.call("DisableTeamDomain", {"PlatformId": tenant.platform_id,
                                                              "DomainId": domain_id})
    rows = tenant.call("DescribeTeamDomainList", TeamId=mnp_team, Offset=0, Limit=5)["Data"]
    assert rows["DataList"][0]["Status"] == 2
