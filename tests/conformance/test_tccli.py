"""tccli, unchanged, against mnpd over HTTPS.

tccli builds its SDK client without a certificate option, so the SDK
verifies TLS against `certifi.where()` (REQUESTS_CA_BUNDLE is not consulted
because the SDK passes `verify=` explicitly). To make it trust the test's
self-signed certificate without touching the installed environment, the test
copies the installed `certifi` package into a temporary folder, appends the
certificate to that copy's cacert.pem, and puts the folder first on
PYTHONPATH for the tccli process only.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import certifi
import pytest

import harness
from harness import MNP_ID_RE, UUID_RE


def tccli_script() -> Path:
    here = Path(sys.executable).parent / "tccli"
    found = here if here.is_file() else (Path(shutil.which("tccli")) if shutil.which("tccli")
                                         else None)
    if not found:
        pytest.fail("tccli is not installed next to this Python (pip install tccli-intl-en)",
                    pytrace=False)
    return found


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, mnpd_bin):
    root = tmp_path_factory.mktemp("tls")
    tls = harness.make_self_signed_cert(root / "cert")
    factory = harness.ServerFactory(root)
    s = factory.new(tls=tls)
    assert s.scheme == "https"
    yield s
    factory.stop_all()


@pytest.fixture(scope="module")
def trusting_pythonpath(tls_server, tmp_path_factory) -> Path:
    """A folder holding a copy of certifi whose bundle also trusts the test
    certificate."""
    shim = tmp_path_factory.mktemp("certifi-shim")
    src = Path(certifi.__file__).parent
    shutil.copytree(src, shim / "certifi", ignore=shutil.ignore_patterns("__pycache__"))
    bundle = shim / "certifi" / "cacert.pem"
    with open(bundle, "a", encoding="ascii") as out:
        out.write("\n# mnpd conformance test certificate\n")
        out.write(tls_server.tls.cert.read_text(encoding="ascii"))
    return shim


def run_tccli(server, args, *, pythonpath=None, env_creds=False, home=None):
    env = harness.clean_env()
    env.pop("PYTHONPATH", None)
    env.pop("TENCENTCLOUD_SECRET_ID", None)
    env.pop("TENCENTCLOUD_SECRET_KEY", None)
    env.pop("TENCENTCLOUD_REGION", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    if home:
        env["HOME"] = str(home)  # no ~/.tccli profile of the machine
    cred_args = []
    if env_creds:
        env["TENCENTCLOUD_SECRET_ID"] = server.creds.secret_id
        env["TENCENTCLOUD_SECRET_KEY"] = server.creds.secret_key
    else:
        cred_args = ["--secretId", server.creds.secret_id, "--secretKey", server.creds.secret_key]
    cmd = [sys.executable, str(tccli_script()), "tcmpp", *args, *cred_args,
           "--region", "ap-guangzhou", "--endpoint", server.endpoint]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=90)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


def test_shim_certifi_is_the_one_tccli_uses(trusting_pythonpath):
    cp = subprocess.run(
        [sys.executable, "-c", "import certifi; print(certifi.where())"],
        capture_output=True, text=True, timeout=30,
        env={**harness.clean_env(), "PYTHONPATH": str(trusting_pythonpath)})
    assert cp.returncode == 0, cp.stderr
    assert Path(cp.stdout.strip()) == trusting_pythonpath / "certifi" / "cacert.pem"


def test_sdk_over_tls(tls_server):
    api = tls_server.api()
    api.call("DescribeMNPList", {"Offset": 0, "Limit": 10, "PlatformId": tls_server.platform_id})


def test_tccli_without_trust_fails_tls(tls_server, home):
    cp = run_tccli(tls_server, ["DescribeMNPList", "--Offset", "0", "--Limit", "10",
                                "--PlatformId", tls_server.platform_id], home=home)
    assert cp.returncode != 0
    out = cp.stdout + cp.stderr
    assert "ClientNetworkError" in out and "SSL" in out, out


def test_tccli_describe_and_create(tls_server, trusting_pythonpath, home):
    list_args = ["DescribeMNPList", "--Offset", "0", "--Limit", "100",
                 "--PlatformId", tls_server.platform_id]
    cp = run_tccli(tls_server, list_args, pythonpath=trusting_pythonpath, home=home)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    before = json.loads(cp.stdout)
    assert isinstance(before["Data"]["TotalCount"], int)
    assert isinstance(before["Data"]["DataList"], list)
    assert UUID_RE.match(before["RequestId"]), before

    name = harness.unique_name("tccli")
    cp = run_tccli(tls_server, [
        "CreateMNP", "--MNPType", harness.OTHER_MNP_TYPE, "--MNPName", name,
        "--MNPIcon", "https://cdn.example.com/tccli.png", "--MNPIntro", "made by tccli",
        "--MNPDesc", "A mini program created from the command line",
        "--PlatformId", tls_server.platform_id,
    ], pythonpath=trusting_pythonpath, home=home)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    created = json.loads(cp.stdout)
    mnp = created["Data"]["ResourceId"]
    assert MNP_ID_RE.match(mnp), created
    assert UUID_RE.match(created["RequestId"]), created

    # Credentials from the environment this time.
    cp = run_tccli(tls_server, list_args, pythonpath=trusting_pythonpath, env_creds=True,
                   home=home)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    after = json.loads(cp.stdout)
    assert after["Data"]["TotalCount"] == before["Data"]["TotalCount"] + 1
    item = next(i for i in after["Data"]["DataList"] if i["MNPId"] == mnp)
    assert item["MNPName"] == name and item["MNPIntro"] == "made by tccli"

    cp = run_tccli(tls_server, ["DescribeMNPDetail", "--MNPId", mnp,
                                "--PlatformId", tls_server.platform_id],
                   pythonpath=trusting_pythonpath, home=home)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    detail = json.loads(cp.stdout)["Data"]
    assert detail["MNPId"] == mnp and isinstance(detail["CreateTime"], int)


def test_tccli_shows_the_error_code(tls_server, trusting_pythonpath, home):
    cp = run_tccli(tls_server, ["DescribeMNPDetail", "--MNPId", "mp0000000000zzzz",
                                "--PlatformId", tls_server.platform_id],
                   pythonpath=trusting_pythonpath, home=home)
    assert cp.returncode != 0, cp.stdout
    out = cp.stdout + cp.stderr
    assert "InvalidParameterValue.InvalidMNPId" in out, out
    assert "mp0000000000zzzz" in out, out


def readme_certificate(folder: Path) -> harness.TlsFiles:
    """The self-signed certificate made with the README's own openssl line."""
    text = (harness.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`(openssl req -x509 [^`]+)`", text)
    assert found, "README.md no longer shows how to make a test certificate"
    folder.mkdir(parents=True, exist_ok=True)
    cp = subprocess.run(shlex.split(found.group(1)), cwd=folder, capture_output=True,
                        text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    return harness.TlsFiles(folder / "cert.pem", folder / "key.pem")


def test_the_readme_certificate_is_trusted_by_every_client_as_told(tmp_path, home):
    """README: Python SDK with `certification`, tccli with its certifi bundle,
    the Node SDK with NODE_EXTRA_CA_CERTS and `mnpd upload --ca-cert`, all
    against one server using the README's certificate."""
    tls = readme_certificate(tmp_path / "cert")
    factory = harness.ServerFactory(tmp_path / "srv")
    try:
        server = factory.new(tls=tls)
        # Python SDK (harness.sdk_client sets HttpProfile.certification).
        api = server.api()
        mnp = api.create_mnp()

        # tccli, with the certificate appended to a copy of its bundle.
        shim = tmp_path / "certifi-shim"
        shutil.copytree(Path(certifi.__file__).parent, shim / "certifi",
                        ignore=shutil.ignore_patterns("__pycache__"))
        with open(shim / "certifi" / "cacert.pem", "a", encoding="ascii") as out:
            out.write("\n" + tls.cert.read_text(encoding="ascii"))
        cp = run_tccli(server, ["DescribeMNPList", "--Offset", "0", "--Limit", "10",
                                "--PlatformId", server.platform_id], pythonpath=shim, home=home)
        assert cp.returncode == 0, cp.stdout + cp.stderr

        # The Node SDK.
        from test_node_sdk import run_flow
        files = harness.FileServer(tmp_path / "files")
        try:
            url = files.file_url(files.add(harness.mini_program_zip()))
            out = run_flow(server, url, sign_method="TC3-HMAC-SHA256", req_method="POST",
                           env={"NODE_EXTRA_CA_CERTS": str(tls.cert)})
        finally:
            files.close()
        assert out["exit"] == 0, out

        # mnpd upload: refused without --ca-cert, accepted with it.
        project = tmp_path / "project"
        for name, data in harness.mini_program_files().items():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_bytes(data if isinstance(data, bytes) else data.encode())
        base = [str(harness.mnpd_bin()), "upload", "--endpoint", f"https://{server.endpoint}",
                "--platform-id", server.platform_id, "--mnp-id", mnp, "--intro", "over TLS",
                "--secret-id", server.creds.secret_id, "--secret-key", server.creds.secret_key]
        env = harness.clean_env()
        cp = subprocess.run(base + ["--version", "1.0.0", str(project)], env=env,
                            capture_output=True, text=True, timeout=120)
        assert cp.returncode != 0, cp.stdout
        cp = subprocess.run(base + ["--ca-cert", str(tls.cert), "--version", "1.0.0",
                                    str(project)], env=env, capture_output=True, text=True,
                            timeout=120)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert f"OK {mnp} 1.0.0" in cp.stdout, cp.stdout
    finally:
        factory.stop_all()
