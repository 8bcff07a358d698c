"""The main flow: a mini program, its versions, and what the Describe*
actions answer, checked field by field against the spec."""

import json

import pytest

from tencentcloud.tcmpp.v20240801 import models

import harness
from harness import MNP_ID_RE, TASK_ID_RE, TASK_SUCCEEDED, UUID_RE


def test_create_mini_program_and_first_version(api, packages):
    # Through the SDK's typed models, as an SDK user would.
    req = models.CreateMNPRequest()
    name = harness.unique_name("happy")
    req.from_json_string(json.dumps(api.mnp_params(MNPName=name)))
    resp = api.client.CreateMNP(req)
    assert UUID_RE.match(resp.RequestId), resp.RequestId
    mnp_id = resp.Data.ResourceId
    assert MNP_ID_RE.match(mnp_id), f"MNPId {mnp_id!r} is not 'mp' + 14 [a-z0-9]"

    vreq = models.CreateMNPVersionRequest()
    vreq.from_json_string(json.dumps(api.version_params(
        mnp_id, "1.0.0", packages.mini_program, "First release")))
    vresp = api.client.CreateMNPVersion(vreq)
    task_id = vresp.Data.TaskId
    assert TASK_ID_RE.match(task_id), f"TaskId {task_id!r} is not 19 digits"
    assert UUID_RE.match(vresp.RequestId)

    data = api.wait_task(task_id)
    assert data == {"MNPId": mnp_id, "TaskId": task_id, "TaskStatus": TASK_SUCCEEDED,
                    "TaskMsg": "Success"}

    dreq = models.DescribeMNPVersionRequest()
    dreq.from_json_string(json.dumps({"BusinessId": task_id, "PlatformId": api.platform_id}))
    dresp = api.client.DescribeMNPVersion(dreq)
    assert dresp.Data.TaskStatus == 60 and dresp.Data.TaskMsg == "Success"
    assert dresp.Data.MNPId == mnp_id and dresp.Data.TaskId == task_id


def test_folder_wrapped_package_succeeds(api, mnp_id, packages):
    api.version_succeeds(mnp_id, "1.0.0", packages.wrapped_mini_program)


def test_mini_game_succeeds(api, packages):
    mnp_id = api.create_mnp(MNPIntro="A mini game")
    api.version_succeeds(mnp_id, "0.1.0", packages.mini_game)


def test_versions_increase(api, mnp_id, packages):
    for v in ["0.0.1", "0.0.2", "0.1.0", "1.0.0", "1.0.10", "10.0.0"]:
        api.version_succeeds(mnp_id, v, packages.mini_program, intro=f"release {v}")


def test_redirect_chain_of_five_is_followed(api, mnp_id, packages, file_server):
    url = file_server.url(f"/redirect/5/{packages.mini_program_name}")
    api.version_succeeds(mnp_id, "1.0.0", url)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_kinds_are_followed(api, packages, file_server, code):
    mnp_id = api.create_mnp()
    url = file_server.url(f"/redirect/2/{packages.mini_program_name}?code={code}&relative=1")
    api.version_succeeds(mnp_id, "1.0.0", url)


def test_download_without_content_length(api, mnp_id, packages, file_server):
    url = file_server.url(f"/nolength/{packages.mini_program_name}")
    api.version_succeeds(mnp_id, "1.0.0", url)


def test_body_beyond_content_length_is_not_part_of_the_package(api, mnp_id, packages,
                                                               file_server):
    # The file server sends junk after the promised Content-Length bytes; the
    # package is exactly the promised bytes, a valid zip.
    url = file_server.url(f"/overlong/{packages.mini_program_name}")
    api.version_succeeds(mnp_id, "1.0.0", url)


def test_version_intro_of_200_chars_and_padded_is_accepted(api, mnp_id, packages):
    api.version_succeeds(mnp_id, "1.0.0", packages.mini_program, intro="x" * 200)
    api.version_succeeds(mnp_id, "1.0.2", packages.mini_program, intro="版" * 200)
    # 204 characters as sent, 200 after trimming.
    api.version_succeeds(mnp_id, "1.0.3", packages.mini_program, intro="  " + "y" * 200 + "  ")


