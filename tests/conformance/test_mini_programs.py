"""CreateMNP, DescribeMNPList and DescribeMNPDetail refusals, and isolation
between platforms and accounts."""

import pytest

import harness
from harness import expect_error

NAME_TAKEN = "InvalidParameterValue.MiniProgramNameAlreadyExist"
INVALID_NAME = "InvalidParameterValue.InvalidMNPName"
INVALID_ICON = "InvalidParameterValue.InvalidMNPIcon"
INVALID_INTRO = "InvalidParameterValue.InvalidMNPIntro"
INVALID_TYPE = "InvalidParameterValue.InvalidMNPType"
INVALID_TEAM = "InvalidParameterValue.InvalidTeamId"
INVALID_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
INVALID_MNP = "InvalidParameterValue.InvalidMNPId"
MISMATCH = "InvalidParameterValue.ExistMismatchParameterType"


def create_call(api, **over):
    return lambda: api.call("CreateMNP", api.mnp_params(**over))


def test_name_unique_per_platform(server, api):
    name = harness.unique_name("dup")
    api.create_mnp(MNPName=name)
    expect_error(create_call(api, MNPName=name), NAME_TAKEN, name)
    # Another platform may use the same name.
    other = server.create_platform(server.creds.secret_id)["PlatformId"]
    server.api(platform_id=other).create_mnp(MNPName=name)


def test_name_length(api):
    api.create_mnp(MNPName=harness.unique_name("n").ljust(30, "x"))
    api.create_mnp(MNPName="小程序" * 10)  # 30 characters, 90 bytes
    expect_error(create_call(api, MNPName="n" * 31), INVALID_NAME, "MNPName")
    expect_error(create_call(api, MNPName="程" * 31), INVALID_NAME, "MNPName")


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "spaces"])
def test_empty_name(api, name):
    expect_error(create_call(api, MNPName=name), INVALID_NAME, "MNPName")


@pytest.mark.parametrize("icon", [
    "", "   ", "not a url", "ftp://cdn.example.com/icon.png", "file:///etc/passwd",
    "javascript:alert(1)", "//cdn.example.com/icon.png", "https://",
], ids=["empty", "spaces", "text", "ftp", "file", "javascript", "no-scheme", "no-host"])
def test_bad_icon(api, icon):
    expect_error(create_call(api, MNPIcon=icon), INVALID_ICON, "MNPIcon")


def test_http_and_https_icons(api):
    api.create_mnp(MNPIcon="http://cdn.example.com/a.png")
    api.create_mnp(MNPIcon="https://cdn.example.com:8443/path/b.jpeg?x=1")


@pytest.mark.parametrize("intro", ["", "   "], ids=["empty", "spaces"])
def test_bad_intro(api, intro):
    expect_error(create_call(api, MNPIntro=intro), INVALID_INTRO, "MNPIntro")


@pytest.mark.parametrize("mnp_type", ["", "   "], ids=["empty", "spaces"])
def test_bad_type(api, mnp_type):
    expect_error(create_call(api, MNPType=mnp_type), INVALID_TYPE, "MNPType")


def test_unknown_team(api):
    expect_error(create_call(api, TeamId="9999999999"), INVALID_TEAM, "9999999999")


def test_team_of_another_platform(server, api):
    other = server.create_platform(server.creds.secret_id)
    expect_error(create_call(api, TeamId=other["TeamId"]), INVALID_TEAM, other["TeamId"])


def test_explicit_team(server, api):
    team = server.admin_json("team", "create", "--platform-id", api.platform_id,
                             "--name", "explicit-team")
    mnp = api.create_mnp(TeamId=team["TeamId"])
    listed = api.call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                          "PlatformId": api.platform_id,
                                          "TeamId": team["TeamId"]})["Data"]
    assert [i["MNPId"] for i in listed["DataList"]] == [mnp]
    assert listed["DataList"][0]["TeamName"] == "explicit-team"


