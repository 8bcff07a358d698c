"""CreateMNPVersion refusals (each by its real trigger, in the documented
order of checks), DescribeMNPVersion refusals, and packages that fail in the
task."""

import threading
import time
import json
import urllib.parse

import pytest

import harness
from harness import TASK_FAILED, TASK_SUCCEEDED, expect_error

INVALID_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
EXPIRED = "FailedOperation.PackageAlreadyExpired"
INVALID_MNP = "InvalidParameterValue.InvalidMNPId"
INVALID_VERSION = "InvalidParameterValue.InvalidMNPVersion"
INVALID_INTRO = "InvalidParameterValue.InvalidMNPVersionIntro"
TOO_LARGE = "InvalidParameterValue.MNPFileSizExceedLimit"
DOWNLOAD_FAILED = "FailedOperation.FileDownloadFailed"
MISMATCH = "InvalidParameterValue.ExistMismatchParameterType"
INVALID_TASK = "InvalidParameterValue.InvalidMNPVersionTaskId"


def create_version_call(api, **params):
    return lambda: api.call("CreateMNPVersion", params)


# ---------------------------------------------------------------------------
# InvalidPlatformId
# ---------------------------------------------------------------------------


def test_unknown_platform(api, mnp_id, packages):
    bogus = harness.new_platform_id()
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", packages.mini_program, PlatformId=bogus)), INVALID_PLATFORM, bogus)


def test_empty_platform(api, mnp_id, packages):
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", packages.mini_program, PlatformId="")), INVALID_PLATFORM)


def test_platform_of_another_account(server, api, mnp_id, packages):
    other = server.create_account()
    theirs = server.create_platform(other.secret_id)["PlatformId"]
    # It exists (its owner can use it) ...
    server.api(other, theirs).call("DescribeMNPList", {"Offset": 0, "Limit": 1,
                                                       "PlatformId": theirs})
    # ... but it is not ours.
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", packages.mini_program, PlatformId=theirs)), INVALID_PLATFORM, theirs)
    # And the checks run in order: a bad platform is reported before anything else.
    expect_error(create_version_call(api, **api.version_params(
        "mpdoesnotexist00", "bad", "ftp://x", PlatformId=theirs, MNPVersionIntro="")),
        INVALID_PLATFORM)


# ---------------------------------------------------------------------------
# PackageAlreadyExpired
# ---------------------------------------------------------------------------


def test_expired_plan(server, api, packages):
    expired = server.create_platform(server.creds.secret_id,
                                     expires_at="2020-01-01T00:00:00Z")["PlatformId"]
    params = api.version_params("mp0000000000000x", "1.0.0", packages.mini_program,
                                PlatformId=expired)
    # Expiry is checked before the mini program.
    expect_error(create_version_call(api, **params), EXPIRED)

    # A platform whose plan is still running accepts versions.
    live = server.create_platform(server.creds.secret_id,
                                  expires_at="2099-01-01T00:00:00Z")["PlatformId"]
    on_live = server.api(platform_id=live)
    live_mnp = on_live.create_mnp()
    on_live.version_succeeds(live_mnp, "1.0.0", packages.mini_program)


# ---------------------------------------------------------------------------
# InvalidMNPId
# ---------------------------------------------------------------------------


def test_unknown_mini_program(api, packages):
    expect_error(create_version_call(api, **api.version_params(
        "mp0000000000zzzz", "1.0.0", packages.mini_program)), INVALID_MNP, "mp0000000000zzzz")


def test_mini_program_of_another_platform(server, api, packages):
    second = server.create_platform(server.creds.secret_id)["PlatformId"]
    elsewhere = server.api(platform_id=second).create_mnp()
    expect_error(create_version_call(api, **api.version_params(
        elsewhere, "1.0.0", packages.mini_program)), INVALID_MNP, elsewhere)


def test_mini_program_checked_before_version(api, packages):
    expect_error(create_version_call(api, **api.version_params(
        "mp0000000000zzzz", "not-a-version", packages.mini_program, MNPVersionIntro="")),
        INVALID_MNP)


