"""Uploads without a file server: DescribeTempSecret4UploadFile2Cos through
the official SDK, the package PUT with plain `requests` to the answered
Path (`Authorization: Bearer Token`), then CreateMNPVersion with that Path
as FileUrl, read by mnpd from its own storage (no file server is involved
in any of these tests). Then every refusal of the upload route (401, 403,
409, 413), the isolation of uploads between accounts, their survival of a
restart, and the sweep of uploads that no version took."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time

import pytest
import requests
from tencentcloud.tcmpp.v20240801 import models

import harness
from harness import TASK_FAILED, TASK_SUCCEEDED, expect_error

ACTION = "DescribeTempSecret4UploadFile2Cos"
NO_PROXY = {"http": None, "https": None}
FILE_DOWNLOAD_FAILED = "FailedOperation.FileDownloadFailed"


def grant(api: harness.Api, business: str = "tcmpp", suffix: str = "zip") -> dict:
    """The Data of DescribeTempSecret4UploadFile2Cos, through the SDK's
    typed models."""
    req = models.DescribeTempSecret4UploadFile2CosRequest()
    req.from_json_string(json.dumps({"BusinessName": business, "Suffix": suffix}))
    resp = api.client.DescribeTempSecret4UploadFile2Cos(req)
    return json.loads(resp.Data.to_json_string())


def put(url: str, data, token=None, headers=None, verify=True) -> requests.Response:
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return requests.put(url, data=data, headers=h, timeout=60, proxies=NO_PROXY, verify=verify)


def refused(r: requests.Response, status: int, code: str):
    assert r.status_code == status, f"HTTP {r.status_code}: {r.text[:300]}"
    body = r.json()
    assert body.get("Code") == code, body
    assert isinstance(body.get("Message"), str) and body["Message"].strip(), body


def upload(api: harness.Api, data: bytes) -> str:
    """A package uploaded through the API's credentials; its FileUrl."""
    g = grant(api)
    r = put(g["Path"], data, g["Token"])
    assert r.status_code == 200, r.text
    return g["Path"]


def stored_blobs(server: harness.MnpdServer) -> set:
    """The content hashes in the server's package storage."""
    if harness.BACKEND == "cluster":
        services = harness.ClusterServices.get()
        bucket = services.databases[services.name_for(server.data_dir)]
        r = requests.get(f"{services.s3_endpoint}/{bucket}?list-type=2&prefix=packages/",
                         timeout=10, proxies=NO_PROXY)
        assert r.status_code == 200, r.text
        return set(re.findall(r"<Key>[^<]*/([0-9a-f]{64})</Key>", r.text))
    return {p.name for p in (server.data_dir / "blobs").glob("*/*")}


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s", pytrace=False)
        time.sleep(0.2)


# ---------------------------------------------------------------------------
# The answer and the happy path
# ---------------------------------------------------------------------------


def test_answer_has_the_spec_fields_and_types(server, api, spec):
    out = api.call(ACTION, {"BusinessName": "tcmpp", "Suffix": "zip"})
    harness.check_spec_response(spec, ACTION, out)
    data = out["Data"]
    base = f"http://{server.endpoint}/uploads"
    assert data["Bucket"] == base, data
    assert re.fullmatch(re.escape(base) + r"/tcmpp/[0-9a-f]{32}\.zip", data["Path"]), data
    assert data["Region"] == harness.REGION, data
    assert data["Token"] == f"{data['TempSecretId']}.{data['TempSecretKey']}", data
    # The id half names what the token allows; the key half is a MAC.
    claims = base64.urlsafe_b64decode(data["TempSecretId"] + "==").decode()
    account, expires, key, secret_id = claims.split(":", 3)
    assert data["Path"].endswith("/uploads/" + key), (claims, data["Path"])
    assert int(account) > 0
    assert secret_id == server.creds.secret_id, "the API key that asked for it"
    assert 3500 <= int(expires) - time.time() <= 3700, "valid --upload-ttl (3600) seconds"
    assert len(base64.urlsafe_b64decode(data["TempSecretKey"] + "=")) == 32
    # Each answer is a new Path and a new token.
    again = api.call(ACTION, {"BusinessName": "tcmpp", "Suffix": "zip"})["Data"]
    assert again["Path"] != data["Path"] and again["Token"] != data["Token"]


