"""Isolation between accounts, generated over the action catalog.

Account A owns real resources in every stage of docs/lifecycle.md (a mini
program with released, online, approved, preview/trial and in-approval
versions, host applications, approvals, a task). Account B (another
`mnpd admin account create`, with a platform of its own) then calls every
action of spec/tcmpp-2024-08-01.json. Each request is the spec's own example
request for the action (required fields the example lacks filled from the
spec), with A's resource ids substituted for the ids it names:

  (a) with A's PlatformId: `InvalidParameterValue.InvalidPlatformId`;
  (b) with B's own PlatformId: the not-found code of one of A's ids the
      request names (InvalidMNPId, InvalidMNPVersionId, InvalidApprovalNo,
      InvalidApplicationId, InvalidTeamId, InvalidMNPVersionTaskId, and
      FailedOperation.RecordNotFound for a sensitive APIId); a
      listing may instead succeed, showing none of A's data;
  (c) with B's own PlatformId and B's own resources for every id but one,
      which is A's (B's mini program with A's version, B's approval with
      A's application, ...): the not-found code of A's id.

A listing of B's platform filtered by one of A's resources must also come
back empty (a filter that is ignored would list B's rows as matches).

No answer to B may carry A's data, and A's state (listings, details,
stages, online version, history, approvals, previews, applications, task) is
the same after each action as before. Actions without a handler answer
UnsupportedOperation. An action whose request has no PlatformId (upload
credentials) concerns the caller's account alone: its answer to B must
carry nothing of A's. The actions covered are written to
`tests/conformance/.results/isolation.json`.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass

import pytest

import harness

SPEC = harness.load_spec()
CATALOG = sorted(SPEC["actions"])
RESULTS = harness.HERE / ".results" / "isolation.json"

INVALID_PLATFORM = "InvalidParameterValue.InvalidPlatformId"
UNSUPPORTED = "UnsupportedOperation"

# The resource id fields of the catalog, and the code that says "no such
# resource here" for each.
NOT_FOUND = {
    "MNPId": "InvalidParameterValue.InvalidMNPId",
    "MNPVersionId": "InvalidParameterValue.InvalidMNPVersionId",
    "ApprovalNo": "InvalidParameterValue.InvalidApprovalNo",
    "AuditNo": "InvalidParameterValue.InvalidApprovalNo",
    "ApplicationId": "InvalidParameterValue.InvalidApplicationId",
    "AppId": "InvalidParameterValue.InvalidApplicationId",
    "TeamId": "InvalidParameterValue.InvalidTeamId",
    "BusinessId": "InvalidParameterValue.InvalidMNPVersionTaskId",
    "TaskId": "InvalidParameterValue.InvalidMNPVersionTaskId",
    "APIId": "FailedOperation.RecordNotFound",
    "ApiId": "FailedOperation.RecordNotFound",
}
# In a request naming one of B's approvals, an application the approval does
# not cover is "not in this approval".
MIXED_ALSO = {
    "AppId": {"InvalidParameterValue.ProcessApplicationAndApprovalApplicationMismatch"},
    "ApplicationId": {"InvalidParameterValue.ProcessApplicationAndApprovalApplicationMismatch"},
}
# Not ids, but they must agree with the MNPVersionId they go with.
COMPANIONS = {"MNPVersion"}

# What this module found, for the results file.
COVERAGE: dict = {"covered": {}, "platform_only": [], "account_only": [], "unsupported": [],
                  "leaks": {}, "answers": {}}


# ---------------------------------------------------------------------------
# Account A's resources
# ---------------------------------------------------------------------------


@dataclass
class Owner:
    """Account A: its platform and the resources it owns."""
    api: harness.Api
    platform_id: str
    team_id: str
    mnp: str
    mnp_name: str
    spare_mnp: str
    apps: dict  # ApplicationId -> name
    bound_app: str
    free_app: str
    versions: dict  # label -> (MNPVersionId, MNPVersion)
    open_no: str
    approved_no: str
    task: str
    url: str
    api_id: str  # a restricted sensitive API the mini program is granted
    sensitive_no: str  # the permission request that granted it

    def tokens(self) -> set:
        """Strings that only A's data contains."""
        return {self.platform_id, self.team_id, self.mnp, self.mnp_name, self.spare_mnp,
                self.open_no, self.approved_no, self.task, *self.apps, *self.apps.values(),
                self.api_id, self.sensitive_no}


