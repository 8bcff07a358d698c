"""The common errors of TencentCloud API 3.0, each by its real trigger, and
the answer envelope they come in."""

import json
import threading
import time

import pytest

import harness
from harness import expect_error, tc3_post

IMPLEMENTED = {"CreateMNP", "DescribeMNPList", "DescribeMNPDetail", "CreateMNPVersion",
               "DescribeMNPVersion", "CreateConsoleMNPVersionCompileTask",
               "DescribeConsoleMNPVersionCompileTask"}


def list_params(api):
    return {"Offset": 0, "Limit": 10, "PlatformId": api.platform_id}


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def test_unknown_secret_id(server, api):
    stranger = harness.new_credentials("nobody")
    expect_error(lambda: server.api(stranger).call("DescribeMNPList", list_params(api)),
                 "AuthFailure.SecretIdNotFound", stranger.secret_id)


def test_disabled_key(server, api):
    out = server.admin_json("key", "create", "--of", server.creds.secret_id)
    key = harness.Credentials(out["SecretId"], out["SecretKey"])
    second = server.api(key)
    second.call("DescribeMNPList", list_params(api))

    server.admin("key", "disable", key.secret_id)
    keys = {k["SecretId"]: k for k in server.admin_json("key", "list")}
    assert keys[key.secret_id]["Enabled"] is False
    # The server trusts an enabled key it has read for up to --key-cache-ms
    # (1 s by default), so another process's change shows within that time.
    disabled_at = time.monotonic()
    while True:
        try:
            second.call("DescribeMNPList", list_params(api))
        except harness.TencentCloudSDKException:
            break
        assert time.monotonic() - disabled_at < 1.5, "the disabled key still works after 1.5 s"
        time.sleep(0.05)
    expect_error(lambda: second.call("DescribeMNPList", list_params(api)),
                 "AuthFailure.SecretIdNotFound", key.secret_id)
    # The account's other key is unaffected.
    api.call("DescribeMNPList", list_params(api))

    server.admin("key", "enable", key.secret_id)
    second.call("DescribeMNPList", list_params(api))


def test_wrong_secret_key(server, api):
    wrong = harness.Credentials(server.creds.secret_id, server.creds.secret_key + "x")
    expect_error(lambda: server.api(wrong).call("DescribeMNPList", list_params(api)),
                 "AuthFailure.SignatureFailure")


# ---------------------------------------------------------------------------
# Timestamps and the Authorization header
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-310, 310, -3600 * 24, 3600 * 24])
def test_signature_expired(server, api, offset):
    r = tc3_post(server, "DescribeMNPList", list_params(api),
                 timestamp=int(time.time()) + offset)
    r.assert_error("AuthFailure.SignatureExpire")


@pytest.mark.parametrize("offset", [-290, 290])
def test_timestamp_within_window(server, api, offset):
    r = tc3_post(server, "DescribeMNPList", list_params(api),
                 timestamp=int(time.time()) + offset)
    r.assert_ok()


def test_own_signer_is_accepted(server, api):
    data = tc3_post(server, "DescribeMNPList", list_params(api)).assert_ok()["Data"]
    assert isinstance(data["TotalCount"], int)
    for method in ("GET", "POST"):
        for sign_method in ("HmacSHA1", "HmacSHA256"):
            r = harness.v1_request(server, "DescribeMNPList", list_params(api), method=method,
                                   sign_method=sign_method)
            assert isinstance(r.assert_ok()["Data"]["TotalCount"], int)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("offset", [-400, 400])
def test_signature_expired_v1(server, api, method, offset):
    r = harness.v1_request(server, "DescribeMNPList", list_params(api), method=method,
                           timestamp=int(time.time()) + offset)
    r.assert_error("AuthFailure.SignatureExpire")


