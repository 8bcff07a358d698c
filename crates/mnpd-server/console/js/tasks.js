// The version tasks this browser follows. The API has no call that lists
// tasks: CreateMNPVersion answers a TaskId and DescribeMNPVersion reports
// one task. So the console remembers the TaskIds it created or was given,
// and polls those still pending or running.

import { call } from "./api.js";
import * as session from "./session.js";

const KEY = "mnpd.console.tasks";
const POLL_MS = 1000;
export const TERMINAL = new Set([30, 60]);

function read() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function write(list) {
  localStorage.setItem(KEY, JSON.stringify(list.slice(0, 200)));
}

/** The tasks of a platform, newest first. */
export function ofPlatform(platformId) {
  return read().filter((t) => t.PlatformId === platformId);
}

export function track(task) {
  const list = read().filter((t) => !(t.TaskId === task.TaskId && t.PlatformId === task.PlatformId));
  const now = Math.floor(Date.now() / 1000);
  list.unshift({ TaskStatus: 1, TaskMsg: "", AddedAt: now, ...task });
  write(list);
  notify([task.TaskId]);
  schedule(0);
}

export function forget(platformId, taskIds) {
  const drop = new Set(taskIds);
  write(read().filter((t) => !(t.PlatformId === platformId && drop.has(t.TaskId))));
  notify(taskIds);
}

function update(platformId, taskId, fields) {
  const list = read();
  const t = list.find((x) => x.TaskId === taskId && x.PlatformId === platformId);
  if (!t) return null;
  Object.assign(t, fields);
  write(list);
  return t;
}

function notify(taskIds, finished = []) {
  window.dispatchEvent(new CustomEvent("mnpd:tasks", { detail: { taskIds, finished } }));
}

/** Asks the API for one task and records what it says; throws ApiError. */
export async function describe(platformId, taskId) {
  const r = await call("DescribeMNPVersion", { BusinessId: taskId, PlatformId: platformId });
  return r.Data || {};
}

async function pollOnce() {
  const platformId = session.platformId();
  if (!platformId) return false;
  const open = ofPlatform(platformId).filter((t) => !TERMINAL.has(t.TaskStatus));
  if (!open.length) return false;
  const changed = [];
  const finished = [];
  for (const t of open) {
    try {
      const d = await describe(platformId, t.TaskId);
      if (d.TaskStatus !== t.TaskStatus || d.TaskMsg !== t.TaskMsg) {
        const now = update(platformId, t.TaskId, {
          TaskStatus: d.TaskStatus,
          TaskMsg: d.TaskMsg || "",
          MNPId: d.MNPId || t.MNPId,
        });
        changed.push(t.TaskId);
        if (now && TERMINAL.has(now.TaskStatus)) finished.push(now);
      }
    } catch (err) {
      // Signed out, or the task is gone: stop following it quietly.
      if (err.code === "Console.SignedOut") return false;
      if (err.code && err.code.startsWith("InvalidParameterValue")) {
        update(platformId, t.TaskId, { TaskStatus: 30, TaskMsg: `${err.code}: ${err.message}` });
        changed.push(t.TaskId);
      }
    }
  }
  if (changed.length) notify(changed, finished);
  return true;
}

let timer = null;
let running = false;
let again = false;

function schedule(ms) {
  if (timer) clearTimeout(timer);
  timer = setTimeout(tick, ms);
}

async function tick() {
  timer = null;
  if (running) {
    again = true;
    return;
  }
  running = true;
  again = false;
  let more = false;
  try {
    more = await pollOnce();
  } catch {
    more = true;
  } finally {
    running = false;
  }
  if (more) schedule(POLL_MS);
  else if (again) schedule(0);
}

/** Starts following the open tasks (again), e.g. after signing in. */
export function resume() {
  schedule(0);
}
