// Sign-in: an API key pair and a platform. The pair is checked with one
// signed call (DescribeMNPList) and then kept in this tab's sessionStorage.

import { call, ApiError } from "../api.js";
import * as session from "../session.js";
import { h, field, errorSlot, busy } from "../ui.js";

export function renderSignIn({ main, onSignedIn }) {
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
    { class: "signin panel", novalidate: true, "aria-labelledby": "signin-title" },
    h(
      "div",
      { class: "signin-brand" },
      h("img", { src: "icon.svg", alt: "", width: 40, height: 40 }),
      h("div", {}, h("h1", { id: "signin-title" }, "mnpd console"), h("p", { class: "muted" }, "Mini program platform")),
    ),
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
        if (!window.crypto || !crypto.subtle) {
          throw new ApiError(
            "Console.InsecureContext",
            "This browser offers WebCrypto only to pages served over https:// or from localhost / 127.0.0.1. " +
              "Serve mnpd with --tls-cert/--tls-key, or open the console on the machine itself.",
          );
        }
        await call("DescribeMNPList", { Offset: 0, Limit: 1, PlatformId: creds.platformId }, creds);
        session.save(creds);
        session.rememberPlatform(creds.platformId);
        secretKey.value = "";
        onSignedIn();
      },
      slot,
    );
  });

  main.append(h("div", { class: "signin-wrap" }, form));
  (secretId.value ? secretKey : secretId).focus();
}
