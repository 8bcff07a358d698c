// What the console remembers. Two kinds of sign-in:
// - an API key pair, kept in sessionStorage only: gone when the tab closes,
//   and no other tab or page sees it;
// - a user, whose session is the server's HttpOnly cookie: the page keeps
//   only what GET /console/session answered (name, roles, the actions the
//   roles do not allow), in memory, and asks again at each load.
// Platform ids and the tasks being followed are not secret: they stay in
// localStorage so that they survive a new sign-in.

const SESSION = "mnpd.console.session";
const PLATFORMS = "mnpd.console.platforms";
// Set while a user of this browser is signed in: a page load asks the
// server for the session only then (the cookie itself is out of the page's
// reach), and a session found over is told as "ended", not met with a bare
// sign-in page. It holds nothing but "1".
const USER_MARK = "mnpd.console.user";
const CONSOLE_HEADER = { "X-Mnpd-Console": "1" };

function readJson(storage, key, fallback) {
  try {
    const raw = storage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

let user = null;

/**
 * The current sign-in or null: `{kind: "key", secretId, secretKey, region,
 * platformId}` or `{kind: "user", user, platformId}`.
 */
export function load() {
  if (user) return { kind: "user", user, platformId: user.PlatformId };
  const s = readJson(sessionStorage, SESSION, null);
  return s && s.secretId && s.secretKey ? { ...s, kind: "key" } : null;
}

export function save(session) {
  const { secretId, secretKey, region, platformId } = session;
  sessionStorage.setItem(SESSION, JSON.stringify({ secretId, secretKey, region, platformId }));
}

/** Forgets the sign-in in this tab (the server's session: see signOut). */
export function clear() {
  sessionStorage.removeItem(SESSION);
  // Only a user's sign-out: an API key's in another tab leaves it be.
  if (user) localStorage.removeItem(USER_MARK);
  user = null;
}

/** Whether `action` is allowed: an API key may do all; a user what the roles grant. */
export function may(action) {
  return !(user && user.DeniedActions && Object.hasOwn(user.DeniedActions, action));
}

/** The permission a user lacks for `action`, or "" when allowed. */
export function missingPermission(action) {
  return may(action) ? "" : user.DeniedActions[action];
}

function sessionUrl(path = "") {
  const at = location.pathname.lastIndexOf("/console");
  return `${at > 0 ? location.pathname.slice(0, at) : ""}/console/session${path}`;
}

async function sessionCall(method, path, body) {
  const res = await fetch(sessionUrl(path), {
    method,
    headers: body ? { ...CONSOLE_HEADER, "Content-Type": "application/json" } : CONSOLE_HEADER,
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
    cache: "no-store",
    redirect: "error",
    referrerPolicy: "no-referrer",
  });
  let answer = null;
  if (res.status !== 204) {
    try {
      answer = await res.json();
    } catch {
      answer = null;
    }
  }
  return { status: res.status, answer };
}

function signedIn(u) {
  user = u;
  sessionStorage.removeItem(SESSION);
  localStorage.setItem(USER_MARK, "1");
  rememberPlatform(u.PlatformId);
}

/**
 * At page load: the user of a live session cookie, if any. Answers
 * `{ended: true}` when this tab had a user whose session is over now.
 */
export async function restore() {
  if (load() || localStorage.getItem(USER_MARK) !== "1") return {};
  let r;
  try {
    r = await sessionCall("GET", "");
  } catch {
    return {};
  }
  if (r.status === 200 && r.answer && r.answer.User) {
    signedIn(r.answer.User);
    return {};
  }
  if (r.status !== 401) return {};
  localStorage.removeItem(USER_MARK);
  return { ended: true };
}

/**
 * Signs a user in: a one-use key from the server, the password encrypted
 * with it here, then the session (its cookie is set by the answer).
 * Throws `{code, message}` as the server refused.
 */
export async function signInUser(account, password, encrypt) {
  const k = await sessionCall("POST", "/key");
  if (k.status !== 200 || !k.answer || !k.answer.KeyId) throw refusal(k);
  const sealed = await encrypt(k.answer.KeyId, password);
  const r = await sessionCall("POST", "", { Account: account, KeyId: k.answer.KeyId, Password: sealed });
  if (r.status !== 200 || !r.answer || !r.answer.User) throw refusal(r);
  signedIn(r.answer.User);
  return r.answer.User;
}

function refusal({ status, answer }) {
  const e = (answer && answer.Error) || {};
  const err = new Error(e.Message || `HTTP ${status}`);
  err.code = e.Code || `HTTP ${status}`;
  return err;
}

/** Ends the user's session on the server (the cookie dies with it), then forgets it here. */
export async function signOut() {
  const wasUser = Boolean(user);
  clear();
  if (wasUser) {
    try {
      await sessionCall("DELETE", "");
    } catch {
      // The page forgets the user anyway; the session then dies of idleness.
    }
  }
  return wasUser;
}

export function platformId() {
  const s = load();
  return s ? s.platformId : "";
}

export function setPlatform(id) {
  const s = load();
  if (s && s.kind === "key") save({ ...s, platformId: id });
  rememberPlatform(id);
}

/** Platform ids this browser has used, most recent first. */
export function knownPlatforms() {
  const list = readJson(localStorage, PLATFORMS, []);
  return Array.isArray(list) ? list.filter((p) => typeof p === "string" && p) : [];
}

export function rememberPlatform(id) {
  const list = knownPlatforms().filter((p) => p !== id);
  list.unshift(id);
  localStorage.setItem(PLATFORMS, JSON.stringify(list.slice(0, 20)));
}

export function forgetPlatform(id) {
  localStorage.setItem(PLATFORMS, JSON.stringify(knownPlatforms().filter((p) => p !== id)));
}
