"""The official TencentCloud Node SDK (tencentcloud-sdk-nodejs-intl-en,
installed unchanged in tests/node by `npm ci`), pointed at mnpd at an
ordinary address: a mini program from CreateMNP to release
(tests/node/flow.js) with each signature method and HTTP method it offers.

The Node SDK signs TC3 with the service read off the endpoint (`127` for
`127.0.0.1:PORT`) and the host name without its port, while it sends `Host`
with the port; mnpd accepts exactly those two forms (docs/security.md), and
still refuses a signature made with any other key, service or host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import harness
from harness import MNP_ID_RE, TASK_ID_RE, TASK_SUCCEEDED

NODE_DIR = harness.REPO_ROOT / "tests" / "node"
SDK = NODE_DIR / "node_modules" / "tencentcloud-sdk-nodejs-intl-en"


def node() -> str:
    found = shutil.which("node")
    if not found:
        pytest.fail("node is not installed (Node.js 20 or later)", pytrace=False)
    if not SDK.is_dir():
        pytest.fail(f"the Node SDK is not installed in {NODE_DIR}; run "
                    "`npm ci --prefix tests/node` (scripts/test does)", pytrace=False)
    return found


def run_flow(server: harness.MnpdServer, url: str, *, sign_method: str, req_method: str,
             secret_key: str | None = None, env: dict | None = None) -> dict:
    cfg = {
        "endpoint": server.endpoint,
        "protocol": f"{server.scheme}://",
        "secretId": server.creds.secret_id,
        "secretKey": secret_key or server.creds.secret_key,
        # A platform of its own, so that its approvals have this run's host
        # application only.
        "platformId": server.create_platform(server.creds.secret_id)["PlatformId"],
        "region": harness.REGION,
        "signMethod": sign_method,
        "reqMethod": req_method,
        "fileUrl": url,
        "version": "1.0.0",
    }
    run_env = harness.clean_env(env)
    cp = subprocess.run([node(), "flow.js", json.dumps(cfg)], cwd=NODE_DIR, env=run_env,
                        capture_output=True, text=True, timeout=120)
    lines = cp.stdout.strip().splitlines()
    assert lines, f"flow.js printed nothing (exit {cp.returncode}): {cp.stderr[-2000:]}"
    out = json.loads(lines[-1])
    out["exit"] = cp.returncode
    return out


@pytest.mark.parametrize("sign_method,req_method", [
    ("TC3-HMAC-SHA256", "POST"),
    ("TC3-HMAC-SHA256", "GET"),
    ("HmacSHA256", "POST"),
    ("HmacSHA1", "GET"),
])
def test_create_to_release_at_a_loopback_address(server, packages, sign_method, req_method):
    out = run_flow(server, packages.mini_program, sign_method=sign_method,
                   req_method=req_method)
    assert out["exit"] == 0, f"{sign_method} {req_method}: {out}"
    assert MNP_ID_RE.match(out["mnpId"]), out
    assert TASK_ID_RE.match(out["taskId"]), out
    assert (out["taskStatus"], out["taskMsg"]) == (TASK_SUCCEEDED, "Success"), out
    assert out["released"] is True, out
    assert out["online"] == [[out["versionId"], "1.0.0"]], out


@pytest.mark.parametrize("sign_method", ["TC3-HMAC-SHA256", "HmacSHA256"])
def test_a_wrong_key_is_still_refused(server, packages, sign_method):
    out = run_flow(server, packages.mini_program, sign_method=sign_method, req_method="POST",
                   secret_key="not-the-" + server.creds.secret_key)
    assert out["exit"] == 1, out
    assert (out["step"], out["code"]) == ("CreateMNP", "AuthFailure.SignatureFailure"), out


def test_another_service_in_the_scope_is_still_refused(server):
    # The endpoint's first label (`127`) and `tcmpp` are the two services
    # accepted; a scope naming any other service is not.
    for service in ("cvm", "128", f"127.0.0.1:{server.port}"):
        r = harness.tc3_post(server, "DescribeMNPList",
                             {"PlatformId": server.platform_id, "Offset": 0, "Limit": 1},
                             service=service)
        r.assert_error("AuthFailure.InvalidAuthorization", "scope")
    ok = harness.tc3_post(server, "DescribeMNPList",
                          {"PlatformId": server.platform_id, "Offset": 0, "Limit": 1},
                          service="127")
    ok.assert_ok()


def test_over_tls_with_the_certificate_trusted_by_node(tmp_path, packages):
    tls = harness.make_self_signed_cert(tmp_path / "cert")
    factory = harness.ServerFactory(tmp_path / "srv")
    try:
        server = factory.new(tls=tls)
        out = run_flow(server, packages.mini_program, sign_method="TC3-HMAC-SHA256",
                       req_method="POST", env={"NODE_EXTRA_CA_CERTS": str(tls.cert)})
        assert out["exit"] == 0, out
        assert out["online"] == [[out["versionId"], "1.0.0"]], out
    finally:
        factory.stop_all()