# ---------------------------------------------------------------------------
# InvalidMNPVersion
# ---------------------------------------------------------------------------

BAD_VERSIONS = [
    "", "1", "1.0", "1.0.0.0", "01.0.0", "1.00.0", "1.0.01", "-1.0.0", "v1.0.0",
    "1.0.a", "1..0", "1.0.0-beta", "1.0.0+build", " 1.0.0", "1.0.0 ", "1,0,0",
    "１.０.０", "1.0." + "1" * 61,
]


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_malformed_version(api, mnp_id, packages, version):
    e = expect_error(create_version_call(api, **api.version_params(
        mnp_id, version, packages.mini_program)), INVALID_VERSION)
    assert "MAJOR.MINOR.PATCH" in e.get_message() or "version" in e.get_message().lower()


def test_version_longer_than_64_chars(api, mnp_id, packages):
    v = "1." + "0." + "9" * 61  # 65 characters, well-formed otherwise
    assert len(v) == 65
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, v, packages.mini_program)), INVALID_VERSION)


def test_version_of_64_chars_is_accepted(api, mnp_id, packages):
    v = "1.0." + "1" * 60
    assert len(v) == 64
    api.version_succeeds(mnp_id, v, packages.mini_program)


def test_huge_version_numbers_compare_as_numbers(api, mnp_id, packages):
    api.version_succeeds(mnp_id, "99999999999999999999.0.0", packages.mini_program)
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "99999999999999999998.9.9", packages.mini_program)), INVALID_VERSION)
    api.version_succeeds(mnp_id, "100000000000000000000.0.0", packages.mini_program)


def test_version_must_exceed_existing(api, mnp_id, packages):
    api.version_succeeds(mnp_id, "2.0.0", packages.mini_program, intro="base")
    for lower in ["1.9.9", "0.0.1", "1.99.99"]:
        expect_error(create_version_call(api, **api.version_params(
            mnp_id, lower, packages.mini_program)), INVALID_VERSION, "2.0.0")
    # Equal to a succeeded version (a different request, so no idempotent reuse).
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "2.0.0", packages.mini_program, intro="another intro")), INVALID_VERSION, "2.0.0")
    # Compared as numbers, not as text.
    api.version_succeeds(mnp_id, "2.0.10", packages.mini_program)
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "2.0.9", packages.mini_program)), INVALID_VERSION)


def test_version_being_processed_counts(api, mnp_id, packages):
    task = api.create_version(mnp_id, "5.0.0", packages.mini_program, intro="in flight")
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "5.0.0", packages.mini_program, intro="racing it")), INVALID_VERSION)
    assert api.wait_task(task)["TaskStatus"] == TASK_SUCCEEDED


def test_version_checked_before_intro(api, mnp_id, packages):
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0", "ftp://example.com/x.zip", MNPVersionIntro="")), INVALID_VERSION)


def test_concurrent_identical_requests_share_a_task(server, api, mnp_id, packages, file_server):
    url = file_server.url(f"/trickle/1/{packages.mini_program_name}")
    results = []

    def create():
        try:
            results.append(server.api().create_version(mnp_id, "1.0.0", url, intro="race"))
        except Exception as e:  # reported below
            results.append(repr(e))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 4 and len(set(results)) == 1, results
    assert harness.TASK_ID_RE.match(results[0]), results
    assert api.wait_task(results[0])["TaskStatus"] == TASK_SUCCEEDED


def test_repeat_after_failure_is_a_new_task(api, mnp_id, packages, file_server):
    url = packages.fresh_url(b"definitely not a zip")
    first = api.create_version(mnp_id, "1.0.0", url, intro="will fail")
    assert api.wait_task(first)["TaskStatus"] == TASK_FAILED
    second = api.create_version(mnp_id, "1.0.0", url, intro="will fail")
    assert second != first, "a failed task is not reused"
    assert file_server.hit_count(url) == 2
    assert api.wait_task(second)["TaskStatus"] == TASK_FAILED


