"""What an operator watches, through the real binary: JSON logs that carry
each request's RequestId, Prometheus metrics that count what the SDK did,
and the liveness and readiness probes."""
import json
import re
import urllib.request

import harness
from harness import expect_error


def get(server, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://{server.endpoint}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sample(text: str, series: str) -> float:
    """The value of one series in a Prometheus exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def log_records(server) -> list[dict]:
    """mnpd's stderr lines, each parsed as JSON (the harness's own lines,
    which start with '===' or '[stdout]', are left out)."""
    records = []
    for line in server.log_path.read_text().splitlines():
        if not line.strip() or line.startswith("===") or line.startswith("[stdout]"):
            continue
        records.append(json.loads(line))  # every line mnpd writes is JSON
    return records


def test_json_logs_carry_the_request_id_of_every_request(server_factory):
    s = server_factory.new("--log-format", "json")
    api = s.api()
    params = {"Offset": 0, "Limit": 10, "PlatformId": s.platform_id}
    ok = api.call("DescribeMNPList", params)["RequestId"]
    refused = expect_error(
        lambda: api.call("DescribeMNPVersion", {"BusinessId": "nope", "PlatformId": s.platform_id}),
        "InvalidParameterValue.InvalidMNPVersionTaskId").get_request_id()
    records = log_records(s)
    by_request: dict[str, list[dict]] = {}
    for r in records:
        span = r.get("span") or {}
        if span.get("name") == "request":
            assert re.fullmatch(r"[0-9a-f-]{36}", span.get("request_id", "")), r
            by_request.setdefault(span["request_id"], []).append(r)
    assert ok in by_request, f"no log line for {ok}: {records[-5:]}"
    assert refused in by_request, f"no log line for {refused}: {records[-5:]}"
    assert by_request[ok][-1]["span"]["action"] == "DescribeMNPList"
    assert by_request[refused][-1]["fields"]["code"] == "InvalidParameterValue.InvalidMNPVersionTaskId"
    # Neither the secret key nor the signature is ever logged.
    text = s.log_path.read_text()
    assert s.creds.secret_key not in text


def test_text_logs_in_a_file_carry_no_colour_codes(server_factory):
    # Colour is for a terminal; the harness sends stderr to a file.
    s = server_factory.new()
    s.api().call("DescribeMNPList", {"Offset": 0, "Limit": 1, "PlatformId": s.platform_id})
    text = s.log_path.read_text()
    assert "INFO" in text, text[-2000:]
    assert "\x1b[" not in text, f"ANSI escape codes in a log file: {text[:300]!r}"


def test_metrics_count_what_the_sdk_did(server, api):
    status, before = get(server, "/metrics")
    assert status == 200
    params = {"Offset": 0, "Limit": 10, "PlatformId": api.platform_id}
    for _ in range(3):
        api.call("DescribeMNPList", params)
    expect_error(lambda: api.call("DescribeMNPVersion",
                                  {"BusinessId": "nope", "PlatformId": api.platform_id}),
                 "InvalidParameterValue.InvalidMNPVersionTaskId")
    _, after = get(server, "/metrics")
    listed = 'mnpd_requests_total{action="DescribeMNPList",code="Success"}'
    refused = ('mnpd_requests_total{action="DescribeMNPVersion",'
               'code="InvalidParameterValue.InvalidMNPVersionTaskId"}')
    # Other tests may share the server, so at least, not exactly.
    assert sample(after, listed) - sample(before, listed) >= 3
    assert sample(after, refused) - sample(before, refused) >= 1
    assert sample(after, "mnpd_storage_up") == 1
    for family in ("mnpd_request_duration_seconds", "mnpd_task_queue_depth",
                   "mnpd_tasks", "mnpd_ingested_bytes", "mnpd_served_bytes",
                   "mnpd_rate_limited"):
        assert f"# TYPE {family} " in after, family
    assert after.endswith("# EOF\n")


def test_metrics_follow_a_version_task(server_factory, packages):
    s = server_factory.new()
    api = s.api()
    data = harness.mini_program_zip()
    api.version_succeeds(api.create_mnp(), "1.0.0", packages.fresh_url(data))
    _, text = get(s, "/metrics")
    assert sample(text, 'mnpd_tasks_total{outcome="succeeded"}') == 1
    assert sample(text, "mnpd_ingested_bytes_total") == len(data)
    assert sample(text, 'mnpd_task_queue_depth{state="pending"}') == 0
    assert sample(text, 'mnpd_task_duration_seconds_count{outcome="succeeded"}') == 1


def test_probes(server):
    assert get(server, "/healthz") == (200, "ok")
    assert get(server, "/readyz") == (200, "ready\n")
