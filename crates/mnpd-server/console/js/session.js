// What the console remembers. The key pair lives in sessionStorage only: it
// is gone when the tab closes, and no other tab or page sees it. Platform
// ids and the tasks being followed are not secret: they stay in
// localStorage so that they survive a new sign-in.

const SESSION = "mnpd.console.session";
const PLATFORMS = "mnpd.console.platforms";

function readJson(storage, key, fallback) {
  try {
    const raw = storage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

/** `{secretId, secretKey, region, platformId}` or null when signed out. */
export function load() {
  const s = readJson(sessionStorage, SESSION, null);
  return s && s.secretId && s.secretKey ? s : null;
}

export function save(session) {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
}

export function clear() {
  sessionStorage.removeItem(SESSION);
}

export function platformId() {
  const s = load();
  return s ? s.platformId : "";
}

export function setPlatform(id) {
  const s = load();
  if (s) save({ ...s, platformId: id });
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