@pytest.mark.parametrize("authorization", [
    "Bearer abcdef",
    "TC3-HMAC-SHA256",
    "TC3-HMAC-SHA256 Credential={sid}/{date}/tcmpp/tc3_request",
    "TC3-HMAC-SHA256 Credential={sid}/{date}/tcmpp/tc3_request, SignedHeaders=content-type;host",
    "TC3-HMAC-SHA256 Credential={sid}, SignedHeaders=content-type;host, Signature={zeros}",
    "TC3-HMAC-SHA256 Credential={sid}/{date}/tcmpp/tc3_request, SignedHeaders=content-type;host,"
    " Signature=not-hex-at-all",
    "TC3-HMAC-SHA256 Signature={zeros}, SignedHeaders=, Credential=",
], ids=["bearer", "algorithm-only", "no-signature", "no-signature-2", "short-credential",
        "signature-not-hex", "empty-parts"])
def test_malformed_authorization(server, api, authorization):
    date = time.strftime("%Y-%m-%d", time.gmtime())
    value = authorization.format(sid=server.creds.secret_id, date=date, zeros="0" * 64)
    r = tc3_post(server, "DescribeMNPList", list_params(api), authorization=value)
    r.assert_error("AuthFailure.InvalidAuthorization")


# ---------------------------------------------------------------------------
# Missing common parameters, actions and versions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-TC-Action", "X-TC-Timestamp", "X-TC-Version"])
def test_missing_common_header(server, api, header):
    r = tc3_post(server, "DescribeMNPList", list_params(api), drop=[header])
    r.assert_error("MissingParameter", header)


def test_missing_authorization(server, api):
    r = tc3_post(server, "DescribeMNPList", list_params(api), drop=["Authorization"])
    r.assert_error("MissingParameter", "Authorization")


@pytest.mark.parametrize("param", ["Action", "Version", "SecretId", "Timestamp", "Nonce",
                                   "Signature"])
def test_missing_common_parameter_v1(server, api, param):
    r = harness.v1_request(server, "DescribeMNPList", list_params(api), drop=[param])
    r.assert_error("MissingParameter", param)


def test_v1_request_without_action(server):
    ts = str(int(time.time()))
    query = f"Version=2024-08-01&SecretId={server.creds.secret_id}&Timestamp={ts}&Nonce=42" \
            "&SignatureMethod=HmacSHA256&Signature=abc"
    r = harness.raw_request(server, method="GET", headers={}, query=query)
    r.assert_error("MissingParameter", "Action")


def test_unknown_action(server, api):
    expect_error(lambda: api.client.call_json("DescribeNothingAtAll", {}),
                 "InvalidAction", "DescribeNothingAtAll")
    # Action names are case-sensitive.
    r = tc3_post(server, "describemnplist", list_params(api))
    r.assert_error("InvalidAction", "describemnplist")


def test_every_action_of_the_catalog_is_implemented(spec, api):
    """All 104 actions of the catalog are known (never InvalidAction) and
    implemented (never UnsupportedOperation): an empty request gets the
    action's own error, with a message and a RequestId."""
    assert len(spec["actions"]) == 104
    assert IMPLEMENTED <= set(spec["actions"])
    wrong, implemented = [], []
    for action in sorted(spec["actions"]):
        try:
            out = api.client.call_json(action, {})
            # An action with no required parameter may succeed on an empty
            # request; none of the core ones does.
            if action in IMPLEMENTED:
                wrong.append(f"{action}: an empty request succeeded: {out}")
            implemented.append(action)
            continue
        except harness.TencentCloudSDKException as e:
            code, msg = e.get_code(), e.get_message() or ""
            if not harness.UUID_RE.match(e.get_request_id() or ""):
                wrong.append(f"{action}: RequestId {e.get_request_id()!r}")
            if not msg.strip():
                wrong.append(f"{action}: {code} with an empty message")
            if code == "InvalidAction":
                wrong.append(f"{action}: a catalog action answered InvalidAction: {msg!r}")
            elif code == "UnsupportedOperation":
                wrong.append(f"{action}: answered UnsupportedOperation: {msg!r}")
            else:
                implemented.append(action)
    print(f"{len(implemented)} of {len(spec['actions'])} actions implemented")
    assert not wrong, "\n".join(wrong)
    assert len(implemented) == 104


