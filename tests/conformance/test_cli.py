"""The operator side: bootstrap of an empty data directory and `mnpd admin`."""

import subprocess

import harness
from harness import expect_error


def test_bootstrap_refuses_a_short_key_then_accepts_a_good_one(server_factory):
    creds = harness.Credentials(harness.new_credentials().secret_id, "too-short")
    s = server_factory.new(creds=creds, start=False)
    env = harness.clean_env({"MNPD_BOOTSTRAP_SECRET_ID": creds.secret_id,
                             "MNPD_BOOTSTRAP_SECRET_KEY": creds.secret_key,
                             "MNPD_BOOTSTRAP_PLATFORM_ID": s.platform_id})
    cp = subprocess.run(s.command(harness.free_port()), capture_output=True, text=True,
                        env=env, timeout=30)
    assert cp.returncode != 0, cp.stdout
    assert "SecretKey" in cp.stderr or "SECRET_KEY" in cp.stderr, cp.stderr
    assert "16" in cp.stderr, cp.stderr

    # The refused start left nothing half-made: a good key bootstraps now.
    good = server_factory.new(data_dir=s.data_dir)
    assert good.team_id and good.team_id.isdigit(), good.stdout_lines
    assert any(good.platform_id in line for line in good.stdout_lines), good.stdout_lines
    good.api().create_mnp()


def test_admin_json_outputs_and_new_accounts(server):
    acct = server.admin_json("account", "create", "--name", "second-tenant")
    assert acct["AccountId"] is not None and acct["SecretId"] and acct["SecretKey"]
    assert len(acct["SecretKey"]) >= 16
    pid = harness.new_platform_id()
    plat = server.admin_json("platform", "create", "--secret-id", acct["SecretId"],
                             "--platform-id", pid)
    assert plat["PlatformId"] == pid and plat["TeamId"]
    platforms = {p["PlatformId"]: p for p in server.admin_json("platform", "list")}
    assert pid in platforms and platforms[pid]["AccountId"] == acct["AccountId"]
    team = server.admin_json("team", "create", "--platform-id", pid, "--name", "ops")
    assert team["TeamId"] and team["PlatformId"] == pid

    # The new account works right away, against the running server.
    api = server.api(harness.Credentials(acct["SecretId"], acct["SecretKey"]), pid)
    mnp = api.create_mnp(TeamId=team["TeamId"])
    listed = api.call("DescribeMNPList", {"Offset": 0, "Limit": 10, "PlatformId": pid})["Data"]
    assert [i["MNPId"] for i in listed["DataList"]] == [mnp]
    assert listed["DataList"][0]["TeamName"] == "ops"

    # A chosen key is accepted and never echoed.
    chosen = harness.new_credentials("chosen")
    out = server.admin_json("key", "create", "--of", acct["SecretId"],
                            "--secret-id", chosen.secret_id, "--secret-key", chosen.secret_key)
    assert out["SecretId"] == chosen.secret_id and not out.get("SecretKey")
    server.api(chosen, pid).call("DescribeMNPList", {"Offset": 0, "Limit": 10,
                                                     "PlatformId": pid})


def test_admin_errors(server):
    cp = server.admin("platform", "create", "--secret-id", "AKIDnobodyhasthis", check=False)
    assert cp.returncode != 0 and cp.stderr.strip()
    cp = server.admin("platform", "create", "--secret-id", server.creds.secret_id,
                      "--expires-at", "next tuesday", check=False)
    assert cp.returncode != 0 and "expires" in cp.stderr.lower(), cp.stderr
    cp = server.admin("account", "create", "--secret-id", "AKIDshortkey", "--secret-key", "short",
                      check=False)
    assert cp.returncode != 0 and cp.stderr.strip()
    # The refused key was not created.
    expect_error(lambda: server.api(harness.Credentials("AKIDshortkey", "short")).call(
        "DescribeMNPList", {"Offset": 0, "Limit": 1, "PlatformId": server.platform_id}),
        "AuthFailure.SecretIdNotFound")