# ---------------------------------------------------------------------------
# InvalidMNPVersionIntro
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("intro", ["", "   ", "\t \n", "x" * 201, "   " + "y" * 201 + "   ",
                                   "版" * 201],
                         ids=["empty", "spaces", "whitespace", "201-chars", "201-padded",
                              "201-cjk"])
def test_bad_version_intro(api, mnp_id, packages, file_server, intro):
    url = packages.fresh_url(harness.mini_program_zip())
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", url, intro=intro)), INVALID_INTRO, "MNPVersionIntro")
    assert file_server.hit_count(url) == 0, "the intro is checked before downloading"


# ---------------------------------------------------------------------------
# MNPFileSizExceedLimit
# ---------------------------------------------------------------------------

CAP = 16 * 1024


@pytest.fixture(scope="module")
def small_cap_server(tmp_path_factory, mnpd_bin):
    factory = harness.ServerFactory(tmp_path_factory.mktemp("small-cap"))
    s = factory.new("--max-package-bytes", str(CAP), "--download-timeout", "3")
    yield s
    factory.stop_all()


def test_package_within_cap_is_accepted(small_cap_server, packages):
    assert len(harness.mini_program_zip()) < CAP
    api = small_cap_server.api()
    api.version_succeeds(api.create_mnp(), "1.0.0", packages.mini_program)


def test_too_large_by_content_length(small_cap_server, packages, file_server):
    api = small_cap_server.api()
    name = packages.large_blob_name(CAP * 8)
    expect_error(create_version_call(api, **api.version_params(
        api.create_mnp(), "1.0.0", file_server.file_url(name))), TOO_LARGE)


def test_too_large_while_streaming(small_cap_server, packages, file_server):
    api = small_cap_server.api()
    name = packages.large_blob_name(CAP * 8)
    expect_error(create_version_call(api, **api.version_params(
        api.create_mnp(), "1.0.0", file_server.url(f"/nolength/{name}"))), TOO_LARGE)


@pytest.mark.parametrize("route", ["files", "nolength"])
def test_cap_boundary(small_cap_server, packages, route):
    api = small_cap_server.api()
    mnp = api.create_mnp()
    # One byte over: refused, whether announced by Content-Length or not.
    over = packages.fresh_url(harness.zip_of_exact_size(CAP + 1), route=route)
    expect_error(create_version_call(api, **api.version_params(mnp, "1.0.0", over)), TOO_LARGE)
    # Exactly the cap: accepted, and a valid package.
    exact = packages.fresh_url(harness.zip_of_exact_size(CAP), route=route)
    api.version_succeeds(mnp, "1.0.0", exact)


def test_content_length_is_checked_before_reading(small_cap_server, file_server):
    """Content-Length above the cap is refused at once, without waiting for a
    body that is never coming."""
    api = small_cap_server.api()
    started = time.monotonic()
    expect_error(create_version_call(api, **api.version_params(
        api.create_mnp(), "1.0.0", file_server.url(f"/promise/{CAP * 1024}"))), TOO_LARGE)
    # The body would stall for 5 s, past the 3 s download timeout.
    assert time.monotonic() - started < 4.5, "the server waited for the body"


def test_streaming_stops_at_the_cap(small_cap_server, file_server):
    """An endless body without Content-Length is cut off at the cap."""
    api = small_cap_server.api()
    started = time.monotonic()
    expect_error(create_version_call(api, **api.version_params(
        api.create_mnp(), "1.0.0", file_server.url("/endless"))), TOO_LARGE)
    assert time.monotonic() - started < 4.5, "the server kept reading past the cap"


def test_download_timeout(small_cap_server, packages, file_server):
    # --download-timeout 3 against a file trickled over 8 seconds.
    api = small_cap_server.api()
    url = file_server.url(f"/trickle/8/{packages.mini_program_name}")
    expect_error(create_version_call(api, **api.version_params(
        api.create_mnp(), "1.0.0", url)), DOWNLOAD_FAILED)


# ---------------------------------------------------------------------------
# FileDownloadFailed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/pkg.zip", "file:///etc/passwd"],
                         ids=["ftp", "file"])