def stages(api: harness.Api, mnp: str) -> dict:
    rows = api.call("DescribeMNPAllStageVersions",
                    {"MNPId": mnp, "PlatformId": api.platform_id})["Data"]
    return {r["Phase"]: r for r in rows}


def new_version(api: harness.Api, mnp: str, number: str, url: str):
    task = api.create_version(mnp, number, url, intro=f"isolation {number}")
    data = api.wait_task(task)
    assert data["TaskStatus"] == harness.TASK_SUCCEEDED, data
    develop = stages(api, mnp)["Develop"]
    assert develop["MNPVersion"] == number, develop
    return develop["MNPVersionId"], task


def submit(api: harness.Api, mnp: str, vid: int) -> str:
    api.call("CreateMNPApproval", {"MNPVersionId": vid, "ApplyAction": "submit",
                                   "PlatformId": api.platform_id})
    platform = stages(api, mnp)["Platform"]
    assert platform["MNPVersionId"] == vid, platform
    return platform["ApprovalNo"]


def approve(api: harness.Api, mnp: str, vid: int, apps) -> str:
    no = submit(api, mnp, vid)
    api.call("ProcessMNPApproval", {"ApprovalNo": no, "PlatformId": api.platform_id,
                                    "ApprovalItems": [{"AppId": a, "ApprovalResult": 3}
                                                      for a in apps]})
    return no


def restricted_api(api: harness.Api, app: str, name: str) -> str:
    api.call("CreateApplicationSensitiveAPI", {"ApplicationId": app, "PlatformId": api.platform_id,
                                               "APIList": [{"APIName": name, "APIType": 1}]})
    api_id = api.call("DescribeApplicationSensitiveAPIList", {
        "ApplicationId": app, "PlatformId": api.platform_id, "Offset": 0,
        "Limit": 1})["Data"]["DataList"][0]["APIId"]
    api.call("EnableApplicationSensitiveAPI", {"APIId": api_id, "PlatformId": api.platform_id})
    return api_id


def create_app(api: harness.Api, team_id: str, name: str) -> str:
    return api.call("CreateApplication", {
        "ApplicationName": name, "Logo": f"https://cdn.example.com/{name}.png",
        "PlatformId": api.platform_id, "TeamId": team_id, "ApplicationType": 2,
        "Intro": f"host application {name}"})["Data"]["ResourceId"]


@pytest.fixture(scope="module")
def owner(server, packages) -> Owner:
    creds = server.create_account()
    platform = server.create_platform(creds.secret_id)
    api = server.api(creds, platform["PlatformId"])
    team = platform["TeamId"]
    url = packages.mini_program
    names = {}
    for tag in ("a", "b"):
        name = harness.unique_name(f"iso-app-{tag}")
        names[create_app(api, team, name)] = name
    mnp_name = harness.unique_name("iso-owner")
    mnp = api.create_mnp(MNPName=mnp_name)
    spare = api.create_mnp(MNPName=harness.unique_name("iso-spare"))
    versions = {}
    v1, _ = new_version(api, mnp, "1.0.0", url)
    approve(api, mnp, v1, names)
    api.call("ReleaseMNPVersion", {"MNPVersionId": v1, "PlatformId": api.platform_id})
    v2, _ = new_version(api, mnp, "1.1.0", url)
    approve(api, mnp, v2, names)
    api.call("ReleaseMNPVersion", {"MNPVersionId": v2, "PlatformId": api.platform_id})
    v3, _ = new_version(api, mnp, "1.2.0", url)
    approved_no = approve(api, mnp, v3, names)
    api.call("ConfigureMNPPreview", {"MNPId": mnp, "MNPVersionId": v3, "ActionType": 1,
                                     "PlatformId": api.platform_id})
    api.call("ModifyMNPVersionPreview", {"MNPId": mnp, "MNPVersionId": v3, "ActionType": 1,
                                         "PlatformId": api.platform_id})
    v4, task = new_version(api, mnp, "1.3.0", url)
    open_no = submit(api, mnp, v4)
    # An application no approval covers (deleting it would succeed for A).
    free_name = harness.unique_name("iso-app-free")
    free_app = create_app(api, team, free_name)
    names[free_app] = free_name
    versions = {"released": (v1, "1.0.0"), "approved": (v3, "1.2.0"),
                "in-approval": (v4, "1.3.0"), "online": (v2, "1.1.0")}
    api_id = restricted_api(api, next(iter(names)), "getLocation")
    sensitive_no = api.call("CreateMNPSensitiveAPIPermissionApproval", {
        "APIId": api_id, "MNPId": mnp, "ApplyReason": "isolation",
        "PlatformId": api.platform_id})["Data"]["ResourceId"]
    api.call("ProcessMNPSensitiveAPIPermissionApproval", {
        "ApprovalNo": sensitive_no, "ApprovalStatus": 30, "PlatformId": api.platform_id})
    return Owner(api, api.platform_id, team, mnp, mnp_name, spare, names,
                 next(iter(names)), free_app, versions, open_no, approved_no, task, url,
                 api_id, sensitive_no)