def test_same_request_twice_gives_same_task_and_one_download(api, mnp_id, packages,
                                                             file_server):
    url = packages.fresh_url(harness.mini_program_zip())
    first = api.create_version(mnp_id, "2.3.4", url, intro="idempotent")
    second = api.create_version(mnp_id, "2.3.4", url, intro="idempotent")
    assert second == first, "a repeated request (pending/running) must answer the same TaskId"
    data = api.wait_task(first)
    assert data["TaskStatus"] == TASK_SUCCEEDED, data
    third = api.create_version(mnp_id, "2.3.4", url, intro="idempotent")
    assert third == first, "a repeated request after success must answer the same TaskId"
    assert file_server.hit_count(url) == 1, (
        f"the package was downloaded {file_server.hit_count(url)} times, expected once")


def test_describe_mnp_list_fields_match_spec(api, spec, packages):
    name = harness.unique_name("listme")
    params = api.mnp_params(MNPName=name, MNPIntro="listing intro",
                            MNPIcon="https://cdn.example.com/i/list.png",
                            MNPType=harness.OTHER_MNP_TYPE)
    mnp_id = api.create_mnp(**params)

    resp = api.call("DescribeMNPList", {"Offset": 0, "Limit": 100,
                                        "PlatformId": api.platform_id, "Keyword": name})
    assert set(resp) == {"Data", "RequestId"}, resp
    data = resp["Data"]
    harness.check_spec_object(spec, "DescribeMNPListResp", data, where="Data")
    assert data["TotalCount"] == 1, data
    assert len(data["DataList"]) == 1, data
    item = data["DataList"][0]
    harness.check_spec_object(spec, "DescribeMNPListData", item,
                              nullable=harness.example_nulls(spec, "DescribeMNPList"),
                              where="Data.DataList[0]")
    assert item["MNPId"] == mnp_id
    assert item["MNPName"] == name
    assert item["MNPIcon"] == params["MNPIcon"]
    assert item["MNPIntro"] == params["MNPIntro"]
    assert item["MNPType"] == params["MNPType"]
    assert item["TeamName"], "TeamName should name the default team"
    # The spec carries these times as strings of Unix seconds.
    assert item["CreateTime"].isdigit() and item["UpdateTime"].isdigit(), item
    assert int(item["UpdateTime"]) >= int(item["CreateTime"]) > 1_600_000_000


def test_describe_mnp_list_paging_and_filters(api, server):
    marker = harness.unique_name("page")[:20]
    ids = [api.create_mnp(MNPName=f"{marker}-{i}") for i in range(5)]
    base = {"PlatformId": api.platform_id, "Keyword": marker}
    all_items = api.call("DescribeMNPList", {**base, "Offset": 0, "Limit": 100})["Data"]
    assert all_items["TotalCount"] == 5
    assert sorted(i["MNPId"] for i in all_items["DataList"]) == sorted(ids)

    page1 = api.call("DescribeMNPList", {**base, "Offset": 0, "Limit": 2})["Data"]
    page2 = api.call("DescribeMNPList", {**base, "Offset": 2, "Limit": 2})["Data"]
    page3 = api.call("DescribeMNPList", {**base, "Offset": 4, "Limit": 2})["Data"]
    assert [p["TotalCount"] for p in (page1, page2, page3)] == [5, 5, 5]
    assert [len(p["DataList"]) for p in (page1, page2, page3)] == [2, 2, 1]
    seen = [i["MNPId"] for p in (page1, page2, page3) for i in p["DataList"]]
    assert sorted(seen) == sorted(ids), "pages must not overlap or miss items"

    # TeamId filter: the default team has them; a new team has none.
    team = server.admin_json("team", "create", "--platform-id", api.platform_id,
                             "--name", harness.unique_name("team"))
    by_default_team = api.call("DescribeMNPList", {**base, "Offset": 0, "Limit": 100,
                                                   "TeamId": server.team_id})["Data"]
    assert by_default_team["TotalCount"] == 5
    by_new_team = api.call("DescribeMNPList", {**base, "Offset": 0, "Limit": 100,
                                               "TeamId": team["TeamId"]})["Data"]
    assert by_new_team["TotalCount"] == 0 and by_new_team["DataList"] == []
    in_team = api.create_mnp(MNPName=f"{marker}-t", TeamId=team["TeamId"])
    by_new_team = api.call("DescribeMNPList", {**base, "Offset": 0, "Limit": 100,
                                               "TeamId": team["TeamId"]})["Data"]
    assert [i["MNPId"] for i in by_new_team["DataList"]] == [in_team]


