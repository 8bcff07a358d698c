// Sign-in, two ways:
// - a user (the default): account and password; the password is encrypted
//   here with a one-use key from POST /console/session/key (preset.js) and
//   the server answers with the session cookie;
// - an API key pair and a platform: the pair is checked with one signed
//   call (DescribeMNPList) and then kept in this tab's sessionStorage.

import { call, ApiError } from "../api.js";
import * as session from "../session.js";
import { encryptPassword } from "../preset.js";
import { h, clear, field, errorSlot, busy } from "../ui.js";

const HOW = "mnpd.console.signin-with";

function brand() {
  return h(
    "div",
    { class: "signin-brand" },
    h("img", { src: "icon.svg", alt: "", width: 40, height: 40 }),
    h("div", {}, h("h1", { id: "signin-title" }, "mnpd console"), h("p", { class: "muted" }, "Mini program platform")),
  );
}

function needCrypto() {
  if (!window.crypto || !crypto.subtle) {
    throw new ApiError(
      "Console.InsecureContext",
      "This browser offers WebCrypto only to pages served over https:// or from localhost / 127.0.0.1. " +
        "Serve mnpd with --tls-cert/--tls-key, or open the console on the machine itself.",
    );
  }
}

/** The sign-in page; `notice` (e.g. "your session ended") is shown above the form. */
export function renderSignIn({ main, onSignedIn, notice }) {
  const host = h("div", { class: "signin panel", role: "region", "aria-labelledby": "signin-title" });
  const tabs = {
    user: h("button", { type: "button", role: "tab", id: "signin-with-user" }, "User account"),
    key: h("button", { type: "button", role: "tab", id: "signin-with-key" }, "API key"),
  };
  const body = h("div", { role: "tabpanel" });
  const show = (how) => {
    localStorage.setItem(HOW, how);
    for (const [k, tab] of Object.entries(tabs)) tab.setAttribute("aria-selected", String(k === how));
    body.setAttribute("aria-labelledby", tabs[how].id);
    clear(body, how === "key" ? keyForm(onSignedIn) : userForm(onSignedIn));
    const first = Array.from(body.querySelectorAll("input")).find((i) => !i.value);
    if (first) first.focus();
  };
  tabs.user.addEventListener("click", () => show("user"));
  tabs.key.addEventListener("click", () => show("key"));
  host.append(
    brand(),
    notice ? h("p", { class: "alert info", role: "status", id: "signin-notice" }, notice) : null,
    h("div", { class: "tabs signin-tabs", role: "tablist", "aria-label": "Sign in with" }, tabs.user, tabs.key),
    body,
  );
  main.append(h("div", { class: "signin-wrap" }, host));
  show(localStorage.getItem(HOW) === "key" ? "key" : "user");
}

// The session endpoint's refusals mean something narrower than the same
// codes from an API action, so they get their own hints.
const SIGN_IN_HINTS = {
  AuthFailure: "Check the account and the password. Five failures within 15 minutes lock the account out for 15 minutes.",
  RequestLimitExceeded: "This account is locked out after repeated failures: wait the time above, then sign in again.",
  InvalidParameterValue: "The one-use sign-in key was refused (expired or used): sign in again.",
};

function signInError(err) {
  const e = new ApiError(err.code || "Console.SignInFailed", err.message);
  Object.defineProperty(e, "hint", { value: SIGN_IN_HINTS[e.code] || "" });
  return e;
}

function userForm(onSignedIn) {
  const account = h("input", {
    type: "text",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
  });
  const password = h("input", { type: "password", autocomplete: "current-password", required: true });
  const slot = errorSlot();
  const submit = h("button", { type: "submit", class: "btn primary wide" }, "Sign in");
  // No `name` on the inputs, as below: a form submission could carry nothing.
  const form = h(
    "form",
    { class: "signin-form", novalidate: true, "aria-label": "Sign in with a user account" },
    field("Account", account),
    field("Password", password),
    slot.el,
    submit,
    h(
      "p",
      { class: "fine-print" },
      "The password is encrypted in this page with a one-use key from the server (X25519 and AES-GCM) before it is sent. " +
        "The session is a cookie scripts cannot read; it ends when you sign out, when left idle, or at the end of its lifetime.",
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(
      submit,
      async () => {
        const who = account.value.trim();
        if (!who || !password.value) {
          throw new ApiError("Console.MissingField", "Fill in the account and the password.");
        }
        needCrypto();
        try {
          await session.signInUser(who, password.value, encryptPassword);
        } catch (err) {
          throw signInError(err);
        } finally {
          password.value = "";
        }
        onSignedIn();
      },
      slot,
    );
  });
  return form;
}

function keyForm(onSignedIn) {
  const known = session.knownPlatforms();
  const secretId = h("input", {
    type: "text",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
    placeholder: "AKID…",
  });
  const secretKey = h("input", {
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const platformList = h(
    "datalist",
    { id: "known-platforms" },
    known.map((p) => h("option", { value: p })),
  );
  const platform = h("input", {
    type: "text",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
    list: "known-platforms",
    value: known[0] || "",
  });
  const region = h("input", {
    type: "text",
    autocapitalize: "off",
    spellcheck: "false",
    placeholder: "ap-guangzhou",
  });
  const slot = errorSlot();
  const submit = h("button", { type: "submit", class: "btn primary wide" }, "Sign in");

  // The inputs have no `name`: even if scripts were off, a submitted form
  // would carry none of them (and the CSP's form-action 'none' stops it).
  const form = h(
    "form",
    { class: "signin-form", novalidate: true, "aria-label": "Sign in with an API key" },
    field("SecretId", secretId),
    field("SecretKey", secretKey),
    field(
      "Platform ID",
      platform,
      "Printed at first start; `mnpd admin platform list` shows them all.",
    ),
    h(
      "details",
      { class: "more" },
      h("summary", {}, "Region"),
      field("Region (optional)", region, "Sent as X-TC-Region when set."),
    ),
    platformList,
    slot.el,
    submit,
    h(
      "p",
      { class: "fine-print" },
      "Your key pair stays in this browser tab (sessionStorage) until you sign out or close it. " +
        "Each request is signed here with TC3-HMAC-SHA256; the SecretKey itself is never sent.",
    ),
  );

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const creds = {
      secretId: secretId.value.trim(),
      secretKey: secretKey.value.trim(),
      platformId: platform.value.trim(),
      region: region.value.trim(),
    };
    await busy(
      submit,
      async () => {
        if (!creds.secretId || !creds.secretKey || !creds.platformId) {
          throw new ApiError("Console.MissingField", "Fill in SecretId, SecretKey and Platform ID.");
        }
        needCrypto();
        await call("DescribeMNPList", { Offset: 0, Limit: 1, PlatformId: creds.platformId }, creds);
        session.save(creds);
        session.rememberPlatform(creds.platformId);
        secretKey.value = "";
        onSignedIn();
      },
      slot,
    );
  });

  return form;
}