@dataclass
class Intruder:
    """Account B: its own platform, a mini program with one version in
    approval, a host application and a task; its own ids stand next to one of
    A's in the mixed requests."""
    api: harness.Api
    platform_id: str
    values: dict  # id field name -> B's own value

    @property
    def client(self):
        return self.api.client


@pytest.fixture(scope="module")
def intruder(server, packages) -> Intruder:
    creds = server.create_account()
    platform = server.create_platform(creds.secret_id)
    api = server.api(creds, platform["PlatformId"])
    app = create_app(api, platform["TeamId"], harness.unique_name("iso-b-app"))
    mnp = api.create_mnp(MNPName=harness.unique_name("iso-intruder"))
    vid, task = new_version(api, mnp, "1.0.0", packages.mini_program)
    open_no = submit(api, mnp, vid)
    b_api = restricted_api(api, app, "getLocation")
    values = {"APIId": b_api, "ApiId": b_api, "MNPId": mnp, "MNPVersionId": vid, "MNPVersion": "1.0.0", "ApprovalNo": open_no,
              "AuditNo": open_no, "ApplicationId": app, "AppId": app,
              "TeamId": platform["TeamId"], "BusinessId": task, "TaskId": task}
    return Intruder(api, platform["PlatformId"], values)


def snapshot(o: Owner) -> list:
    """Everything of A's that another account's call could change."""
    p = o.platform_id
    calls = [
        ("DescribeMNPList", {"Offset": 0, "Limit": 1000, "PlatformId": p}),
        ("DescribeMNPDetail", {"MNPId": o.mnp, "PlatformId": p}),
        ("DescribeMNPDetail", {"MNPId": o.spare_mnp, "PlatformId": p}),
        ("DescribeMNPAllStageVersions", {"MNPId": o.mnp, "PlatformId": p}),
        ("DescribeOnlineVersion", {"MNPId": o.mnp, "PlatformId": p}),
        ("DescribeMNPReleasedVersionHistory", {"MNPId": o.mnp, "PlatformId": p}),
        ("DescribeMNPApprovalList", {"Offset": 0, "Limit": 1000, "PlatformId": p}),
        ("DescribeMNPPreview", {"MNPId": o.mnp, "MNPVersionId": o.versions["approved"][0],
                                "PlatformId": p}),
        ("DescribeMNPVersionPreview", {"MNPId": o.mnp,
                                       "MNPVersionId": o.versions["approved"][0],
                                       "PlatformId": p}),
        ("DescribeApplicationList", {"Offset": 0, "Limit": 1000, "PlatformId": p}),
        ("DescribeMNPVersion", {"BusinessId": o.task, "PlatformId": p}),
        ("DescribeSensitiveAPIList", {"Offset": 0, "Limit": 1000, "PlatformId": p}),
        ("DescribeMNPSensitiveAPIPermissionApprovalList",
         {"Offset": 0, "Limit": 1000, "PlatformId": p}),
        ("DescribeMNPSensitiveAPIPermissionList",
         {"MNPId": o.mnp, "Offset": 0, "Limit": 1000, "PlatformId": p}),
    ] + [("DescribeApplication", {"ApplicationId": a, "PlatformId": p}) for a in sorted(o.apps)]
    out = []
    for action, params in calls:
        resp = o.api.call(action, params)
        out.append((action, {k: v for k, v in resp.items() if k != "RequestId"}))
    return out