def test_upload_then_create_version_reaches_60(server, api, mnp_id, file_server):
    package = harness.mini_program_zip()
    g = grant(api)
    hits_before = sum(file_server.hits.values())
    r = put(g["Path"], package, g["Token"], {"Content-Type": "application/zip"})
    assert r.status_code == 200, r.text
    body = r.json()
    sha = hashlib.sha256(package).hexdigest()
    assert body == {"FileUrl": g["Path"], "Size": len(package), "Sha256": sha}, body
    assert r.headers["ETag"] == f'"{sha}"'

    req = models.CreateMNPVersionRequest()
    req.from_json_string(json.dumps(api.version_params(mnp_id, "1.0.0", g["Path"], "uploaded")))
    task_id = api.client.CreateMNPVersion(req).Data.TaskId
    data = api.wait_task(task_id)
    assert data["TaskStatus"] == TASK_SUCCEEDED and data["TaskMsg"] == "Success", data
    # The same request again is the same task, as for a downloaded package.
    assert api.create_version(mnp_id, "1.0.0", g["Path"], "uploaded") == task_id
    assert sum(file_server.hits.values()) == hits_before, "no file server was asked"
    assert sha in stored_blobs(server)


def test_one_upload_serves_several_versions_until_it_expires(api, mnp_id):
    url = upload(api, harness.mini_program_zip())
    api.version_succeeds(mnp_id, "1.0.0", url, intro="first")
    api.version_succeeds(mnp_id, "1.0.1", url, intro="second, same package")


def test_chunked_upload_without_content_length(api, mnp_id):
    package = harness.mini_program_zip()
    g = grant(api)
    pieces = (package[i:i + 1000] for i in range(0, len(package), 1000))
    r = put(g["Path"], pieces, g["Token"])
    assert r.status_code == 200, r.text
    assert r.json()["Size"] == len(package)
    api.version_succeeds(mnp_id, "1.0.0", g["Path"])


def test_invalid_uploaded_package_ends_at_30(api, mnp_id, broken_packages):
    url = upload(api, broken_packages["missing-page-js"].data)
    task_id = api.create_version(mnp_id, "1.0.0", url)
    data = api.wait_task(task_id)
    assert data["TaskStatus"] == TASK_FAILED, data
    assert "pages/logs/logs.js" in data["TaskMsg"], data


def test_same_bytes_again_are_accepted_other_bytes_refused(api):
    g = grant(api)
    package = harness.mini_program_zip()
    assert put(g["Path"], package, g["Token"]).status_code == 200
    again = put(g["Path"], package, g["Token"])
    assert again.status_code == 200, again.text
    refused(put(g["Path"], package + b"\0", g["Token"]), 409, "AlreadyUploaded")


@pytest.mark.parametrize("business, suffix, field", [
    ("", "zip", "BusinessName"),
    ("bad name!", "zip", "BusinessName"),
    ("a" * 65, "zip", "BusinessName"),
    ("tcmpp", "", "Suffix"),
    ("tcmpp", "z/ip", "Suffix"),
    ("tcmpp", "zip" * 6, "Suffix"),
])
def test_invalid_business_name_or_suffix(api, business, suffix, field):
    expect_error(lambda: api.call(ACTION, {"BusinessName": business, "Suffix": suffix}),
                 "InvalidParameterValue", field)


def test_suffix_with_a_dot_and_other_businesses(server, api):
    g = grant(api, business="icons_2024-x", suffix=".png")
    assert re.search(r"/uploads/icons_2024-x/[0-9a-f]{32}\.png$", g["Path"]), g
    assert put(g["Path"], harness.tiny_png(), g["Token"]).status_code == 200


