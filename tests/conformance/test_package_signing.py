"""Package signing keys (docs/host-apps.md, "Package signatures"): the
well-known URL, the configuration file's `packageSigningKeys`, rotation with
`mnpd admin platform signing-key rotate` and its overlap, and the docs'
verifier; on a platform of its own account for each test."""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from test_domains import Tenant
from test_host_config import ANDROID, config_file, host_key, new_app

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
import mnpd_host_config  # noqa: E402
import mnpd_package_verify  # noqa: E402

KEY_FIELDS = {"keyId", "algorithm", "publicKey", "createdAt", "notAfter"}
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture
def tenant(server):
    return Tenant(server)


def well_known(server, platform_id: str) -> requests.Response:
    return requests.get(f"{server.url}.well-known/mnpd/package-signing-keys/{platform_id}",
                        timeout=10, verify=server.verify)


def published(server, platform_id: str) -> list:
    r = well_known(server, platform_id)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "public, max-age=60"
    body = r.json()
    assert set(body) == {"platformId", "keys"} and body["platformId"] == platform_id
    for key in body["keys"]:
        assert set(key) == KEY_FIELDS, key
        assert key["algorithm"] == "Ed25519"
        raw = base64.b64decode(key["publicKey"], validate=True)
        assert len(raw) == 32
        assert key["keyId"] == hashlib.sha256(raw).hexdigest()[:16]
        assert isinstance(key["createdAt"], int)
        assert key["notAfter"] is None or isinstance(key["notAfter"], int)
    return body["keys"]


def config_keys(server, t: Tenant, app: str) -> list:
    file = mnpd_host_config.decode(config_file(t, app, ANDROID))
    return mnpd_host_config.open_file(file, host_key(server, t))["packageSigningKeys"]


def rotate(server, platform_id: str, *extra: str) -> dict:
    return server.admin_json("platform", "signing-key", "rotate", "--platform-id", platform_id,
                             *extra)


def test_the_first_start_makes_the_bootstrap_platforms_key(server):
    printed = [m.group(1) for m in (re.match(r"^\s*SigningKey\s+([0-9a-f]{16})\s*$", line)
                                    for line in server.stdout_lines) if m]
    keys = published(server, server.platform_id)
    assert len(printed) == 1, server.stdout_lines
    assert printed[0] in [k["keyId"] for k in keys]


def test_the_well_known_url_and_the_configuration_file_publish_one_current_key(server, tenant):
    keys = published(server, tenant.platform_id)
    assert len(keys) == 1 and keys[0]["notAfter"] is None
    assert abs(keys[0]["createdAt"] - time.time()) < 120
    # Stable, the same in the operator's listing and in every file.
    assert published(server, tenant.platform_id) == keys
    assert server.admin_json("platform", "signing-key", "list",
                             "--platform-id", tenant.platform_id) == keys
    app = new_app(tenant, AndroidAppKey="com.example.signed")
    assert config_keys(server, tenant, app) == keys
    # Each platform has its own key.
    assert published(server, Tenant(server).platform_id) != keys


def test_an_unknown_platform_is_a_json_404(server):
    r = well_known(server, "TNOSUCHPLATFORM0000")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and "TNOSUCHPLATFORM0000" in body["error"]


def test_rotation_publishes_both_keys_for_the_overlap_then_the_new_one(server, tenant):
    app = new_app(tenant, AndroidAppKey="com.example.rotated")
    [old] = published(server, tenant.platform_id)
    out = rotate(server, tenant.platform_id, "--overlap-secs", "2")
    new, listed = out["New"], out["Published"]
    assert new["keyId"] != old["keyId"] and new["notAfter"] is None
    keys = published(server, tenant.platform_id)
    assert keys == listed
    assert [k["keyId"] for k in keys] == [new["keyId"], old["keyId"]], "newest first"
    retiring = keys[1]
    assert retiring["publicKey"] == old["publicKey"]
    assert 0 <= retiring["notAfter"] - time.time() <= 3
    assert config_keys(server, tenant, app) == keys
    # Past the overlap, the old key is no longer published anywhere.
    time.sleep(max(0.0, retiring["notAfter"] - time.time()) + 1.1)
    assert published(server, tenant.platform_id) == [new]
    assert config_keys(server, tenant, app) == [new]
    assert server.admin_json("platform", "signing-key", "list",
                             "--platform-id", tenant.platform_id) == [new]


