// Small DOM helpers. Everything is built with createElement and
// textContent: nothing from the server is ever parsed as HTML.

import * as session from "./session.js";

/** `h("div", {class: "x", onclick: f}, child, "text", [more])` */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "class") {
      el.className = v;
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value" || k === "checked" || k === "disabled" || k === "selected") {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Text in which `backquoted` parts are shown as code. */
export function rich(text) {
  return String(text)
    .split("`")
    .map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export function uid(prefix = "f") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field; `input` is an input/select/textarea element. */
export function field(label, input, help) {
  if (!input.id) input.id = uid();
  const helpEl = help ? h("small", { class: "help", id: `${input.id}-help` }, rich(help)) : null;
  if (helpEl) input.setAttribute("aria-describedby", helpEl.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, helpEl);
}

export function badge(text, tone = "neutral") {
  return h("span", { class: `badge ${tone}` }, text);
}

export function mono(text) {
  return h("code", { class: "mono" }, text);
}

/** A Unix time (number or decimal string, seconds) in the reader's locale. */
export function when(t) {
  const n = Number(t);
  if (!n) return "—";
  const d = new Date(n * 1000);
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** An error as a readable box: code, message, a hint and the RequestId. */
export function errorBox(err) {
  const code = err && err.code ? err.code : "Error";
  const message = (err && err.message) || String(err);
  return h(
    "div",
    { class: "alert error", role: "alert" },
    h("div", { class: "alert-head" }, h("strong", {}, "Request failed"), " ", mono(code)),
    h("p", { class: "alert-message" }, message),
    err && err.hint ? h("p", { class: "alert-hint" }, rich(err.hint)) : null,
    err && err.code && err.code.startsWith("AuthFailure") && document.body.classList.contains("signed-in")
      ? h(
          "p",
          {},
          h(
            "button",
            { type: "button", class: "btn small", onclick: () => document.getElementById("signout").click() },
            "Sign in again",
          ),
        )
      : null,
    err && err.requestId
      ? h("p", { class: "alert-meta" }, err.action ? `${err.action} · ` : "", "RequestId ", mono(err.requestId))
      : null,
  );
}

/** A slot that shows the last error of an action, or nothing. */
export function errorSlot() {
  const el = h("div", { class: "error-slot" });
  return {
    el,
    show(err) {
      clear(el, errorBox(err));
    },
    clear() {
      clear(el);
    },
  };
}

/**
 * Runs `fn` with `button` disabled and marked busy; shows a thrown error in
 * `slot` (or as a toast) and returns undefined then.
 */
export async function busy(button, fn, slot) {
  if (slot) slot.clear();
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await fn();
  } catch (err) {
    if (slot) slot.show(err);
    else toast(err, "error");
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

export function toast(message, tone = "good") {
  const host = document.getElementById("toasts");
  if (!host) return;
  const text =
    message instanceof Error ? `${message.code ? `${message.code}: ` : ""}${message.message}` : message;
  const el = h("div", { class: `toast ${tone}`, role: tone === "error" ? "alert" : "status" }, text);
  host.append(el);
  setTimeout(() => el.classList.add("leaving"), 4200);
  setTimeout(() => el.remove(), 4700);
}

/**
 * A table that turns into a list of cards on narrow screens: every cell
 * carries its column's name. `columns`: [{label, cell: row => node, class}].
 */
export function table(columns, rows, { empty = "Nothing here yet.", caption, rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, rich(empty));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            rowAttrs ? rowAttrs(r) : {},
            columns.map((c) => h("td", { "data-label": c.label, class: c.class }, c.cell(r))),
          ),
        ),
      ),
    ),
  );
}

/** "1–20 of 45" and Previous/Next links; `link(offset)` makes their addresses. */
export function pager(total, offset, size, link) {
  if (total <= size) return null;
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("span", { class: "muted" }, `${offset + 1}–${Math.min(offset + size, total)} of ${total}`),
    offset > 0 ? h("a", { class: "btn", href: link(Math.max(0, offset - size)) }, "Previous") : null,
    offset + size < total ? h("a", { class: "btn", href: link(offset + size) }, "Next") : null,
  );
}

