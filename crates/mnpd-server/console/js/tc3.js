// TC3-HMAC-SHA256, the signature of TencentCloud API 3.0, computed in the
// browser with WebCrypto. The secret key is used here and nowhere else: it
// never leaves the page, only the signature does.

const encoder = new TextEncoder();
const ALGORITHM = "TC3-HMAC-SHA256";

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(text) {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key, message) {
  const k = await crypto.subtle.importKey(
    "raw",
    typeof key === "string" ? encoder.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(message)));
}

/** The UTC date (yyyy-mm-dd) of a Unix timestamp, as the credential scope wants it. */
export function utcDate(timestamp) {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

/**
 * The Authorization header of a POST with a JSON body, signed over
 * content-type, host and the body, as the official SDKs sign it.
 */
export async function authorization({
  secretId,
  secretKey,
  service,
  host,
  contentType,
  payload,
  timestamp,
}) {
  const signedHeaders = "content-type;host";
  const canonicalRequest = [
    "POST",
    "/",
    "",
    `content-type:${contentType.toLowerCase()}\nhost:${host.toLowerCase()}\n`,
    signedHeaders,
    await sha256Hex(payload),
  ].join("\n");
  const date = utcDate(timestamp);
  const scope = `${date}/${service}/tc3_request`;
  const stringToSign = [ALGORITHM, String(timestamp), scope, await sha256Hex(canonicalRequest)].join(
    "\n",
  );
  const kDate = await hmac(`TC3${secretKey}`, date);
  const kService = await hmac(kDate, service);
  const kSigning = await hmac(kService, "tc3_request");
  const signature = hex(await hmac(kSigning, stringToSign));
  return `${ALGORITHM} Credential=${secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