def test_unknown_platform_everywhere(api):
    bogus = harness.new_platform_id()
    expect_error(create_call(api, PlatformId=bogus), INVALID_PLATFORM, bogus)
    expect_error(lambda: api.call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                                      "PlatformId": bogus}),
                 INVALID_PLATFORM, bogus)
    mnp = api.create_mnp()
    expect_error(lambda: api.call("DescribeMNPDetail", {"MNPId": mnp, "PlatformId": bogus}),
                 INVALID_PLATFORM, bogus)


def test_detail_of_unknown_mini_program(api):
    expect_error(lambda: api.call("DescribeMNPDetail", {"MNPId": "mp0000000000zzzz",
                                                        "PlatformId": api.platform_id}),
                 INVALID_MNP, "mp0000000000zzzz")


def test_detail_of_another_platforms_mini_program(server, api):
    other = server.create_platform(server.creds.secret_id)["PlatformId"]
    theirs = server.api(platform_id=other).create_mnp()
    expect_error(lambda: api.call("DescribeMNPDetail", {"MNPId": theirs,
                                                        "PlatformId": api.platform_id}),
                 INVALID_MNP, theirs)


def test_accounts_are_isolated(server, api):
    mine = api.create_mnp(MNPName=harness.unique_name("mine"))
    other = server.create_account()
    their_platform = server.create_platform(other.secret_id)["PlatformId"]
    theirs = server.api(other, their_platform)
    listed = theirs.call("DescribeMNPList", {"Offset": 0, "Limit": 1000,
                                             "PlatformId": their_platform})["Data"]
    assert listed["TotalCount"] == 0 and listed["DataList"] == []
    # They cannot read our platform, nor our mini program through it.
    expect_error(lambda: theirs.call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                                         "PlatformId": api.platform_id}),
                 INVALID_PLATFORM)
    expect_error(lambda: theirs.call("DescribeMNPDetail", {"MNPId": mine,
                                                           "PlatformId": api.platform_id}),
                 INVALID_PLATFORM)


def test_create_mnp_wrong_types(api):
    params = api.mnp_params()
    params["MNPName"] = 12345
    expect_error(lambda: api.client.call_json("CreateMNP", params), MISMATCH, "MNPName")
    params = api.mnp_params()
    del params["MNPIcon"]
    expect_error(lambda: api.client.call_json("CreateMNP", params), MISMATCH, "MNPIcon")


def test_list_wrong_types(api):
    expect_error(lambda: api.client.call_json("DescribeMNPList", {
        "Offset": "0", "Limit": 10, "PlatformId": api.platform_id}), MISMATCH, "Offset")
    expect_error(lambda: api.client.call_json("DescribeMNPList", {
        "Offset": 0, "Limit": 1.5, "PlatformId": api.platform_id}), MISMATCH, "Limit")
    expect_error(lambda: api.client.call_json("DescribeMNPList", {
        "Offset": 0, "PlatformId": api.platform_id}), MISMATCH, "Limit")
    expect_error(lambda: api.client.call_json("DescribeMNPDetail", {
        "PlatformId": api.platform_id}), MISMATCH, "MNPId")


def test_very_long_keyword_is_not_an_internal_error(api):
    """A Keyword of 60,000 characters while the platform has mini programs:
    either no match or a clean refusal naming Keyword, never InternalError."""
    api.create_mnp()
    params = {"Offset": 0, "Limit": 10, "PlatformId": api.platform_id, "Keyword": "k" * 60000}
    try:
        data = api.call("DescribeMNPList", params)["Data"]
    except harness.TencentCloudSDKException as e:
        assert e.get_code().startswith("InvalidParameterValue"), (
            f"{e.get_code()}: {e.get_message()} (RequestId {e.get_request_id()})")
        assert "Keyword" in e.get_message(), e.get_message()
        return
    assert data["TotalCount"] == 0 and data["DataList"] == [], data