@pytest.mark.parametrize("version", ["2017-03-12", "2024-08-02", "", "latest"])
def test_no_such_version(server, api, version):
    r = tc3_post(server, "DescribeMNPList", list_params(api), version=version)
    if version == "":
        # An empty version is a missing one or a wrong one; both are errors.
        err = r.response.get("Error") or {}
        assert err.get("Code") in ("NoSuchVersion", "MissingParameter"), r.response
        return
    r.assert_error("NoSuchVersion", version)


def test_no_such_version_v1(server, api):
    client = server.client(sign_method="HmacSHA256", req_method="GET")
    client._apiVersion = "2019-01-01"
    expect_error(lambda: client.call_json("DescribeMNPList", list_params(api)),
                 "NoSuchVersion", "2019-01-01")


def test_unsupported_region(server, api):
    expect_error(lambda: server.api(region="xx-nowhere-1").call("DescribeMNPList",
                                                                list_params(api)),
                 "UnsupportedRegion", "xx-nowhere-1")


def test_regions_flag(server_factory):
    s = server_factory.new("--regions", "ap-singapore,eu-frankfurt")
    params = {"Offset": 0, "Limit": 10, "PlatformId": s.platform_id}
    s.api(region="ap-singapore").call("DescribeMNPList", params)
    s.api(region="eu-frankfurt").call("DescribeMNPList", params)
    expect_error(lambda: s.api(region="ap-guangzhou").call("DescribeMNPList", params),
                 "UnsupportedRegion", "ap-guangzhou")


# ---------------------------------------------------------------------------
# Parameters and bodies
# ---------------------------------------------------------------------------


def test_unknown_parameter(api):
    params = dict(list_params(api), Foo="bar")
    expect_error(lambda: api.client.call_json("DescribeMNPList", params),
                 "UnknownParameter", "Foo")


def test_unknown_parameter_v1(server, api):
    client = server.client(sign_method="HmacSHA1", req_method="POST")
    params = dict(list_params(api), Bogus="1")
    expect_error(lambda: client.call_json("DescribeMNPList", params), "UnknownParameter", "Bogus")


def test_missing_required_parameter(api):
    expect_error(lambda: api.client.call_json("DescribeMNPList", {"Offset": 0, "Limit": 10}),
                 "InvalidParameterValue.ExistMismatchParameterType", "PlatformId")


def test_wrong_parameter_type(api):
    expect_error(lambda: api.client.call_json("DescribeMNPList", dict(list_params(api),
                                                                      PlatformId=42)),
                 "InvalidParameterValue.ExistMismatchParameterType", "PlatformId")


@pytest.mark.parametrize("body", [b"this is not json", b"{\"Offset\": 0,", b"\xff\xfe\x00"],
                         ids=["text", "cut-json", "binary"])
def test_body_not_json(server, body):
    r = tc3_post(server, "DescribeMNPList", body=body)
    r.assert_error("InvalidParameter")


def test_body_too_large(server, api):
    big = dict(list_params(api), Keyword="k" * (11 * 1024 * 1024))
    r = tc3_post(server, "DescribeMNPList", body=json.dumps(big).encode())
    r.assert_error("RequestSizeLimitExceeded")


def test_body_too_large_chunked(server, api):
    # No Content-Length: the limit must hold while the body streams in.
    big = dict(list_params(api), Keyword="k" * (11 * 1024 * 1024))
    r = tc3_post(server, "DescribeMNPList", body=json.dumps(big).encode(), chunked=True)
    r.assert_error("RequestSizeLimitExceeded")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_size_boundary(server, api, chunked):
    """Exactly 10 MiB is read and parsed (then refused for its unknown
    parameter, which proves it was parsed); one byte more is too large."""
    limit = 10 * 1024 * 1024
    base = dict(list_params(api), Padding="")
    pad = limit - len(json.dumps(base).encode())
    exact = json.dumps(dict(base, Padding="p" * pad)).encode()
    assert len(exact) == limit
    tc3_post(server, "DescribeMNPList", body=exact, chunked=chunked).assert_error(
        "UnknownParameter", "Padding")
    over = json.dumps(dict(base, Padding="p" * (pad + 1))).encode()
    assert len(over) == limit + 1
    tc3_post(server, "DescribeMNPList", body=over, chunked=chunked).assert_error(
        "RequestSizeLimitExceeded")