def test_describe_mnp_detail_fields_match_spec(api, spec):
    params = api.mnp_params(MNPDesc="A longer description of the mini program.",
                            MNPIntro="detail intro")
    mnp_id = api.create_mnp(**params)
    resp = api.call("DescribeMNPDetail", {"MNPId": mnp_id, "PlatformId": api.platform_id})
    assert set(resp) == {"Data", "RequestId"}, resp
    data = resp["Data"]
    harness.check_spec_object(spec, "MNPDetail", data,
                              nullable=harness.example_nulls(spec, "DescribeMNPDetail"),
                              where="Data")
    assert data["MNPId"] == mnp_id
    for f in ("MNPName", "MNPIcon", "MNPIntro", "MNPDesc", "MNPType"):
        assert data[f] == params[f], (f, data[f], params[f])
    assert data["CreateTime"] > 1_600_000_000, "CreateTime is Unix seconds (an int here)"
    assert data["CreateUser"], "CreateUser should name the creator"


def test_describe_mnp_version_and_create_answers_match_spec(api, spec, mnp_id, packages):
    resp = api.call("CreateMNPVersion", api.version_params(mnp_id, "3.0.0",
                                                           packages.mini_program))
    assert set(resp) == {"Data", "RequestId"}, resp
    harness.check_spec_object(spec, "CreateMNPVersionResp", resp["Data"], where="Data")
    task_id = resp["Data"]["TaskId"]
    assert TASK_ID_RE.match(task_id)
    first = api.call("DescribeMNPVersion", {"BusinessId": task_id,
                                            "PlatformId": api.platform_id})
    assert set(first) == {"Data", "RequestId"}, first
    harness.check_spec_object(spec, "DescribeMNPVersionResp", first["Data"], where="Data")
    assert first["Data"]["TaskStatus"] in harness.TASK_STATES
    done = api.wait_task(task_id)
    harness.check_spec_object(spec, "DescribeMNPVersionResp", done, where="Data")
    assert done["TaskStatus"] == TASK_SUCCEEDED and done["TaskMsg"] == "Success"

    created = api.call("CreateMNP", api.mnp_params())
    assert set(created) == {"Data", "RequestId"}
    harness.check_spec_object(spec, "ResourceIdStringInfo", created["Data"], where="Data")


def test_spec_example_requests_are_accepted(server, api, spec, packages):
    """The spec's own example requests, with our ids put in."""
    mnp = None
    for action in ["CreateMNP", "DescribeMNPList", "DescribeMNPDetail", "CreateMNPVersion",
                   "DescribeMNPVersion"]:
        for ex in spec["examples"][action]:
            req = dict(ex["request"])
            if "PlatformId" in req:
                req["PlatformId"] = api.platform_id
            if req.get("TeamId"):
                req["TeamId"] = server.team_id
            if action == "CreateMNP":
                req["MNPName"] = harness.unique_name("example")
            if "MNPId" in req:
                req["MNPId"] = mnp
            if action == "CreateMNPVersion":
                req["FileUrl"] = packages.mini_program
            if action == "DescribeMNPVersion":
                req["BusinessId"] = task
            resp = api.call(action, req)
            assert set(resp) == set(ex["response"]["Response"]) | {"RequestId"}, (action, resp)
            if action == "CreateMNP":
                mnp = resp["Data"]["ResourceId"]
            if action == "CreateMNPVersion":
                task = resp["Data"]["TaskId"]
                api.wait_task(task)


def test_request_ids_are_unique_uuids(api):
    ids = set()
    for _ in range(5):
        resp = api.call("DescribeMNPList", {"Offset": 0, "Limit": 1,
                                            "PlatformId": api.platform_id})
        assert UUID_RE.match(resp["RequestId"])
        ids.add(resp["RequestId"])
    assert len(ids) == 5, "every answer must carry a new RequestId"
