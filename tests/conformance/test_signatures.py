"""Every signature family and HTTP method the official SDK can send:
TC3-HMAC-SHA256 (POST JSON, GET), HmacSHA1 and HmacSHA256 (GET, POST form)."""

import json
import time

import pytest

import harness
from harness import MNP_ID_RE, expect_error, tc3_post

COMBOS = [
    ("TC3-HMAC-SHA256", "POST"),
    ("TC3-HMAC-SHA256", "GET"),
    ("HmacSHA1", "GET"),
    ("HmacSHA1", "POST"),
    ("HmacSHA256", "GET"),
    ("HmacSHA256", "POST"),
]
IDS = [f"{s}-{m}" for s, m in COMBOS]


@pytest.mark.parametrize("sign_method,req_method", COMBOS, ids=IDS)
def test_describe_mnp_list(server, sign_method, req_method):
    api = server.api(sign_method=sign_method, req_method=req_method)
    mnp = server.api().create_mnp(MNPName=harness.unique_name("sig"))
    resp = api.call("DescribeMNPList", {"Offset": 0, "Limit": 1000,
                                        "PlatformId": server.platform_id})
    data = resp["Data"]
    assert isinstance(data["TotalCount"], int) and data["TotalCount"] >= 1
    assert mnp in [i["MNPId"] for i in data["DataList"]]


@pytest.mark.parametrize("sign_method,req_method", COMBOS, ids=IDS)
def test_create_mnp(server, sign_method, req_method):
    api = server.api(sign_method=sign_method, req_method=req_method)
    # Characters that need URL-encoding, in the query string or form body.
    name = f"签名 {sign_method[:4]}&{req_method}=+%/"[:30]
    name = f"{name}{harness.unique_name('')[-6:]}"[:30]
    params = api.mnp_params(MNPName=name, MNPIntro="intro with spaces & symbols: 100% ok?",
                            MNPIcon="https://cdn.example.com/icon.png?size=64&fmt=png")
    mnp = api.create_mnp(**params)
    assert MNP_ID_RE.match(mnp)
    detail = server.api().call("DescribeMNPDetail", {"MNPId": mnp,
                                                     "PlatformId": server.platform_id})["Data"]
    assert detail["MNPName"] == name
    assert detail["MNPIntro"] == params["MNPIntro"]
    assert detail["MNPIcon"] == params["MNPIcon"]


@pytest.mark.parametrize("sign_method,req_method", COMBOS, ids=IDS)
def test_create_and_describe_version(server, packages, sign_method, req_method):
    api = server.api(sign_method=sign_method, req_method=req_method)
    mnp = api.create_mnp()
    # A FileUrl with its own query string survives query/form encoding.
    url = packages.mini_program + "?sig=a%2Bb%3D&x=1&y=%E7%89%88"
    task = api.create_version(mnp, "1.0.0", url, intro="版本 & notes = 100%")
    data = api.wait_task(task)
    assert data["TaskStatus"] == harness.TASK_SUCCEEDED and data["TaskMsg"] == "Success", data
    # The same four values again: the same task (so they were decoded exactly).
    assert api.create_version(mnp, "1.0.0", url, intro="版本 & notes = 100%") == task


@pytest.mark.parametrize("sign_method,req_method", COMBOS, ids=IDS)
def test_wrong_key_is_refused(server, sign_method, req_method):
    wrong = harness.Credentials(server.creds.secret_id, "wrong-" + server.creds.secret_key)
    api = server.api(wrong, sign_method=sign_method, req_method=req_method)
    expect_error(lambda: api.call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                                      "PlatformId": server.platform_id}),
                 "AuthFailure.SignatureFailure")
    expect_error(lambda: api.call("CreateMNP", api.mnp_params()), "AuthFailure.SignatureFailure")


@pytest.mark.parametrize("sign_method,req_method", COMBOS, ids=IDS)
def test_unknown_secret_id_is_refused(server, sign_method, req_method):
    stranger = harness.new_credentials("stranger")
    api = server.api(stranger, sign_method=sign_method, req_method=req_method)
    expect_error(lambda: api.call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                                      "PlatformId": server.platform_id}),
                 "AuthFailure.SecretIdNotFound", stranger.secret_id)


def test_tc3_body_changed_after_signing(server):
    params = {"Offset": 0, "Limit": 10, "PlatformId": server.platform_id}
    signed = json.dumps(params).encode()
    ts = int(time.time())
    auth = harness.tc3_authorization(
        server.creds.secret_id, server.creds.secret_key, method="POST", host=server.endpoint,
        query="", content_type="application/json", payload=signed, timestamp=ts)
    sent = json.dumps(dict(params, Limit=11)).encode()
    r = tc3_post(server, "DescribeMNPList", body=sent, timestamp=ts, authorization=auth)
    r.assert_error("AuthFailure.SignatureFailure")


def test_tc3_signed_with_other_timestamp(server):
    params = {"Offset": 0, "Limit": 10, "PlatformId": server.platform_id}
    payload = json.dumps(params).encode()
    ts = int(time.time())
    auth = harness.tc3_authorization(
        server.creds.secret_id, server.creds.secret_key, method="POST", host=server.endpoint,
        query="", content_type="application/json", payload=payload, timestamp=ts - 10)
    r = tc3_post(server, "DescribeMNPList", body=payload, timestamp=ts, authorization=auth)
    r.assert_error("AuthFailure.SignatureFailure")


def test_v1_tampered_parameter(server):
    """A HmacSHA256 GET whose query is changed after signing."""
    client = server.client(sign_method="HmacSHA256", req_method="GET")
    original = client.request.send_request

    def tamper(req):
        req.data = req.data.replace("Limit=10", "Limit=11")
        return original(req)

    client.request.send_request = tamper
    expect_error(lambda: client.call_json("DescribeMNPList", {
        "Offset": 0, "Limit": 10, "PlatformId": server.platform_id}),
        "AuthFailure.SignatureFailure")
