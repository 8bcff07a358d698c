"""Host application configuration through the official SDK:
ModifyApplicationAppKey, ModifyApplicationAppUrl,
DescribeSimpleApplicationInfoList and the configuration file
(DescribeApplicationConfig, DescribeApplicationConfigFile), opened with the
sample of docs/host-apps.md; each test on a platform of its own account."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import harness
from harness import expect_error
from test_domains import Tenant

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
import mnpd_host_config  # noqa: E402

SAMPLE = ROOT / "clients" / "python" / "mnpd_host_config.py"
NOT_CONFIGURED = "InvalidParameterValue.AppPackageNameNotConfig"
BAD_VALUE = "InvalidParameterValue"
ANDROID, IOS = 2, 3
CONFIG_ACTIONS = ["DescribeApplicationConfigFile", "DescribeApplicationConfig"]

BAD_LAYOUT = "InvalidParameterValue.InvalidAppPackageNameLayout"
BAD_APP = "InvalidParameterValue.InvalidApplicationId"
BAD_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
BAD_MNP = "InvalidParameterValue.InvalidMNPId"


def new_app(t: Tenant, **over) -> str:
    params = {"ApplicationName": harness.unique_name("app")[:30], "Logo": "https://cdn.example.com/l.png",
              "Intro": "host app", "TeamId": t.team_id, "ApplicationType": 2, **over}
    return t.call("CreateApplication", **params)["Data"]["ResourceId"]


def keys(t: Tenant, app: str):
    d = t.call("DescribeApplication", ApplicationId=app)["Data"]
    return d["AndroidAppKey"], d["IosAppKey"]


@pytest.fixture
def tenant(server):
    return Tenant(server)


@pytest.fixture
def other(server):
    return Tenant(server)


def test_modify_app_keys(tenant):
    app = new_app(tenant, AndroidAppKey="com.example.before")
    resp = tenant.call("ModifyApplicationAppKey", ApplicationId=app, IOSAppKey="com.example.ios")
    assert resp["Data"] == {"Result": True}
    # Left out keeps; sent empty clears.
    assert keys(tenant, app) == ("com.example.before", "com.example.ios")
    tenant.call("ModifyApplicationAppKey", ApplicationId=app, AndroidAppKey="",
                IOSAppKey="com.example.ios2")
    assert keys(tenant, app) == ("", "com.example.ios2")
    for bad in ["nodots", "com..x", "1com.example", "com.exa mple", "com.example.ü"]:
        tenant.fails(BAD_LAYOUT, "ModifyApplicationAppKey", "com.example.app",
                     ApplicationId=app, AndroidAppKey=bad)
    assert keys(tenant, app) == ("", "com.example.ios2")
    tenant.fails(BAD_APP, "ModifyApplicationAppKey", ApplicationId="app-zzzzzzzzzz",
                 AndroidAppKey="com.example.x")


def test_simple_list_paging_keyword_and_mnp(tenant):
    apps = [new_app(tenant, ApplicationName=f"simple-{i}-{harness.unique_name('s')[:12]}")
            for i in range(3)]
    page = tenant.call("DescribeSimpleApplicationInfoList", Offset=0, Limit=2)["Data"]
    assert page["TotalCount"] == 3 and len(page["DataList"]) == 2
    rest = tenant.call("DescribeSimpleApplicationInfoList", Offset=2, Limit=2)["Data"]
    ids = [a["ApplicationID"] for a in page["DataList"] + rest["DataList"]]
    assert sorted(ids) == sorted(apps)
    row = page["DataList"][0]
    assert set(row) == {"ApplicationID", "AppIdentityID", "ApplicationName"}
    assert isinstance(row["AppIdentityID"], int) and row["AppIdentityID"] > 0
    one = tenant.call("DescribeSimpleApplicationInfoList", Offset=0, Limit=10,
                      Keyword="SIMPLE-1", LoadAssistantApp=True)["Data"]
    assert [a["ApplicationID"] for a in one["DataList"]] == [apps[1]]
    # A mini program no application approved yet: none listed.
    mnp = tenant.api.create_mnp()
    assert tenant.call("DescribeSimpleApplicationInfoList", Offset=0, Limit=10,
                       MNPId=mnp)["Data"] == {"TotalCount": 0, "DataList": []}
    tenant.fails(BAD_MNP, "DescribeSimpleApplicationInfoList", Offset=0, Limit=10,
                 MNPId="mp0000000000zzzz")
    tenant.fails("InvalidParameterValue", "DescribeSimpleApplicationInfoList", "Limit",
                 Offset=0, Limit=0)


def test_isolation(tenant, other):
    app = new_app(tenant, AndroidAppKey="com.example.iso")
    mnp = tenant.api.create_mnp()
    a = tenant.platform_id
    expect_error(lambda: other.api.client.call_json("ModifyApplicationAppKey", {
        "PlatformId": a, "ApplicationId": app, "AndroidAppKey": "com.evil.app"}), BAD_PLATFORM)
    expect_error(lambda: other.api.client.call_json("DescribeSimpleApplicationInfoList", {
        "PlatformId": a, "Offset": 0, "Limit": 10}), BAD_PLATFORM)
    other.fails(BAD_APP, "ModifyApplicationAppKey", ApplicationId=app,
                AndroidAppKey="com.evil.app")
    other.fails(BAD_MNP, "DescribeSimpleApplicationInfoList", Offset=0, Limit=10, MNPId=mnp)
    assert other.call("DescribeSimpleApplicationInfoList", Offset=0,
                      Limit=10)["Data"]["TotalCount"] == 0
    assert keys(tenant, app) == ("com.example.iso", "")


# ---------------------------------------------------------------------------
# ModifyApplicationAppUrl
# ---------------------------------------------------------------------------


def urls(t: Tenant, app: str):
    d = t.call("DescribeApplication", ApplicationId=app)["Data"]
    return d["AndroidAppUrl"], d["IosAppUrl"]


def test_modify_app_urls(tenant):
    app = new_app(tenant)
    assert urls(tenant, app) == ("", "")
    resp = tenant.call("ModifyApplicationAppUrl", ApplicationId=app,
                       AndroidAppURL="https://apps.example.com/host.apk")
    assert resp["Data"] == {"Result": True}
    assert urls(tenant, app) == ("https://apps.example.com/host.apk", "")
    # Left out keeps; sent empty clears.
    tenant.call("ModifyApplicationAppUrl", ApplicationId=app,
                IOSAppURL="https://apps.apple.com/app/id1")
    assert urls(tenant, app) == ("https://apps.example.com/host.apk", "https://apps.apple.com/app/id1")
    tenant.call("ModifyApplicationAppUrl", ApplicationId=app, AndroidAppURL="")
    assert urls(tenant, app) == ("", "https://apps.apple.com/app/id1")
    listed = tenant.call("DescribeApplicationList", Offset=0, Limit=100)["Data"]["DataList"]
    row = next(a for a in listed if a["ApplicationID"] == app)
    assert (row["AndroidAppUrl"], row["IosAppUrl"]) == ("", "https://apps.apple.com/app/id1")
    for bad in ["ftp://apps.example.com/a", "apps.example.com", "https://", "https://a b.example",
                "https://" + "a" * 1100]:
        tenant.fails(BAD_VALUE, "ModifyApplicationAppUrl", "AndroidAppURL",
                     ApplicationId=app, AndroidAppURL=bad)
    assert urls(tenant, app) == ("", "https://apps.apple.com/app/id1")
    tenant.fails(BAD_APP, "ModifyApplicationAppUrl", ApplicationId="app-zzzzzzzzzz",
                 IOSAppURL="https://apps.example.com/x")


def test_bad_package_name_layout_on_create_and_modify(tenant):
    tenant.fails(BAD_LAYOUT, "CreateApplication", "AndroidAppKey",
                 ApplicationName=harness.unique_name("app")[:30], Logo="https://cdn.example.com/l.png",
                 Intro="host app", TeamId=tenant.team_id, ApplicationType=2, AndroidAppKey="nodots")
    app = new_app(tenant)
    tenant.fails(BAD_LAYOUT, "ModifyApplication", "IosAppKey", ApplicationId=app,
                 ApplicationName="renamed", Logo="https://cdn.example.com/l.png", Intro="i",
                 IosAppKey="com..broken")


# ---------------------------------------------------------------------------
# The configuration file
# ---------------------------------------------------------------------------


def host_key(server, t: Tenant) -> str:
    out = server.admin_json("platform", "host-key", "--platform-id", t.platform_id)
    assert out["PlatformId"] == t.platform_id and re.fullmatch(r"[0-9a-f]{64}", out["HostSdkKey"])
    assert out["KeyId"] == mnpd_host_config.key_id(bytes.fromhex(out["HostSdkKey"]))
    return out["HostSdkKey"]


def config_file(t: Tenant, app: str, app_type: int, action: str = "DescribeApplicationConfigFile"):
    data = t.call(action, ApplicationId=app, AppType=app_type)["Data"]
    assert set(data) == {"File"}
    return data["File"]


def test_android_and_ios_files_open_with_the_host_sdk_key(server, tenant):
    app = new_app(tenant, AndroidAppKey="com.example.host")
    number = tenant.call("DescribeApplication", ApplicationId=app)["Data"]["AppIdentityID"]
    key = host_key(server, tenant)
    assert host_key(server, tenant) == key, "one key per platform, stable"
    for action in CONFIG_ACTIONS:
        file = mnpd_host_config.decode(config_file(tenant, app, ANDROID, action))
        # The public example's fields, with their meaning.
        assert file["customId"] == tenant.platform_id
        assert file["productId"] == str(number)
        assert (file["packageName"], file["bundleId"]) == ("com.example.host", "")
        assert file["appKey"] == app and file["appType"] == ANDROID
        assert re.fullmatch(r"[A-Za-z0-9+/=]+[0-9a-f]{16}", file["material"])
        material = mnpd_host_config.open_file(file, key)
        assert material["platformId"] == tenant.platform_id
        assert material["applicationId"] == app and material["appType"] == ANDROID
        assert material["androidAppKey"] == "com.example.host" and material["iosAppKey"] == ""
        assert material["apiEndpoint"] == server.url
        assert material["packageEndpoint"] == server.url + "packages/"
        # The platform's published package signing keys (test_package_signing.py).
        assert material["packageSigningKeys"] == requests.get(
            f"{server.url}.well-known/mnpd/package-signing-keys/{tenant.platform_id}",
            timeout=10).json()["keys"]
        assert len(material["packageSigningKeys"]) == 1
    # Nothing for iOS until a bundle id is set.
    for action in CONFIG_ACTIONS:
        tenant.fails(NOT_CONFIGURED, action, "IOSAppKey", ApplicationId=app, AppType=IOS)
    tenant.call("ModifyApplicationAppKey", ApplicationId=app, IOSAppKey="com.example.host.ios")
    ios = mnpd_host_config.decode(config_file(tenant, app, IOS))
    assert (ios["packageName"], ios["bundleId"]) == ("", "com.example.host.ios")
    assert mnpd_host_config.open_file(ios, key)["iosAppKey"] == "com.example.host.ios"
    # Clearing the Android package name takes the Android file away.
    tenant.call("ModifyApplicationAppKey", ApplicationId=app, AndroidAppKey="")
    tenant.fails(NOT_CONFIGURED, "DescribeApplicationConfigFile", "AndroidAppKey",
                 ApplicationId=app, AppType=ANDROID)
    for bad_type in [0, 1, 4, -2]:
        for action in CONFIG_ACTIONS:
            tenant.fails(BAD_VALUE, action, "AppType", ApplicationId=app, AppType=bad_type)
    for action in CONFIG_ACTIONS:
        tenant.fails(BAD_APP, action, ApplicationId="app-zzzzzzzzzz", AppType=ANDROID)


def test_any_change_to_the_file_is_detected(server, tenant, other):
    app = new_app(tenant, AndroidAppKey="com.example.sealed")
    key = host_key(server, tenant)
    file = mnpd_host_config.decode(config_file(tenant, app, ANDROID))
    mnpd_host_config.open_file(file, key)
    changes = {
        "packageName": "com.evil.host",
        "customId": other.platform_id,
        "productId": "999999",
        "bundleId": "com.evil.ios",
    }
    for field, value in changes.items():
        with pytest.raises(mnpd_host_config.Tampered):
            mnpd_host_config.open_file({**file, field: value}, key)
    # The file of another application does not take this one's material.
    second = mnpd_host_config.decode(config_file(tenant, new_app(tenant, AndroidAppKey="com.example.two"),
                                                 ANDROID))
    with pytest.raises(mnpd_host_config.Tampered):
        mnpd_host_config.open_file({**file, "material": second["material"]}, key)
    with pytest.raises(mnpd_host_config.Tampered):
        mnpd_host_config.open_file({**file, "appKey": second["appKey"]}, key)
    # One flipped bit anywhere in the sealed bytes.
    blob = bytearray(base64.b64decode(file["material"][:-16]))
    for i in (0, 12, len(blob) // 2, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[i] ^= 0x01
        forged = base64.b64encode(bytes(flipped)).decode() + file["material"][-16:]
        with pytest.raises(mnpd_host_config.Tampered):
            mnpd_host_config.open_file({**file, "material": forged}, key)
    # Another platform's host SDK cannot open it.
    with pytest.raises(mnpd_host_config.OtherKey):
        mnpd_host_config.open_file(file, host_key(server, other))


def test_the_sample_script_opens_a_downloaded_file(server, tenant, tmp_path):
    app = new_app(tenant, AndroidAppKey="com.example.script")
    key = host_key(server, tenant)
    downloaded = tmp_path / "config.b64"
    downloaded.write_text(config_file(tenant, app, ANDROID))
    ok = subprocess.run([sys.executable, str(SAMPLE), str(downloaded), key],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["applicationId"] == app
    file = mnpd_host_config.decode(downloaded.read_text())
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**file, "packageName": "com.evil.host"}))
    bad = subprocess.run([sys.executable, str(SAMPLE), str(tampered), key],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "refused" in bad.stderr, (bad.stdout, bad.stderr)


def test_the_docs_sample_runs_on_a_downloaded_file(server, tenant):
    """docs/host-apps.md's Python sample, run as written on a real file."""
    text = (ROOT / "docs" / "host-apps.md").read_text()
    block = re.search(r"<!-- sample: host config -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/host-apps.md lost its marked sample"
    app = new_app(tenant, AndroidAppKey="com.example.docs")
    scope = {"FILE_B64": config_file(tenant, app, ANDROID), "HOST_SDK_KEY": host_key(server, tenant)}
    exec(compile(block.group(1), "docs/host-apps.md", "exec"), scope)  # noqa: S102
    assert scope["material"]["applicationId"] == app
    assert scope["tampered_refused"] is True


def docs_block(name: str, lang: str) -> str:
    text = (ROOT / "docs" / "host-apps.md").read_text()
    block = re.search(rf"<!-- sample: {name} -->\s*```{lang}\n(.*?)```", text, re.S)
    assert block, f"docs/host-apps.md lost its marked sample `{name}`"
    return block.group(1)


def shape(value):
    """The JSON types of a document, member by member."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_the_docs_sample_file_is_what_mnpd_serves(server, tenant):
    """docs/host-apps.md's sample file opens with its sample key, as
    documented, and a file downloaded now has its fields and JSON types,
    in clear and sealed."""
    sample = json.loads(docs_block("host config file", "json"))
    sample_key = docs_block("host sdk key", "text").strip()
    opened = mnpd_host_config.open_file(sample, sample_key)
    assert opened == json.loads(docs_block("host config material", "json"))
    assert opened["apiEndpoint"] == "https://mnpd.example.com/"
    app = new_app(tenant, AndroidAppKey="com.example.superapp")
    served = mnpd_host_config.decode(config_file(tenant, app, ANDROID))
    assert shape(served) == shape(sample)
    served_material = mnpd_host_config.open_file(served, host_key(server, tenant))
    assert shape(served_material) == shape(opened)
    assert served["packageName"] == sample["packageName"] == opened["androidAppKey"]


def test_config_isolation(tenant, other):
    app = new_app(tenant, AndroidAppKey="com.example.iso2", IosAppKey="com.example.iso2")
    a = tenant.platform_id
    for action in CONFIG_ACTIONS:
        expect_error(lambda: other.api.client.call_json(action, {
            "PlatformId": a, "ApplicationId": app, "AppType": ANDROID}), BAD_PLATFORM)
        other.fails(BAD_APP, action, ApplicationId=app, AppType=ANDROID)
    expect_error(lambda: other.api.client.call_json("ModifyApplicationAppUrl", {
        "PlatformId": a, "ApplicationId": app, "AndroidAppURL": "https://evil.example"}), BAD_PLATFORM)
    other.fails(BAD_APP, "ModifyApplicationAppUrl", ApplicationId=app,
                AndroidAppURL="https://evil.example")
    assert urls(tenant, app) == ("", "")