# ---------------------------------------------------------------------------
# Refusals of the upload route
# ---------------------------------------------------------------------------


def test_missing_or_bad_token_is_401(server_factory, api):
    g = grant(api)
    package = harness.mini_program_zip()
    r = put(g["Path"], package)
    refused(r, 401, "MissingToken")
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    refused(put(g["Path"], package, headers={"Authorization": f"Basic {g['Token']}"}),
            401, "MissingToken")
    refused(put(g["Path"], package, "not-a-token"), 401, "InvalidToken")
    refused(put(g["Path"], package, g["TempSecretKey"]), 401, "InvalidToken")
    # One character of the MAC changed.
    mac = g["TempSecretKey"]
    forged = f"{g['TempSecretId']}.{('A' if mac[0] != 'A' else 'B')}{mac[1:]}"
    refused(put(g["Path"], package, forged), 401, "InvalidToken")
    # Claims rewritten for a later expiry, MAC kept.
    account, _, key = base64.urlsafe_b64decode(g["TempSecretId"] + "==").decode().split(":", 2)
    later = base64.urlsafe_b64encode(f"{account}:9999999999:{key}".encode()).decode().rstrip("=")
    refused(put(g["Path"], package, f"{later}.{mac}"), 401, "InvalidToken")
    # A token of another server (another signing key) for a Path of the same shape.
    other = server_factory.new().api()
    og = grant(other)
    own_path = g["Path"].rsplit("/uploads/", 1)[0] + "/uploads/" + og["Path"].split("/uploads/", 1)[1]
    refused(put(own_path, package, og["Token"]), 401, "InvalidToken")
    # Nothing was stored under the Path.
    mnp = api.create_mnp()
    expect_error(lambda: api.create_version(mnp, "1.0.0", g["Path"]),
                 FILE_DOWNLOAD_FAILED, "nothing was uploaded")


def test_expired_token_is_401(server_factory):
    server = server_factory.new("--upload-ttl", "1")
    api = server.api()
    g = grant(api)
    time.sleep(2.2)
    refused(put(g["Path"], harness.mini_program_zip(), g["Token"]), 401, "ExpiredToken")


def test_token_for_another_path_is_403(server, api):
    first, second = grant(api), grant(api)
    package = harness.mini_program_zip()
    refused(put(second["Path"], package, first["Token"]), 403, "WrongKey")
    made_up = first["Path"].rsplit("/", 1)[0] + "/" + "0" * 32 + ".zip"
    refused(put(made_up, package, first["Token"]), 403, "WrongKey")
    other_suffix = first["Path"][:-len("zip")] + "png"
    refused(put(other_suffix, package, first["Token"]), 403, "WrongKey")
    # Still unused: the right Path takes it.
    assert put(first["Path"], package, first["Token"]).status_code == 200


def test_oversized_upload_is_413(server_factory):
    limit = 100_000
    server = server_factory.new("--max-package-bytes", str(limit))
    api = server.api()
    mnp = api.create_mnp()
    # Announced by Content-Length: refused before a byte is stored.
    g = grant(api)
    r = put(g["Path"], harness.zip_of_exact_size(limit + 1), g["Token"])
    refused(r, 413, "TooLarge")
    assert str(limit) in r.json()["Message"]
    # Without a length: counted while streaming.
    big = harness.zip_of_exact_size(limit + 5000)
    refused(put(g["Path"], (big[i:i + 4096] for i in range(0, len(big), 4096)), g["Token"]),
            413, "TooLarge")
    expect_error(lambda: api.create_version(mnp, "1.0.0", g["Path"]),
                 FILE_DOWNLOAD_FAILED, "nothing was uploaded")
    # Exactly the limit is accepted, and becomes a version.
    exact = harness.zip_of_exact_size(limit)
    assert put(g["Path"], exact, g["Token"]).status_code == 200
    api.version_succeeds(mnp, "1.0.0", g["Path"])


