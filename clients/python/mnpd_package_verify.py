"""Check a package's signature as a host does (docs/host-apps.md, "Package signatures").

    ok = mnpd_package_verify.verify(material["packageSigningKeys"], signature,
                                    platform_id, mnp_id, version, sha256_hex, size)

`published_keys` is the `packageSigningKeys` of the host's configuration
file (or the `keys` of /.well-known/mnpd/package-signing-keys/<PlatformId>);
`signature` is what mnpd offered with the package: {"keyId", "algorithm",
"signature"}. True only when a published Ed25519 key of that id, not past
its `notAfter`, signed exactly these fields. Needs the `cryptography`
package. The code from `import base64` on is the listing of the docs.
"""

import base64
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def message(platform_id, mnp_id, version, sha256_hex, size) -> bytes:
    fields = ["mnpd-package-signature/1", platform_id, mnp_id, version, sha256_hex.lower(), str(size)]
    return "\n".join(fields).encode("utf-8")


def verify(published_keys, signature, platform_id, mnp_id, version, sha256_hex, size, now=None) -> bool:
    now = time.time() if now is None else now
    key = next((k for k in published_keys if k["keyId"] == signature.get("keyId")), None)
    if key is None or key["algorithm"] != "Ed25519" or signature.get("algorithm") != "Ed25519":
        return False
    if key["notAfter"] is not None and key["notAfter"] <= now:
        return False  # rotated out, and its overlap is over
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["publicKey"], validate=True))
        public.verify(base64.b64decode(signature["signature"], validate=True),
                      message(platform_id, mnp_id, version, sha256_hex, size))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False  # binascii.Error (bad base64) is a ValueError
    return True