/** A search box that goes to `link(keyword)` when submitted. */
export function searchBar(ctx, keyword, label, placeholder, link) {
  const search = h("input", { type: "search", value: keyword, placeholder, "aria-label": label });
  const form = h("form", { class: "toolbar", role: "search" }, search, h("button", { type: "submit", class: "btn" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.go(link(search.value.trim()));
  });
  return form;
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, title ? h("h2", {}, title) : null, children);
}

export function pageHeader(title, subtitle, ...actions) {
  return h(
    "div",
    { class: "page-header" },
    h("div", {}, h("h1", {}, title), subtitle ? h("p", { class: "muted" }, rich(subtitle)) : null),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/**
 * Disables `control` (a button) with a tooltip when the signed-in user's
 * roles do not allow `action`, from the actions the server itself would
 * refuse (the session's DeniedActions). The server checks anyway: this
 * only spares a click that cannot succeed.
 */
export function allowedTo(action, control) {
  const need = session.missingPermission(action);
  if (!need) return control;
  const why = `Your roles do not allow ${action} (it needs the ${need} permission).`;
  control.disabled = true;
  control.title = why;
  control.setAttribute("aria-description", why);
  control.dataset.denied = action;
  control.classList.add("denied");
  return control;
}

/**
 * A "New …" button that opens `makeForm(close)` in `host` and closes it
 * on a second click; greyed out as `allowedTo(action)` says.
 */
export function newFormToggle(action, label, host, makeForm) {
  const toggle = allowedTo(
    action,
    h("button", { type: "button", class: "btn primary", "aria-expanded": "false" }, label),
  );
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", String(!open));
    if (open) clear(host);
    else clear(host, makeForm(() => toggle.click()));
  });
  return toggle;
}

/** The hash link of a listing page with its search keyword and offset. */
export function pageLink(base, keyword, offset) {
  const q = new URLSearchParams({ ...(keyword ? { q: keyword } : {}), ...(offset ? { offset: String(offset) } : {}) });
  const qs = q.toString();
  return qs ? `${base}?${qs}` : base;
}

export function button(label, onclick, tone = "") {
  return h("button", { type: "button", class: `btn ${tone}`.trim(), onclick }, label);
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/** The first letter of a name on a coloured tile (external icons are not loaded). */
export function avatar(name) {
  const letter = (name || "?").trim().charAt(0).toUpperCase() || "?";
  let hash = 0;
  for (const ch of name || "") hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return h("span", { class: `avatar tint-${hash % 6}`, "aria-hidden": "true" }, letter);
}

// Status words for the API's numbers.

export const TASK_STATUS = {
  1: ["Pending", "neutral"],
  20: ["Running", "info"],
  30: ["Failed", "bad"],
  60: ["Succeeded", "good"],
};

export function taskBadge(status) {
  const [text, tone] = TASK_STATUS[status] || [`Status ${status}`, "neutral"];
  return badge(text, tone);
}

export const APPROVAL_STATUS = {
  0: ["Not submitted", "neutral"],
  1: ["In review", "warn"],
  2: ["Rejected", "bad"],
  3: ["Approved", "good"],
  4: ["Withdrawn", "neutral"],
};

export function approvalBadge(status) {
  const [text, tone] = APPROVAL_STATUS[status] || [`Status ${status}`, "neutral"];
  return badge(text, tone);
}

export function programStatusBadge(status) {
  if (status === 1) return badge("Released", "good");
  if (status === 2) return badge("Out of service", "bad");
  return badge("Not released", "neutral");
}

/**
 * Asks inside `host` before a consequential action: its content makes room
 * for `message` and two buttons until one is chosen. `run` may throw: the
 * error is shown in `slot`.
 */
export function confirmInline(host, message, confirmLabel, run, slot) {
  const saved = Array.from(host.childNodes);
  const restore = () => host.replaceChildren(...saved);
  const yes = h("button", { type: "button", class: "btn primary" }, confirmLabel);
  const no = h("button", { type: "button", class: "btn ghost", onclick: restore }, "Cancel");
  yes.addEventListener("click", async () => {
    const done = await busy(yes, async () => {
      await run();
      return true;
    }, slot);
    if (!done) restore();
  });
  host.replaceChildren(h("div", { class: "confirm", role: "group" }, h("p", {}, message), h("div", { class: "actions" }, yes, no)));
  yes.focus();
}