def test_only_put_is_accepted(server, api):
    g = grant(api)
    r = requests.get(g["Path"], timeout=10, proxies=NO_PROXY,
                     headers={"Authorization": f"Bearer {g['Token']}"})
    assert r.status_code == 405, r.status_code


# ---------------------------------------------------------------------------
# CreateMNPVersion and uploads
# ---------------------------------------------------------------------------


def test_another_account_cannot_use_an_upload(server, api):
    url = upload(api, harness.mini_program_zip())
    creds = server.create_account()
    platform = server.create_platform(creds.secret_id)
    intruder = server.api(creds, platform["PlatformId"])
    mnp = intruder.create_mnp()
    expect_error(lambda: intruder.create_version(mnp, "1.0.0", url),
                 FILE_DOWNLOAD_FAILED, "nothing was uploaded")
    # And its own credentials do not reach the owner's Path.
    theirs = grant(intruder)
    refused(put(url, harness.mini_program_zip(), theirs["Token"]), 403, "WrongKey")


def test_upload_url_with_nothing_uploaded(server, api, mnp_id):
    url = f"http://{server.endpoint}/uploads/tcmpp/{'ab' * 16}.zip"
    expect_error(lambda: api.create_version(mnp_id, "1.0.0", url),
                 FILE_DOWNLOAD_FAILED, "nothing was uploaded")


def test_upload_url_checks_run_after_the_documented_ones(api, mnp_id):
    """The order of CreateMNPVersion's checks is the same with an upload."""
    url = upload(api, harness.mini_program_zip())
    expect_error(lambda: api.create_version(mnp_id, "1.0", url),
                 "InvalidParameterValue.InvalidMNPVersion")
    expect_error(lambda: api.create_version(mnp_id, "1.0.0", url, intro="  "),
                 "InvalidParameterValue.InvalidMNPVersionIntro")


def test_an_unused_upload_survives_a_restart(server_factory):
    first = server_factory.new()
    api = first.api()
    mnp = api.create_mnp()
    url = upload(api, harness.mini_program_zip())
    assert first.stop() == 0
    second = server_factory.restart(first)
    second.api().version_succeeds(mnp, "1.0.0", url)


def test_expired_uploads_are_refused_then_swept(server_factory):
    """With --upload-ttl 2: an upload no version took is refused once
    expired, then swept with its package; a package a version took stays."""
    server = server_factory.new("--upload-ttl", "2")
    api = server.api()
    mnp = api.create_mnp()
    used_pkg = harness.mini_program_zip()
    unused_pkg = harness.mini_program_zip(prefix="unused/")
    used = upload(api, used_pkg)
    api.version_succeeds(mnp, "1.0.0", used)
    unused = upload(api, unused_pkg)
    used_sha = hashlib.sha256(used_pkg).hexdigest()
    unused_sha = hashlib.sha256(unused_pkg).hexdigest()
    assert {used_sha, unused_sha} <= stored_blobs(server)
    # Times are whole seconds: 3.2 s is past the expiry whatever the fraction.
    time.sleep(3.2)
    # Expired, maybe not swept yet (the sweep waits as long again).
    e = expect_error(lambda: api.create_version(mnp, "1.0.1", unused), FILE_DOWNLOAD_FAILED)
    assert "expired" in e.get_message() or "nothing was uploaded" in e.get_message(), e
    wait_until(lambda: unused_sha not in stored_blobs(server), 20,
               "the unused package was not swept")
    assert used_sha in stored_blobs(server), "the version's package was swept"
    expect_error(lambda: api.create_version(mnp, "1.0.1", unused),
                 FILE_DOWNLOAD_FAILED, "nothing was uploaded")
    # The version made from the swept upload's sibling is intact.
    data = api.version_succeeds(mnp, "1.0.2", upload(api, used_pkg))
    assert data["TaskStatus"] == TASK_SUCCEEDED