@pytest.fixture(scope="module")
def initial_state(owner) -> list:
    return snapshot(owner)


# ---------------------------------------------------------------------------
# Requests from the spec's examples
# ---------------------------------------------------------------------------


def kind(f: dict) -> str:
    if f["type"] == "list":
        return "list:object" if f.get("member") in SPEC["objects"] else "list"
    return f["type"]


def default_value(f: dict):
    return {"string": "isolation", "int": 1, "float": 1.0, "bool": False}.get(kind(f), [])


def input_fields(action: str) -> list:
    return SPEC["objects"][SPEC["actions"][action]["input"]]


def example_request(action: str) -> dict:
    """The spec's example request; required fields it lacks are filled, and
    placeholder values that make the request invalid for every caller are
    replaced by valid ones of the same kind: pagination (Offset 0, Limit
    100), an empty Keyword (the broadest listing), 0 in an integer field
    (the examples' "unset" placeholder) by 1, a URL by a valid one."""
    examples = SPEC["examples"].get(action) or [{}]
    req = copy.deepcopy(examples[0].get("request", {}))
    if not isinstance(req, dict):
        req = {}
    for f in input_fields(action):
        name = f["name"]
        if f["required"] and name not in req:
            req[name] = default_value(f)
        if name not in req:
            continue
        if name == "Offset":
            req[name] = 0
        elif name == "Limit":
            req[name] = 100
        elif name == "Keyword":
            req[name] = ""
        elif f["type"] == "int" and req[name] == 0:
            req[name] = 1
        elif f["type"] == "string" and str(req[name]).startswith("http"):
            req[name] = f"https://cdn.example.com/isolation/{name}.png"
    return req


def id_fields(action: str) -> list:
    """Paths of the id fields of the action's request (nested ones of
    list-of-object fields under index 0), including optional ones."""
    out = []
    for f in input_fields(action):
        if f["name"] in NOT_FOUND or f["name"] in COMPANIONS:
            out.append((f["name"],))
        if kind(f) == "list:object":
            for m in SPEC["objects"][f["member"]]:
                if m["name"] in NOT_FOUND:
                    out.append((f["name"], 0, m["name"]))
    return out


VARIANTS = ["released", "approved", "in-approval"]


def owner_value(o: Owner, name: str, variant: int):
    """A's value for an id field in one variant of the request: the version
    ids run through a released, an approved (preview/trial) and an
    in-approval version; the approval numbers through the one in progress
    and an approved one, then a sensitive API permission request; the
    application ids through a free one and one
    that approvals cover."""
    label = VARIANTS[variant % len(VARIANTS)]
    return {
        "MNPId": o.mnp,
        "MNPVersionId": o.versions[label][0],
        "MNPVersion": o.versions[label][1],
        "ApprovalNo": (o.open_no, o.approved_no, o.sensitive_no)[variant % 3],
        "AuditNo": (o.open_no, o.approved_no, o.sensitive_no)[variant % 3],
        "APIId": o.api_id,
        "ApiId": o.api_id,
        "ApplicationId": (o.free_app, o.bound_app)[variant % 2],
        "AppId": o.bound_app,
        "TeamId": o.team_id,
        "BusinessId": o.task,
        "TaskId": o.task,
    }[name]


def set_path(obj: dict, path: tuple, value):
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(key, int):
            while len(obj) <= key:
                obj.append({})
            if not isinstance(obj[key], dict):
                obj[key] = {}
            obj = obj[key]
        else:
            want = list if isinstance(nxt, int) else dict
            if not isinstance(obj.get(key), want) or (want is list and not obj[key]):
                obj[key] = [{}] if want is list else {}
            obj = obj[key]
    obj[path[-1]] = value


