// X25519 (RFC 7748) for browsers whose WebCrypto lacks it (Chromium before
// 133, Firefox before 130, Safari before 17). preset.js uses it only then.
// BigInt arithmetic is not constant-time; that is acceptable here because
// the only private key it ever sees is a one-shot ephemeral key, made for
// one sign-in and dropped, so there is no long-lived secret to time.

const P = (1n << 255n) - 19n;
const A24 = 121665n;

const mod = (a) => ((a % P) + P) % P;

function power(base, exp) {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function toNumber(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i -= 1) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function toBytes(n) {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i += 1) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
}

function clampScalar(bytes) {
  const k = Uint8Array.from(bytes);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return toNumber(k);
}

/** X25519(scalar, u): both 32 bytes, little-endian, as RFC 7748 §5. */
export function x25519(scalar, u) {
  if (scalar.length !== 32 || u.length !== 32) throw new Error("X25519 takes 32-byte inputs");
  const k = clampScalar(scalar);
  const uBytes = Uint8Array.from(u);
  uBytes[31] &= 127;
  const x1 = mod(toNumber(uBytes));
  let [x2, z2, x3, z3] = [1n, 0n, x1, 1n];
  let swap = 0n;
  for (let t = 254n; t >= 0n; t -= 1n) {
    const bit = (k >> t) & 1n;
    swap ^= bit;
    if (swap) [x2, x3, z2, z3] = [x3, x2, z3, z2];
    swap = bit;
    const a = mod(x2 + z2);
    const aa = (a * a) % P;
    const b = mod(x2 - z2);
    const bb = (b * b) % P;
    const e = mod(aa - bb);
    const c = mod(x3 + z3);
    const d = mod(x3 - z3);
    const da = (d * a) % P;
    const cb = (c * b) % P;
    x3 = power(da + cb, 2n);
    z3 = (x1 * power(da - cb, 2n)) % P;
    x2 = (aa * bb) % P;
    z2 = (e * mod(aa + A24 * e)) % P;
  }
  if (swap) [x2, z2] = [x3, z3];
  return toBytes((x2 * power(z2, P - 2n)) % P);
}

const BASE = toBytes(9n);

/** The public key of a 32-byte private key. */
export function publicKey(privateKey) {
  return x25519(privateKey, BASE);
}