# ---------------------------------------------------------------------------
# Slow, late, concurrent and orphaned uploads
# ---------------------------------------------------------------------------


def trickle_put(url: str, token: str, total: int, every: float):
    """PUTs `total` bytes, one every `every` seconds, over a socket of its
    own, watching for an answer between bytes: (status, JSON body, seconds
    from the first byte to the answer)."""
    import socket
    import select
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (f"PUT {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {total}\r\n"
            "Content-Type: application/zip\r\n\r\n")
    sock.sendall(head.encode())
    started = time.monotonic()
    sent = 0
    try:
        while True:
            if sent < total:
                try:
                    sock.sendall(b"x")
                    sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass
            readable, _, _ = select.select([sock], [], [], every if sent < total else 30)
            if readable:
                break
        answered = time.monotonic() - started
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without an answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(body), answered
    finally:
        sock.close()


def test_slow_upload_is_cut_off(server_factory):
    """10 bytes/s against a minimum of 100 bytes/s: refused once the first
    10 s are over, not when the client chooses to finish."""
    server = server_factory.new("--upload-min-rate", "100")
    g = grant(server.api())
    status, body, answered = trickle_put(g["Path"], g["Token"], total=200, every=0.1)
    assert (status, body["Code"]) == (408, "TooSlow"), (status, body)
    assert "100 bytes/s" in body["Message"], body
    assert answered < 15, f"answered after {answered:.1f} s"


def test_upload_longer_than_the_time_limit_is_cut_off(server_factory):
    server = server_factory.new("--upload-timeout", "3", "--upload-min-rate", "0")
    g = grant(server.api())
    status, body, answered = trickle_put(g["Path"], g["Token"], total=40, every=0.25)
    assert (status, body["Code"]) == (408, "UploadTimeout"), (status, body)
    assert 2.5 < answered < 8, f"answered after {answered:.1f} s"


def test_upload_still_running_at_expiry_is_refused_and_not_usable(server_factory):
    """The token's expiry holds for the whole upload, not only its start:
    what arrives after it is not stored and CreateMNPVersion cannot take it."""
    server = server_factory.new("--upload-ttl", "2", "--upload-min-rate", "0")
    api = server.api()
    g = grant(api)
    status, body, answered = trickle_put(g["Path"], g["Token"], total=40, every=0.25)
    assert (status, body["Code"]) == (401, "ExpiredToken"), (status, body)
    assert answered < 8, f"answered after {answered:.1f} s"
    mnp = api.create_mnp()
    expect_error(lambda: api.create_version(mnp, "1.0.0", g["Path"]),
                 FILE_DOWNLOAD_FAILED, "nothing was uploaded")


def test_second_concurrent_upload_with_one_token_is_refused_at_once(server, api):
    import threading

    g = grant(api)
    first = {}
    slow = threading.Thread(target=lambda: first.update(
        answer=trickle_put(g["Path"], g["Token"], total=12, every=0.25)))
    slow.start()
    time.sleep(1)
    t0 = time.monotonic()
    r = put(g["Path"], harness.mini_program_zip(), g["Token"])
    elapsed = time.monotonic() - t0
    refused(r, 409, "UploadInProgress")
    assert elapsed < 2, f"the second upload was answered after {elapsed:.1f} s"
    slow.join(30)
    status, body, _ = first["answer"]
    assert status == 200, (status, body)


def test_token_of_a_disabled_key_is_refused(server):
    creds = server.create_account()
    platform = server.create_platform(creds.secret_id)["PlatformId"]
    g = grant(server.api(creds, platform))
    server.admin("key", "disable", creds.secret_id)
    time.sleep(1.2)  # --key-cache-ms: another process disabled the key
    r = put(g["Path"], harness.mini_program_zip(), g["Token"])
    refused(r, 401, "InvalidToken")
    assert "disabled" in r.json()["Message"], r.json()
