"""What a host application does with mnpd's host update API
(docs/host-apps.md), with nothing but HTTP: ask which version of a mini
program a device should run, download it and check it, and report how the
install went.

    host = MnpdHost("https://mnpd.example.com", platform_id, application_id,
                    app_key="com.example.superapp")
    offer = host.check(mnp_id, device_id, current_version_id)
    if offer["status"] == "update":
        data = host.download(offer)          # refuses a package that does not match
        host.report(device_id, mnp_id, offer["package"]["mnpVersionId"], "installed")
"""

from __future__ import annotations

import hashlib
from typing import Callable, Optional

import requests

PROTOCOL = "mnpd-host-update/1"


class Refused(Exception):
    """A package, size or signature that does not match what was offered."""


def cohort(mnp_id: str, device_id: str) -> int:
    """The device's cohort, 0..999: a gradual release at p % reaches the
    cohorts below p * 10."""
    digest = hashlib.sha256(f"{mnp_id}:{device_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000


class MnpdHost:
    def __init__(self, base_url: str, platform_id: str, application_id: str, app_key: str,
                 verify_signature: Optional[Callable[[dict, dict], bool]] = None,
                 session: Optional[requests.Session] = None):
        self.base = f"{base_url.rstrip('/')}/host/v1/{platform_id}/{application_id}"
        self.platform_id = platform_id
        self.headers = {"X-Mnpd-App-Key": app_key}
        self.verify_signature = verify_signature
        self.http = session or requests.Session()
        self.http.trust_env = False
        # Per device and mini program: the last answer and its ETag.
        self.cache: dict[tuple[str, str, Optional[int]], tuple[str, dict]] = {}

    def check(self, mnp_id: str, device_id: str, current_version_id: Optional[int] = None) -> dict:
        """The answer for this device; revalidated with its ETag when asked
        again, so an unchanged answer costs the server no database read."""
        key = (mnp_id, device_id, current_version_id)
        headers = dict(self.headers)
        if key in self.cache:
            headers["If-None-Match"] = self.cache[key][0]
        params = {"deviceId": device_id}
        if current_version_id is not None:
            params["currentVersionId"] = str(current_version_id)
        got = self.http.get(f"{self.base}/{mnp_id}", params=params, headers=headers, timeout=30)
        if got.status_code == 304:
            return self.cache[key][1]
        if got.status_code != 200:
            raise RuntimeError(f"update check answered {got.status_code}: {got.text}")
        answer = got.json()
        if answer.get("protocol") != PROTOCOL:
            raise Refused(f"unknown protocol {answer.get('protocol')!r}")
        self.cache[key] = (got.headers["ETag"], answer)
        return answer

    def download(self, answer: dict) -> bytes:
        """The package offered, after checking its size, SHA-256 and (when a
        verifier is given) its signature; Refused otherwise."""
        package = answer["package"]
        if self.verify_signature is not None and not self.verify_signature(answer, package):
            raise Refused("the signature does not verify against the platform's published keys")
        got = self.http.get(package["url"], timeout=60)
        got.raise_for_status()
        data = got.content
        if len(data) != package["size"]:
            raise Refused(f"{len(data)} bytes received, {package['size']} offered")
        if hashlib.sha256(data).hexdigest() != package["sha256"]:
            raise Refused("the package's SHA-256 is not the one offered")
        return data

    def report(self, device_id: str, mnp_id: str, mnp_version_id: int, event: str,
               reason: Optional[str] = None) -> dict:
        return self.report_batch([{"deviceId": device_id, "mnpId": mnp_id,
                                   "mnpVersionId": mnp_version_id, "event": event,
                                   **({"reason": reason} if reason else {})}])

    def report_batch(self, reports: list[dict]) -> dict:
        got = self.http.post(f"{self.base}/reports", json={"reports": reports},
                             headers=self.headers, timeout=30)
        if got.status_code != 200:
            raise RuntimeError(f"reports answered {got.status_code}: {got.text}")
        return got.json()