def requests_for(action: str, o: Owner) -> list:
    """The distinct requests naming A's resources (without PlatformId)."""
    base = example_request(action)
    paths = id_fields(action)
    out = []
    for variant in range(len(VARIANTS)):
        req = copy.deepcopy(base)
        for path in paths:
            set_path(req, path, owner_value(o, path[-1], variant))
        if req not in out:
            out.append(req)
    return out


def mixed_requests(action: str, o: Owner, b: Intruder) -> list:
    """(A's field, request) for requests naming two or more resources: one
    of them A's, every other one B's own (B's mini program with A's version,
    B's approval with A's application, ...)."""
    paths = id_fields(action)
    ids = [p for p in paths if p[-1] in NOT_FOUND]
    if len(ids) < 2:
        return []
    out = []
    for foreign in ids:
        for variant in range(len(VARIANTS)):
            req = example_request(action)
            for path in paths:
                name = path[-1]
                owner_side = path == foreign or (
                    name in COMPANIONS and foreign[-1] == "MNPVersionId")
                set_path(req, path, owner_value(o, name, variant) if owner_side
                         else b.values[name])
            if (foreign[-1], req) not in out:
                out.append((foreign[-1], req))
    return out


def is_listing(action: str) -> bool:
    names = {f["name"] for f in input_fields(action)}
    return {"Offset", "Limit"} <= names


def acceptable_codes(action: str) -> set:
    return {NOT_FOUND[path[-1]] for path in id_fields(action) if path[-1] in NOT_FOUND}


def empty_listing(text: str) -> bool:
    """A successful listing's answer lists nothing: a filter on a resource of
    another account matches no row of the caller's platform."""
    data = json.loads(text)["Response"].get("Data")
    return isinstance(data, dict) and data.get("TotalCount") == 0 and not data.get("DataList")


def call(api: harness.Api, action: str, params: dict):
    """(code or None, raw Response text)."""
    try:
        out = api.client.call_json(action, params)
        return None, json.dumps(out)
    except harness.TencentCloudSDKException as e:
        return e.get_code(), f"{e.get_code()}: {e.get_message()}"


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", CATALOG)
def test_another_account_cannot_reach_a_resource(owner, intruder, initial_state, action):
    before = snapshot(owner)
    if "PlatformId" not in {f["name"] for f in input_fields(action)}:
        # Nothing to name but the caller's own account (upload credentials):
        # B's call is about B alone. test_upload.py checks that what B gets
        # reaches nothing of A's.
        code, text = call(intruder, action, example_request(action))
        if code == UNSUPPORTED:
            COVERAGE["unsupported"].append(action)
            return
        COVERAGE["account_only"].append(action)
        leaked = sorted(t for t in owner.tokens() if t and t in text)
        assert not leaked, f"{action}: answer carries A's {leaked}: {text[:300]}"
        assert snapshot(owner) == before, f"{action}: A's state changed"
        return
    requests_ = requests_for(action, owner)
    has_ids = any(path[-1] in NOT_FOUND for path in id_fields(action))
    wrong = []
    answers = COVERAGE["answers"].setdefault(action, {"a": [], "b": []})

    def leaked(request: dict, text: str) -> list:
        sent = json.dumps(request)
        return sorted(t for t in owner.tokens() if t and t in text and t not in sent)

    for req in requests_:
        # (a) A's platform.
        params = dict(req, PlatformId=owner.platform_id)
        code, text = call(intruder, action, params)
        if code == UNSUPPORTED:
            continue
        answers["a"].append(code or "success")
        if code != INVALID_PLATFORM:
            wrong.append(f"(a) {json.dumps(params)[:300]} -> {code or 'success'}: {text[:300]}")
        if leaked(params, text):
            wrong.append(f"(a) answer carries A's {leaked(params, text)}: {text[:300]}")
        if not has_ids:
            continue
        # (b) B's own platform, A's resource ids.
        params = dict(req, PlatformId=intruder.platform_id)
        code, text = call(intruder, action, params)
        answers["b"].append(code or "success")
        allowed = acceptable_codes(action)
        if code is None and is_listing(action):
            pass  # B's own rows at most: checked for A's data below
        elif code not in allowed:
            wrong.append(f"(b) {json.dumps(params)[:300]} -> {code or 'success'} "
                         f"(expected one of {sorted(allowed)}): {text[:300]}")
        if leaked(params, text):
            wrong.append(f"(b) answer carries A's {leaked(params, text)}: {text[:300]}")

    # (c) B's own platform and resources, with one of A's ids among them.
    for foreign, req in mixed_requests(action, owner, intruder):
        params = dict(req, PlatformId=intruder.platform_id)
        code, text = call(intruder, action, params)
        if code == UNSUPPORTED:
            break
        answers.setdefault("c", []).append(f"{foreign}: {code or 'success'}")
        allowed = {NOT_FOUND[foreign]} | MIXED_ALSO.get(foreign, set())
        if code is None and is_listing(action):
            pass  # B's own rows at most: checked for A's data below
        elif code not in allowed:
            wrong.append(f"(c) A's {foreign} among B's ids: {json.dumps(params)[:300]} -> "
                         f"{code or 'success'} (expected one of {sorted(allowed)}): "
                         f"{text[:300]}")
        if leaked(params, text):
            wrong.append(f"(c) answer carries A's {leaked(params, text)}: {text[:300]}")

    codes = {call(intruder, action, {})[0]}
    if codes == {UNSUPPORTED}:
        COVERAGE["unsupported"].append(action)
    elif has_ids:
        COVERAGE["covered"][action] = len(requests_)
    else:
        COVERAGE["platform_only"].append(action)
    after = snapshot(owner)
    if after != before:
        changed = [b[0] for b, a in zip(before, after) if a != b]
        wrong.append(f"A's state changed: {changed}")
    if wrong:
        COVERAGE["leaks"][action] = wrong
    assert not wrong, f"{action}:\n" + "\n".join(wrong)