def test_the_default_overlap_is_seven_days_and_bounds_are_refused(server, tenant):
    out = rotate(server, tenant.platform_id)
    retiring = out["Published"][1]
    assert abs(retiring["notAfter"] - time.time() - 7 * 86400) < 120
    for bad in ["-1", str(90 * 86400 + 1)]:
        cp = server.admin("platform", "signing-key", "rotate", "--platform-id",
                          tenant.platform_id, f"--overlap-secs={bad}", check=False)
        assert cp.returncode != 0 and "overlap" in cp.stderr, cp.stderr
    assert published(server, tenant.platform_id) == out["Published"]
    cp = server.admin("platform", "signing-key", "rotate", "--platform-id", "TNOSUCHPLATFORM0000",
                      check=False)
    assert cp.returncode != 0 and "TNOSUCHPLATFORM0000" in cp.stderr


# ---------------------------------------------------------------------------
# The verifier of the docs
# ---------------------------------------------------------------------------


def docs_block(name: str, lang: str) -> str:
    text = (ROOT / "docs" / "host-apps.md").read_text()
    block = re.search(rf"<!-- sample: {name} -->\s*```{lang}\n(.*?)```", text, re.S)
    assert block, f"docs/host-apps.md lost its marked sample `{name}`"
    return block.group(1)


def test_the_docs_verifier_is_the_clients_module():
    listing = docs_block("package verifier", "python")
    module = (ROOT / "clients" / "python" / "mnpd_package_verify.py").read_text()
    assert listing in module, "the docs' listing and clients/python/mnpd_package_verify.py differ"
    assert len(listing.strip().splitlines()) <= 30


def test_the_docs_message_is_what_the_verifier_signs_over():
    documented = docs_block("package signature message", "text").rstrip("\n")
    assert documented.encode() == mnpd_package_verify.message(
        "TD58806D04A6B416191", "mpg9yjc0qbpkelik", "1.0.3", SHA, 48213)


def test_the_verifier_accepts_the_published_keys_signature_only():
    scope: dict = {}
    exec(compile(docs_block("package verifier", "python"), "docs/host-apps.md", "exec"), scope)  # noqa: S102
    verify = scope["verify"]
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    keys = [{"keyId": key_id, "algorithm": "Ed25519", "publicKey": base64.b64encode(raw).decode(),
             "createdAt": 1, "notAfter": None}]
    fields = ("TPLATFORM", "mpg9yjc0qbpkelik", "1.0.3", SHA, 48213)
    signature = {"keyId": key_id, "algorithm": "Ed25519",
                 "signature": base64.b64encode(private.sign(scope["message"](*fields))).decode()}
    assert verify(keys, signature, *fields)
    assert verify(keys, signature, *fields[:3], SHA.upper(), 48213)
    assert not verify(keys, signature, *fields[:4], 48214)
    assert not verify(keys, signature, "TOTHER", *fields[1:])
    assert not verify(keys, {**signature, "keyId": "0" * 16}, *fields)
    assert not verify(keys, {**signature, "algorithm": "RSA"}, *fields)
    assert not verify(keys, {**signature, "signature": "not base64!"}, *fields)
    assert not verify(keys, {**signature, "signature": base64.b64encode(b"\0" * 64).decode()}, *fields)
    assert not verify([], signature, *fields)
    retired = [{**keys[0], "notAfter": int(time.time()) - 1}]
    assert not verify(retired, signature, *fields)
    assert verify([{**keys[0], "notAfter": int(time.time()) + 60}], signature, *fields)


def test_the_verifier_agrees_with_mnpds_signer():
    """The vector of docs/host-apps.md, also checked by mnpd's unit tests:
    a key of 32 bytes 0x07, the documented message; Ed25519 is
    deterministic, so the signature is fixed."""
    vector = dict(line.split(" ", 1) for line in docs_block("package signature vector", "text")
                  .strip().splitlines())
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["seed"]))
    raw = private.public_key().public_bytes_raw()
    assert base64.b64encode(raw).decode() == vector["publicKey"]
    assert hashlib.sha256(raw).hexdigest()[:16] == vector["keyId"]
    message = docs_block("package signature message", "text").rstrip("\n").encode()
    assert base64.b64encode(private.sign(message)).decode() == vector["signature"]
    keys = [{"keyId": vector["keyId"], "algorithm": "Ed25519", "publicKey": vector["publicKey"],
             "createdAt": 0, "notAfter": None}]
    assert mnpd_package_verify.verify(keys, {"keyId": vector["keyId"], "algorithm": "Ed25519",
                                             "signature": vector["signature"]},
                                      "TD58806D04A6B416191", "mpg9yjc0qbpkelik", "1.0.3", SHA, 48213)