def test_redirect_to_bad_scheme(api, mnp_id, file_server, target):
    url = file_server.url("/goto?" + urllib.parse.urlencode({"to": target}))
    expect_error(create_version_call(api, **api.version_params(mnp_id, "1.0.0", url)),
                 DOWNLOAD_FAILED)


def test_redirect_loop_and_dead_end(api, mnp_id, file_server):
    # A redirect chain that never ends (well past the limit of 5).
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", file_server.url("/redirect/50/nothing.zip"))), DOWNLOAD_FAILED)
    # A redirect that lands on a 404.
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", file_server.url("/redirect/2/no-such-file.zip"))), DOWNLOAD_FAILED)


def test_download_404(api, mnp_id, file_server):
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", file_server.url("/status/404"))), DOWNLOAD_FAILED)
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", file_server.url("/files/no-such-file.zip"))), DOWNLOAD_FAILED)


def test_download_server_error(api, mnp_id, file_server):
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", file_server.url("/status/500"))), DOWNLOAD_FAILED)


def test_download_connection_refused(api, mnp_id):
    port = harness.refused_port()
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", f"http://127.0.0.1:{port}/pkg.zip")), DOWNLOAD_FAILED)


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/pkg.zip",
    "file:///etc/passwd",
    "gopher://127.0.0.1/pkg.zip",
    "not a url",
    "",
], ids=["ftp", "file", "gopher", "not-a-url", "empty"])
def test_download_bad_scheme(api, mnp_id, url):
    expect_error(create_version_call(api, **api.version_params(mnp_id, "1.0.0", url)),
                 DOWNLOAD_FAILED)


def test_download_too_many_redirects(api, mnp_id, packages, file_server):
    url = file_server.url(f"/redirect/6/{packages.mini_program_name}")
    expect_error(create_version_call(api, **api.version_params(mnp_id, "1.0.0", url)),
                 DOWNLOAD_FAILED)


def test_download_truncated(api, mnp_id, packages, file_server):
    url = file_server.url(f"/truncated/{packages.mini_program_name}")
    expect_error(create_version_call(api, **api.version_params(mnp_id, "1.0.0", url)),
                 DOWNLOAD_FAILED)


def test_failed_download_leaves_version_free(api, mnp_id, packages, file_server):
    expect_error(create_version_call(api, **api.version_params(
        mnp_id, "1.0.0", file_server.url("/status/404"))), DOWNLOAD_FAILED)
    api.version_succeeds(mnp_id, "1.0.0", packages.mini_program)


# ---------------------------------------------------------------------------
# ExistMismatchParameterType
# ---------------------------------------------------------------------------


def test_version_as_integer(api, mnp_id, packages):
    params = api.version_params(mnp_id, "1.0.0", packages.mini_program)
    params["MNPVersion"] = 100
    expect_error(lambda: api.client.call_json("CreateMNPVersion", params), MISMATCH, "MNPVersion")


def test_intro_as_list(api, mnp_id, packages):
    params = api.version_params(mnp_id, "1.0.0", packages.mini_program)
    params["MNPVersionIntro"] = ["a", "b"]
    expect_error(lambda: api.client.call_json("CreateMNPVersion", params), MISMATCH,
                 "MNPVersionIntro")


@pytest.mark.parametrize("missing", ["MNPId", "MNPVersion", "FileUrl", "PlatformId",
                                     "MNPVersionIntro"])
def test_missing_required_field(api, mnp_id, packages, missing):
    params = api.version_params(mnp_id, "1.0.0", packages.mini_program)
    del params[missing]
    expect_error(lambda: api.client.call_json("CreateMNPVersion", params), MISMATCH, missing)


# ---------------------------------------------------------------------------
# DescribeMNPVersion refusals
# ---------------------------------------------------------------------------


def test_describe_unknown_task(api):
    expect_error(lambda: api.describe_task("2024082016302581955"), INVALID_TASK,
                 "2024082016302581955")
    expect_error(lambda: api.describe_task("not-a-task"), INVALID_TASK)