LISTINGS = [a for a in CATALOG if is_listing(a)]


@pytest.mark.parametrize("action", LISTINGS)
def test_listing_filtered_by_another_accounts_resource_is_empty(owner, intruder, action):
    """A listing of B's own platform (and B's own resources for the other
    ids it names) filtered by one of A's resources (a team, a host
    application) matches nothing: no row of B's platform
    belongs to it. Ignoring the filter would list B's rows as if they
    matched. (Not a leak of A's data, which the test above checks; a filter
    that does not filter.)"""
    wrong = []
    filters = [f["name"] for f in input_fields(action) if f["name"] in NOT_FOUND]
    for name in filters:
        for variant in range(2):
            params = dict(example_request(action), PlatformId=intruder.platform_id)
            # Every other id the request names is B's own (B's mini program
            # filtered by A's application, ...).
            for other in filters:
                if other != name and other in params and other in intruder.values:
                    params[other] = intruder.values[other]
            params[name] = owner_value(owner, name, variant)
            code, text = call(intruder, action, params)
            if code == UNSUPPORTED:
                return
            if code is None and not empty_listing(text):
                wrong.append(f"{name}={params[name]} listed rows: {text[:400]}")
            elif code is not None and code != NOT_FOUND[name]:
                wrong.append(f"{name}={params[name]}: {text[:300]}")
    assert not wrong, f"{action}:\n" + "\n".join(wrong)


def test_zz_coverage_and_owner_state(owner, initial_state):
    """A's state at the end is what it was before any intruder call, and
    every action with a handler was covered."""
    assert snapshot(owner) == initial_state, "A's state changed during the module"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "covered_actions": len(COVERAGE["covered"]),
        "covered": COVERAGE["covered"],
        "platform_only": sorted(COVERAGE["platform_only"]),
        "account_only": sorted(COVERAGE["account_only"]),
        "unsupported": len(COVERAGE["unsupported"]),
        "leaks": COVERAGE["leaks"],
        "answers": {a: v for a, v in COVERAGE["answers"].items() if v["a"]},
        "backend": harness.BACKEND,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")
    seen = len(COVERAGE["covered"]) + len(COVERAGE["platform_only"]) + len(
        COVERAGE["account_only"]) + len(COVERAGE["unsupported"])
    assert seen == len(CATALOG), f"only {seen} of {len(CATALOG)} actions ran"
    assert len(COVERAGE["covered"]) >= 30, COVERAGE["covered"]
