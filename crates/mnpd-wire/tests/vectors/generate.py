#!/usr/bin/env python3
"""Record complete requests signed by the official TencentCloud Python SDK.

Every request in vectors.json is built and signed by the SDK itself
(TcmppClient -> AbstractClient -> requests).  Nothing here reimplements the
signing algorithm: we only pin the clock, the nonce and the trace id so the
output is reproducible, and we replace the requests transport adapter with
one that records the prepared request instead of opening a socket.

Usage (from the workspace root):
    .venv/bin/python crates/mnpd-wire/tests/vectors/generate.py
"""

import json
import os
import platform
import sys
import uuid as real_uuid

import requests
import requests.adapters

import tencentcloud
from tencentcloud.common import abstract_client
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tcmpp.v20240801 import models, tcmpp_client

ENDPOINT = "127.0.0.1:9080"
SECRET_ID = "AKIDmnpdTestSecretId0123456789abcdef"
SECRET_KEY = "mnpdTestSecretKey0123456789abcdefGHIJ"
WRONG_KEY = "mnpdTestSecretKey0123456789abcdefGHIK"
TOKEN = "mnpd-session-token/with+odd=chars_01"

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")


# --------------------------------------------------------------------------
# Determinism: the SDK reads time.time(), random.randint() and uuid.uuid4()
# through its own module globals; swap those globals for fixed stand-ins.
# --------------------------------------------------------------------------
class _Clock(object):
    now = 0

    def time(self):
        return float(self.now)


class _Random(object):
    nonce = 1

    def randint(self, _a, _b):
        return self.nonce


class _Uuid(object):
    counter = 0

    def uuid4(self):
        self.counter += 1
        return real_uuid.UUID(int=self.counter)


CLOCK = _Clock()
RANDOM = _Random()
abstract_client.time = CLOCK
abstract_client.random = RANDOM
abstract_client.uuid = _Uuid()


# --------------------------------------------------------------------------
# Interception: the SDK hands its request to requests.Session, which hands
# the fully prepared request (final URL, merged headers, encoded body) to a
# transport adapter.  Record it there and answer with a canned response.
# --------------------------------------------------------------------------
CAPTURED = []


def _fake_send(self, request, **kwargs):
    CAPTURED.append(request)
    resp = requests.Response()
    resp.status_code = 200
    resp.headers["Content-Type"] = "application/json"
    resp._content = b'{"Response": {"RequestId": "00000000-0000-0000-0000-000000000000"}}'
    resp.request = request
    resp.url = request.url
    return resp


requests.adapters.HTTPAdapter.send = _fake_send


def make_client(sign_method, req_method, region, token, language, unsigned_payload):
    cred = credential.Credential(SECRET_ID, SECRET_KEY, token)
    http_profile = HttpProfile(protocol="http", endpoint=ENDPOINT, reqMethod=req_method)
    profile = ClientProfile(signMethod=sign_method, httpProfile=http_profile,
                            language=language or "en-US")
    if language is None:
        # ClientProfile refuses None in its constructor, but the request
        # builders skip the language parameter when it is falsy.
        profile.language = None
    if unsigned_payload:
        profile.unsignedPayload = True
    return tcmpp_client.TcmppClient(cred, region, profile)


def model(cls, **fields):
    m = cls()
    m._deserialize(fields)
    return m


def record(name, sign_method, req_method, timestamp, nonce, action, invoke,
           region="ap-singapore", token=None, language="en-US", unsigned_payload=False,
           note=""):
    CLOCK.now = timestamp
    RANDOM.nonce = nonce
    client = make_client(sign_method, req_method, region, token, language, unsigned_payload)
    before = len(CAPTURED)
    invoke(client)
    assert len(CAPTURED) == before + 1, "expected exactly one outgoing request"
    prepared = CAPTURED[-1]

    url = prepared.url
    path_and_query = url.split("://", 1)[1]
    path_and_query = path_and_query[path_and_query.index("/"):] if "/" in path_and_query else "/"
    path, _, query = path_and_query.partition("?")

    body = prepared.body
    if body is None:
        body = ""
    elif isinstance(body, bytes):
        body = body.decode("utf-8")

    headers = [[k, v] for k, v in prepared.headers.items()]
    return {
        "name": name,
        "note": note,
        "sign_method": sign_method,
        "action": action,
        "version": tcmpp_client.TcmppClient._apiVersion,
        "service": tcmpp_client.TcmppClient._service,
        "region": region or None,
        "token": token,
        "language": language,
        "timestamp": timestamp,
        "nonce": nonce if sign_method != "TC3-HMAC-SHA256" else None,
        "unsigned_payload": unsigned_payload,
        "request": {
            "method": prepared.method,
            "url": url,
            "path": path,
            "query": query,
            "headers": headers,
            "body": body,
        },
    }


UNICODE_NAME = u"团队 ✓ café & co=1+1/2"


def v_describe_mnp_list(client):
    client.DescribeMNPList(model(models.DescribeMNPListRequest,
                                 Offset=0, Limit=20, PlatformId="plat-1",
                                 Keyword=UNICODE_NAME))


def v_create_domain(client):
    client.CreateDomain(model(models.CreateDomainRequest,
                              MNPId="mnp-abc",
                              PlatformId="plat-1",
                              Domain=[{"DomainUrlList": ["https://a.example.com", "https://b.example.com/x?y=1"],
                                       "DomainType": 1},
                                      {"DomainUrlList": ["wss://ws.example.com"], "DomainType": 3}]))


def v_create_team(client):
    client.CreateTeam(model(models.CreateTeamRequest,
                            TeamName=UNICODE_NAME, AdminUserId="user_01",
                            TeamRoleTypeList=[1, 2], Remark=u"备注\nline two\ttab \"quoted\"",
                            PlatformId="plat-1"))