def test_describe_task_of_another_platform(server, api, mnp_id, packages):
    task = api.create_version(mnp_id, "1.0.0", packages.mini_program)
    api.wait_task(task)
    # Another platform of the same account does not see it...
    second = server.create_platform(server.creds.secret_id)["PlatformId"]
    expect_error(lambda: api.describe_task(task, platform_id=second), INVALID_TASK, task)
    # ...and another account cannot ask through our platform.
    other = server.create_account()
    expect_error(lambda: server.api(other).describe_task(task), INVALID_PLATFORM)


# ---------------------------------------------------------------------------
# Packages that fail in the task
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", harness.BROKEN_PACKAGE_NAMES)
def test_broken_package_fails_with_a_useful_message(api, packages, broken_packages, name):
    broken = broken_packages[name]
    mnp = api.create_mnp()
    url = packages.fresh_url(broken.data)
    data = api.wait_task(api.create_version(mnp, "1.0.0", url, intro=broken.name))
    msg = data.get("TaskMsg") or ""
    assert data["TaskStatus"] == TASK_FAILED, f"{name}: expected 30, got {data}"
    assert msg.strip() and msg != "Success", f"{name}: empty TaskMsg: {data}"
    for culprit in broken.culprit:
        assert culprit.lower() in msg.lower(), f"{name}: TaskMsg should name {culprit!r}: {msg!r}"
    if broken.any_of:
        assert any(w in msg.lower() for w in broken.any_of), (
            f"{name}: TaskMsg should say one of {broken.any_of}: {msg!r}")
    # The failed version number is free again: a good package takes it.
    good = api.wait_task(api.create_version(mnp, "1.0.0", packages.mini_program,
                                            intro=broken.name))
    assert good["TaskStatus"] == TASK_SUCCEEDED and good["TaskMsg"] == "Success", (
        f"{name}: 1.0.0 with a good package after the failure gave {good}")


COLLIDING = {
    # extra entries, and the names (or name prefixes) TaskMsg must quote
    "case": ({"App.json": b"{}"}, ("app.json", "App.json")),
    "nfc-nfd": ({"images/caf\u00e9.png": b"a", "images/cafe\u0301.png": b"b"},
                ("images/caf\u00e9.png",)),
    "trailing-dot": ({"app.js.": b"x"}, ("app.js", "app.js.")),
    "trailing-space": ({"app.js ": b"x"}, ("app.js", "app.js ")),
    "file-and-folder": ({"Pages/index": b"a file"}, ("Pages/index", "pages/index/")),
}


@pytest.mark.parametrize("case", COLLIDING, ids=COLLIDING.keys())
def test_names_that_collide_ignoring_case_fail_naming_both(api, packages, case):
    """Names a case-insensitive or normalisation-insensitive file system
    extracts to one path: the device could run a file other than the one
    validated. TaskMsg quotes both entries and says what to do."""
    extra, culprits = COLLIDING[case]
    files = harness.mini_program_files()
    files.update(extra)
    # Without folder entries, so that "Pages/index" meets the folder that
    # "pages/index/index.js" implies, not an entry "Pages/".
    url = packages.fresh_url(harness.zip_bytes(files, dirs=False))
    data = api.wait_task(api.create_version(api.create_mnp(), "1.0.0", url))
    msg = data.get("TaskMsg") or ""
    assert data["TaskStatus"] == TASK_FAILED, f"{case}: {data}"
    for name in culprits:
        # An opening quote, then the name (or the start of one inside it).
        quoted = json.dumps(name, ensure_ascii=False)[:-1]
        assert quoted in msg, f"{case}: TaskMsg should quote {quoted}: {msg!r}"
    assert "case-insensitive" in msg and "rename one of them" in msg, msg


def test_failed_task_does_not_block_lower_versions(api, mnp_id, packages):
    bad = packages.fresh_url(b"not a zip at all")
    data = api.wait_task(api.create_version(mnp_id, "9.0.0", bad))
    assert data["TaskStatus"] == TASK_FAILED, data
    # 9.0.0 failed, so it is not "an existing version" for the ordering rule.
    api.version_succeeds(mnp_id, "1.0.0", packages.mini_program)
