// A TC3-HMAC-SHA256 client in Node, written for this test: it stands for
// "any other client" (an SDK script, tccli, `mnpd upload`) creating a
// version that the console must then show and carry to release.

import { createHash, createHmac } from "node:crypto";

const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const hmac = (k, s) => createHmac("sha256", k).update(s).digest();

export function client({ endpoint, secretId, secretKey, version = "2024-08-01" }) {
  const url = new URL(endpoint);
  return async function call(action, params) {
    const payload = JSON.stringify(params);
    const timestamp = Math.floor(Date.now() / 1000);
    const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
    const canonical = [
      "POST",
      "/",
      "",
      `content-type:application/json\nhost:${url.host}\n`,
      "content-type;host",
      sha256(payload),
    ].join("\n");
    const scope = `${date}/tcmpp/tc3_request`;
    const toSign = ["TC3-HMAC-SHA256", String(timestamp), scope, sha256(canonical)].join("\n");
    const key = hmac(hmac(hmac(`TC3${secretKey}`, date), "tcmpp"), "tc3_request");
    const signature = createHmac("sha256", key).update(toSign).digest("hex");
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": String(timestamp),
        Authorization: `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
      },
      body: payload,
    });
    const body = await res.json();
    if (body.Response.Error) {
      throw new Error(`${action}: ${body.Response.Error.Code}: ${body.Response.Error.Message}`);
    }
    return body.Response;
  };
}