# ---------------------------------------------------------------------------
# Rate limit
# ---------------------------------------------------------------------------


def test_rate_limit(server_factory):
    s = server_factory.new("--rate-limit", "5")
    api = s.api()
    params = {"Offset": 0, "Limit": 10, "PlatformId": s.platform_id}
    clients = [s.api() for _ in range(15)]
    barrier = threading.Barrier(15)
    results = []
    lock = threading.Lock()

    def fire(client):
        barrier.wait()
        try:
            client.call("DescribeMNPList", params)
            outcome = None
        except harness.TencentCloudSDKException as e:
            outcome = e
        with lock:
            results.append(outcome)

    started = time.monotonic()
    threads = [threading.Thread(target=fire, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - started
    assert len(results) == 15
    refused = [e for e in results if e is not None]
    ok = 15 - len(refused)
    assert refused, f"15 requests in {elapsed:.2f}s at --rate-limit 5: none refused"
    for e in refused:
        assert e.get_code() == "RequestLimitExceeded", (e.get_code(), e.get_message())
        assert e.get_message().strip()
        assert harness.UUID_RE.match(e.get_request_id())
    # Burst = rate: 5 pass at once; more only as tokens come back (5/s).
    assert ok >= 5, f"only {ok} of 15 passed; the burst should be 5"
    assert ok <= 5 + int(elapsed * 5) + 1, f"{ok} passed in {elapsed:.2f}s at 5/s"

    # Another action of the same account has its own bucket.
    mnp = api.create_mnp()
    api.call("DescribeMNPDetail", {"MNPId": mnp, "PlatformId": s.platform_id})
    # Another account has its own bucket too.
    other = s.create_account()
    other_platform = s.create_platform(other.secret_id)["PlatformId"]
    s.api(other, other_platform).call("DescribeMNPList",
                                      {"Offset": 0, "Limit": 10, "PlatformId": other_platform})
    # And the bucket refills.
    time.sleep(1.2)
    api.call("DescribeMNPList", params)


# ---------------------------------------------------------------------------
# The envelope
# ---------------------------------------------------------------------------


def test_error_envelope_shape(server, api):
    r = tc3_post(server, "DescribeMNPDetail", {"MNPId": "mp0000000000zzzz",
                                               "PlatformId": api.platform_id})
    r.assert_error("InvalidParameterValue.InvalidMNPId")


def test_success_envelope_shape(server, api):
    resp = tc3_post(server, "DescribeMNPList", list_params(api)).assert_ok()
    assert set(resp) == {"Data", "RequestId"}


def test_healthz(server):
    import requests
    r = requests.get(f"http://{server.endpoint}/healthz", timeout=5,
                     proxies={"http": None, "https": None})
    assert r.status_code == 200 and r.text.strip() == "ok"


def test_two_names_of_one_operation_share_its_rate_limit(server_factory):
    """DescribeMNPOfflinePackageURL and DescribeOfflineMNPPackage run the
    same operation: alternating them must not double the limit."""
    s = server_factory.new("--rate-limit", "5")
    api = s.api()
    mnp = api.create_mnp()
    params = {"MNPId": mnp, "PlatformId": s.platform_id}
    answered, limited = 0, 0
    started = time.monotonic()
    for action in ["DescribeMNPOfflinePackageURL", "DescribeOfflineMNPPackage"] * 5:
        try:
            api.call(action, params)
            answered += 1
        except harness.TencentCloudSDKException as e:
            if e.get_code() == "RequestLimitExceeded":
                limited += 1
                assert "DescribeMNPOfflinePackageURL" in e.get_message(), e.get_message()
            else:
                # Nothing is online: the operation ran, and counted.
                answered += 1
    elapsed = time.monotonic() - started
    assert answered <= 5 + int(elapsed * 5) + 1, (
        f"{answered} of 10 alternating requests passed in {elapsed:.2f}s at --rate-limit 5")
    assert limited, "10 requests of one operation at --rate-limit 5: none refused"