def v_add_team_member(client):
    client.AddTeamMember(model(models.AddTeamMemberRequest,
                               TeamId="team-9", PlatformId="plat-1",
                               MemberList=[{"UserId": "u1", "UserRoleId": 1},
                                           {"UserId": u"ü2", "UserRoleId": 2}]))


def v_global_domain_list(client):
    client.DescribeGlobalDomainList(model(models.DescribeGlobalDomainListRequest,
                                          Offset=10, Limit=5, PlatformId="plat-1",
                                          DomainTypes=[1, 2], Keyword="example.com"))


def v_no_params(client):
    client.DescribeMNPList(models.DescribeMNPListRequest())


def v_call_json_extra(client):
    # call_json is the SDK's generic entry point; it goes through the same
    # _call/_build_req_inter path.  Used to exercise an underscore in a key
    # (the v1 signer turns '_' into '.' in the string to sign), a boolean and
    # a float.
    client.call_json("DescribeMNPList", {"PlatformId": "plat-1", "Extra_Key": "v_1",
                                         "Flag": True, "Ratio": 0.5,
                                         "Filters": [{"Name": "Status", "Values": ["a b", u"ж"]}]})


def main():
    vectors = []
    T1 = 1735689599  # 2024-12-31T23:59:59Z, one second before a date change
    T2 = 1709208000  # 2024-02-29T12:00:00Z, leap day
    T3 = 1751328000  # 2025-07-01T00:00:00Z, exactly midnight

    tc3 = "TC3-HMAC-SHA256"
    # ---- TC3-HMAC-SHA256, POST application/json ----
    vectors.append(record("tc3_post_json_basic", tc3, "POST", T1, 0, "DescribeMNPList", v_describe_mnp_list))
    vectors.append(record("tc3_post_json_nested_token", tc3, "POST", T2, 0, "CreateDomain", v_create_domain,
                          token=TOKEN))
    vectors.append(record("tc3_post_json_unicode_no_region_zh", tc3, "POST", T3, 0, "CreateTeam", v_create_team,
                          region="", language="zh-CN"))
    vectors.append(record("tc3_post_json_no_language_empty_params", tc3, "POST", T2, 0, "DescribeMNPList",
                          v_no_params, language=None))
    vectors.append(record("tc3_post_json_call_json", tc3, "POST", T3, 0, "DescribeMNPList", v_call_json_extra,
                          token=TOKEN))
    vectors.append(record("tc3_post_json_unsigned_payload", tc3, "POST", T1, 0, "AddTeamMember",
                          v_add_team_member, unsigned_payload=True,
                          note="ClientProfile.unsignedPayload = True"))
    # ---- TC3-HMAC-SHA256, GET with the business params in the query ----
    vectors.append(record("tc3_get_basic_unicode", tc3, "GET", T1, 0, "DescribeMNPList", v_describe_mnp_list))
    vectors.append(record("tc3_get_nested_token_no_region", tc3, "GET", T2, 0, "AddTeamMember", v_add_team_member,
                          region="", token=TOKEN))
    vectors.append(record("tc3_get_list_of_int", tc3, "GET", T3, 0, "DescribeGlobalDomainList",
                          v_global_domain_list, language="zh-CN"))
    vectors.append(record("tc3_get_call_json", tc3, "GET", T2, 0, "DescribeMNPList", v_call_json_extra))
    vectors.append(record("tc3_get_unsigned_payload", tc3, "GET", T3, 0, "DescribeMNPList", v_describe_mnp_list,
                          unsigned_payload=True, note="ClientProfile.unsignedPayload = True"))
    # ---- v1 signatures: HmacSHA1 / HmacSHA256, GET query and POST form ----
    for sm in ("HmacSHA1", "HmacSHA256"):
        tag = sm.lower()
        vectors.append(record("%s_get_basic_unicode" % tag, sm, "GET", T1, 1234567, "DescribeMNPList",
                              v_describe_mnp_list))
        vectors.append(record("%s_post_basic_unicode" % tag, sm, "POST", T1, 7654321, "DescribeMNPList",
                              v_describe_mnp_list))
        vectors.append(record("%s_get_nested_token" % tag, sm, "GET", T2, 42, "CreateDomain", v_create_domain,
                              token=TOKEN))
        vectors.append(record("%s_post_nested_token_no_region" % tag, sm, "POST", T2, 9223372036854775807,
                              "AddTeamMember", v_add_team_member, region="", token=TOKEN))
        vectors.append(record("%s_post_unicode_zh_no_language" % tag, sm, "POST", T3, 5, "CreateTeam",
                              v_create_team, language=None))
        vectors.append(record("%s_get_call_json_underscore" % tag, sm, "GET", T3, 99, "DescribeMNPList",
                              v_call_json_extra, language="zh-CN"))
        vectors.append(record("%s_post_call_json_underscore" % tag, sm, "POST", T3, 100, "DescribeMNPList",
                              v_call_json_extra))

    out = {
        "generator": "crates/mnpd-wire/tests/vectors/generate.py",
        "sdk": {
            "distribution": "tencentcloud-sdk-python-intl-en",
            "version": tencentcloud.__version__,
            "requests": requests.__version__,
            "python": platform.python_version(),
        },
        "endpoint": ENDPOINT,
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "wrong_key": WRONG_KEY,
        "vectors": vectors,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")
    print("wrote %d vectors to %s (SDK %s)" % (len(vectors), OUT, tencentcloud.__version__))


if __name__ == "__main__":
    sys.exit(main())
