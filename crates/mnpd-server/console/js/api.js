// The TCMPP API as the official SDKs call it: a POST of a JSON body to the
// server's root, with the X-TC-* headers and a TC3-HMAC-SHA256
// Authorization header. There is no private endpoint: whatever the console
// does, an SDK or tccli can do the same way. A signed-in user's calls are
// the same requests with the session cookie and the console's header
// instead of a signature (docs/console.md, "Roles in the console").

import { authorization } from "./tc3.js";
import * as session from "./session.js";

export const SERVICE = "tcmpp";
export const API_VERSION = "2024-08-01";
// mnpd's own actions (gradual releases) answer on the same endpoint under
// their own version (docs/host-apps.md); the console calls them by name
// like any other action.
export const EXTENSION_VERSION = "2026-12-01";
const EXTENSION_ACTIONS = new Set([
  "CreateGradualRelease",
  "ModifyGradualRelease",
  "PauseGradualRelease",
  "ResumeGradualRelease",
  "HaltGradualRelease",
  "PromoteGradualRelease",
  "DescribeGradualRelease",
  "DescribeGradualReleaseList",
  "DescribeInstallReport",
  "DescribePackageSigningKeys",
  "RotatePackageSigningKey",
]);

export class ApiError extends Error {
  constructor(code, message, { requestId = "", action = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.requestId = requestId;
    this.action = action;
  }

  /** A plain-words explanation for the codes people meet most. */
  get hint() {
    return HINTS[this.code] || "";
  }
}

const HINTS = {
  "AuthFailure.SignatureFailure":
    "The SecretKey does not match this SecretId. Check both and sign in again.",
  "AuthFailure.SecretIdNotFound":
    "mnpd knows no enabled key with this SecretId (`mnpd admin key list` shows them).",
  "AuthFailure.SignatureExpire":
    "This device's clock is more than 5 minutes away from the server's. Set the clock right and retry.",
  "AuthFailure.InvalidAuthorization": "The request's signature header was refused.",
  "InvalidParameterValue.InvalidPlatformId":
    "No platform with this id belongs to your account (`mnpd admin platform list` shows them).",
  "InvalidParameterValue.InvalidMNPVersion":
    "Versions are MAJOR.MINOR.PATCH and must be greater than every version of the mini program that did not fail.",
  "FailedOperation.FileDownloadFailed":
    "mnpd could not download the package from that URL. It must be reachable from the server.",
  "FailedOperation.ExistMNPApprovalRecord":
    "This mini program already has an approval in progress: decide or withdraw it first.",
  "FailedOperation.OnlyReleasePlatformApprovedMNPVersion":
    "Only a version whose latest approval was approved can be released.",
  "FailedOperation.MNPVersionReleased": "That version was released before.",
  "FailedOperation.ReleaseMNPVersionNeedGreaterThanOnlineVersion":
    "A release must be greater than the version online now.",
  "FailedOperation.ShowcaseVersionAlreadyExist":
    "Another version is the preview version: stop its preview first.",
  "FailedOperation.MNPOnlineVersionNotExist": "Nothing is online yet.",
  RequestLimitExceeded: "Too many requests per second: wait a moment and retry.",
  ResourceUnavailable: "mnpd's storage cannot be reached right now: retry shortly.",
  UnsupportedOperation: "mnpd does not implement this action yet.",
  UnauthorizedOperation:
    "Your roles do not allow this action. A team admin can give you a role with the permission named above.",
};

/** Fired when the server says a user's session is over: the shell returns to sign-in. */
export const SESSION_ENDED = "mnpd:session-ended";

/** The API's address: the root of the server the console came from (also behind a path prefix). */
export function apiUrl() {
  const path = location.pathname;
  const at = path.lastIndexOf("/console");
  return `${at > 0 ? path.slice(0, at) : ""}/`;
}

/** A same-origin address of a link mnpd made under its public URL (QR codes). */
export function servedPath(url, marker) {
  const at = url.indexOf(marker);
  return at >= 0 ? `${apiUrl().slice(0, -1)}${url.slice(at)}` : url;
}

// Seconds to add to this device's clock, learnt from the server's Date
// header when a signature was refused as expired (a phone with a wrong clock).
let clockOffset = 0;

/**
 * Calls `action` with `params` and returns its `Response` (without error),
 * or throws an ApiError with the TencentCloud error code and message.
 */
export async function call(action, params = {}, creds = session.load()) {
  try {
    return await attempt(action, params, creds);
  } catch (err) {
    if (err.code === "AuthFailure.SignatureExpire" && err.serverTime) {
      const offset = err.serverTime - Math.floor(Date.now() / 1000);
      if (Math.abs(offset - clockOffset) > 60) {
        clockOffset = offset;
        return attempt(action, params, creds);
      }
    }
    throw err;
  }
}

async function attempt(action, params, creds) {
  if (!creds) throw new ApiError("Console.SignedOut", "Sign in first.", { action });
  const payload = JSON.stringify(params);
  const timestamp = Math.floor(Date.now() / 1000) + clockOffset;
  const contentType = "application/json";
  const byUser = creds.kind === "user";
  const headers = {
    "Content-Type": contentType,
    "X-TC-Action": action,
    "X-TC-Version": EXTENSION_ACTIONS.has(action) ? EXTENSION_VERSION : API_VERSION,
    "X-TC-Timestamp": String(timestamp),
    "X-TC-RequestClient": "mnpd-console",
  };
  if (byUser) {
    headers["X-Mnpd-Console"] = "1";
  } else {
    headers.Authorization = await authorization({
      secretId: creds.secretId,
      secretKey: creds.secretKey,
      service: SERVICE,
      host: location.host,
      contentType,
      payload,
      timestamp,
    });
  }
  if (creds.region) headers["X-TC-Region"] = creds.region;

  let res;
  try {
    res = await fetch(apiUrl(), {
      method: "POST",
      headers,
      body: payload,
      // The cookie goes only with a user's calls: a signed call carries none.
      credentials: byUser ? "same-origin" : "omit",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch (e) {
    throw new ApiError("Console.NetworkError", `mnpd could not be reached: ${e.message}`, {
      action,
    });
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(
      "Console.BadResponse",
      `HTTP ${res.status} ${res.statusText}: the answer is not a TencentCloud API response`,
      { action },
    );
  }
  const r = body && body.Response;
  if (!r || typeof r !== "object") {
    throw new ApiError("Console.BadResponse", "The answer has no Response object.", { action });
  }
  if (r.Error) {
    const err = new ApiError(r.Error.Code || "Unknown", r.Error.Message || "", {
      requestId: r.RequestId || "",
      action,
    });
    if (byUser && err.code === "AuthFailure") {
      err.sessionEnded = true;
      window.dispatchEvent(new CustomEvent(SESSION_ENDED, { detail: { message: err.message } }));
    }
    const date = Date.parse(res.headers.get("Date") || "");
    if (!Number.isNaN(date)) err.serverTime = Math.floor(date / 1000);
    throw err;
  }
  return r;
}

/** `call` with the current platform's id added. */
export function onPlatform(action, params = {}) {
  return call(action, { ...params, PlatformId: session.platformId() });
}
