"""Package delivery without mnpd in the byte path (docs/deploy.md, "Package
delivery"): servers of their own on S3 storage (the moto server of the
cluster backend, started for this file on the embedded backend too), with
`--package-delivery presigned` and `--package-delivery cdn`. A version is
released through the official SDK's typed models, then
DescribeOfflineMNPPackage and DescribeMNPOfflinePackageURL answer a URL of
the bucket, or of a CDN: here a small edge server in this file that checks
the token exactly as docs/deploy.md tells a CDN to and fetches from the
bucket. Settings that cannot work refuse to start."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import pytest
import requests

import harness
from test_lifecycle import Lifecycle, Sdk

sys.path.insert(0, str(harness.REPO_ROOT / "clients" / "python"))
import mnpd_host  # noqa: E402

NO_PROXY = {"http": None, "https": None}
CDN_KEY = bytes(range(32))
ACTIONS = ["DescribeOfflineMNPPackage", "DescribeMNPOfflinePackageURL"]


def http_get(url: str, headers: Optional[dict] = None) -> requests.Response:
    return requests.get(url, headers=headers or {}, timeout=30, proxies=NO_PROXY)


# ---------------------------------------------------------------------------
# Servers on S3
# ---------------------------------------------------------------------------


class S3Server:
    """An mnpd on a bucket of the session's moto server, its bucket and a
    platform of the bootstrap account with one host application."""

    def __init__(self, factory: harness.ServerFactory, spec: dict, packages, *flags: str):
        self.s3 = harness.ClusterServices.get()
        if harness.BACKEND == "cluster":
            # The backend's own arguments already name a bucket of its own.
            self.server = factory.new(*flags)
            self.bucket = self.s3.databases[self.s3.name_for(self.server.data_dir)]
        else:
            self.bucket = f"mnpd-delivery-{uuid.uuid4().hex[:12]}"
            made = requests.put(f"{self.s3.s3_endpoint}/{self.bucket}", timeout=10,
                                proxies=NO_PROXY)
            assert made.status_code == 200, made.text
            self.server = factory.new("--storage-url", f"s3://{self.bucket}/packages", *flags,
                                      start=False)
            self.server.extra_env.update(self.s3.env())
            self.server.start()
        self.life = Lifecycle(self.server,
                              Sdk(self.server.client(), self.server.platform_id, spec),
                              packages, team_id=self.server.team_id)
        self.life.create_application(harness.unique_name("host"))

    def object_path(self, sha256: str) -> str:
        """The object's path on the S3 server (path-style: /bucket/key)."""
        return f"/{self.bucket}/packages/blobs/{sha256[:2]}/{sha256}"

    def release(self, version: str = "1.0.0") -> tuple[str, bytes]:
        """A released mini program whose package is bytes of its own."""
        files = harness.mini_program_files()
        files["utils/build.js"] = f"module.exports = '{harness.unique_name('d')}'\n".encode()
        data = harness.zip_bytes(files)
        mnp, _ = self.life.released((version,), url=self.life.packages.fresh_url(data))
        return mnp, data


# ---------------------------------------------------------------------------
# An independent SigV4 check of presigned URLs, as S3 makes it
# ---------------------------------------------------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _sigv4(secret_key: str, scope: str, amz_date: str, canonical: str) -> str:
    date, region, service, terminal = scope.split("/")
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, terminal):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sigv4_get_headers(url: str, access_key: str, secret_key: str, region: str) -> dict:
    """Headers that authenticate a GET of `url` (no query) to S3, signed
    with the bucket's credentials, as a CDN's origin access does."""
    parts = urllib.parse.urlsplit(url)
    amz_date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join([
        "GET", parts.path, "", f"host:{parts.netloc}", "x-amz-content-sha256:UNSIGNED-PAYLOAD",
        f"x-amz-date:{amz_date}", "", signed, "UNSIGNED-PAYLOAD"])
    signature = _sigv4(secret_key, scope, amz_date, canonical)
    return {"x-amz-date": amz_date, "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                             f"SignedHeaders={signed}, Signature={signature}"}


def sigv4_query_signature(url: str, secret_key: str) -> str:
    """The X-Amz-Signature S3 expects for a presigned GET `url` (AWS's
    "Authenticating requests: using query parameters"): recomputed here
    from the bucket's credentials, apart from mnpd's signer."""
    parts = urllib.parse.urlsplit(url)
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if k != "X-Amz-Signature"]
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")  # noqa: E731
    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs))
    params = dict(pairs)
    canonical = "\n".join([
        "GET", parts.path, query, f"host:{parts.netloc}", "", params["X-Amz-SignedHeaders"],
        "UNSIGNED-PAYLOAD"])
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    return _sigv4(secret_key, scope, params["X-Amz-Date"], canonical)


@pytest.fixture(scope="module")
def presigned(tmp_path_factory, spec, packages):
    factory = harness.ServerFactory(tmp_path_factory.mktemp("delivery-presigned"))
    yield S3Server(factory, spec, packages, "--package-delivery", "presigned",
                   "--package-url-ttl", "120")
    factory.stop_all()


def test_presigned_url_downloads_straight_from_the_bucket(presigned):
    mnp, data = presigned.release("2.0.0")
    sha = hashlib.sha256(data).hexdigest()
    endpoint = urllib.parse.urlsplit(presigned.s3.s3_endpoint)
    for action in ACTIONS:
        url = presigned.life.package_url(mnp, action)
        parts = urllib.parse.urlsplit(url)
        assert (parts.scheme, parts.netloc) == (endpoint.scheme, endpoint.netloc), (
            f"{action} answered {url!r}: not the S3 endpoint")
        assert parts.netloc != presigned.server.endpoint
        assert parts.path == presigned.object_path(sha), url
        bare = http_get(f"{presigned.s3.s3_endpoint}{parts.path}")
        assert bare.status_code == 403, "the bucket is private: the signature lets the host in"
        got = http_get(url)
        assert got.status_code == 200, got.text[:300]
        assert hashlib.sha256(got.content).hexdigest() == sha, (
            "the bytes from the bucket are the version's package")


def test_presigned_url_is_a_sigv4_signature_for_the_ttl(presigned):
    """moto serves presigned GETs without checking their signature or
    expiry, so the test checks the URL as S3 would: its signature
    recomputed from the bucket's credentials, its date now and its lifetime
    --package-url-ttl; S3 refuses it once X-Amz-Date + X-Amz-Expires has
    passed, and refuses any change of path or parameters."""
    mnp, _ = presigned.release("2.1.0")
    url = presigned.life.package_url(mnp, "DescribeOfflineMNPPackage")
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "120", "the URL lives --package-url-ttl seconds"
    assert params["X-Amz-SignedHeaders"] == "host"
    assert params["X-Amz-Credential"].startswith("test/")
    assert params["X-Amz-Credential"].endswith("/us-east-1/s3/aws4_request")
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - signed_at) < timedelta(seconds=60)
    secret = presigned.s3.env()["MNPD_S3_SECRET_ACCESS_KEY"]
    assert sigv4_query_signature(url, secret) == params["X-Amz-Signature"]
    longer = url.replace("X-Amz-Expires=120", "X-Amz-Expires=604800")
    assert sigv4_query_signature(longer, secret) != params["X-Amz-Signature"], (
        "a lengthened lifetime no longer matches the signature")


def test_host_update_api_hands_out_the_presigned_url(presigned):
    """The update API (docs/host-apps.md, section 4) makes its `url` as the
    offline package actions do; a host downloads and checks it as is."""
    mnp, data = presigned.release("2.2.0")
    app_key = "com.example.delivery"
    app = presigned.life.apps[0]
    presigned.life.sdk("ModifyApplicationAppKey", ApplicationId=app, AndroidAppKey=app_key)
    host = mnpd_host.MnpdHost(presigned.server.url, presigned.server.platform_id, app, app_key)
    answer = host.check(mnp, "device-1")
    assert answer["status"] == "update", answer
    url = answer["package"]["url"]
    assert url.startswith(presigned.s3.s3_endpoint + "/"), url
    assert host.download(answer) == data


def test_presigned_url_of_a_newer_release(presigned):
    """The URL follows the online version, as mnpd's own does."""
    mnp, first = presigned.release("3.0.0")
    second_files = harness.mini_program_files()
    second_files["utils/build.js"] = b"module.exports = 'second'\n"
    second = harness.zip_bytes(second_files)
    vid = presigned.life.new_version(mnp, "3.0.1", presigned.life.packages.fresh_url(second))
    presigned.life.approve(mnp, vid)
    presigned.life.release(vid)
    got = http_get(presigned.life.package_url(mnp))
    assert got.status_code == 200
    assert got.content == second and got.content != first


# ---------------------------------------------------------------------------
# CDN: an edge that checks tokens as docs/deploy.md says, before the bucket
# ---------------------------------------------------------------------------


class Edge:
    """A CDN edge on a loopback port: a request for `/<prefix>/<key>` must
    carry `expires` (not past) and `token` = hex HMAC-SHA256(key,
    "<path>\\n<expires>"), <path> being the request's path as received;
    then the object `<key>` is streamed from the bucket (the origin), the
    request to it signed with the bucket's credentials: the bucket itself
    is private."""

    def __init__(self, origin: str, credentials: dict, bucket: str, key: bytes,
                 prefix: str = "/cdn"):
        self.origin, self.bucket, self.key, self.prefix = origin, bucket, key, prefix
        self.credentials = credentials
        self.refused: list[str] = []
        self.origin_fetches = 0
        edge = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                edge.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def allowed(self, path: str, query: str) -> Optional[str]:
        """Why the request is refused, or None."""
        params = dict(urllib.parse.parse_qsl(query))
        expires, token = params.get("expires", ""), params.get("token", "")
        if not expires.isdigit() or not token:
            return "unsigned"
        want = hmac.new(self.key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, token):
            return "bad token"
        if int(expires) < time.time():
            return "expired"
        if not path.startswith(self.prefix + "/"):
            return "outside the CDN's prefix"
        return None

    def handle(self, h: http.server.BaseHTTPRequestHandler):
        path, _, query = h.path.partition("?")
        why = self.allowed(path, query)
        if why:
            self.refused.append(why)
            body = f"{why}\n".encode()
            h.send_response(403)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        self.origin_fetches += 1
        url = f"{self.origin}/{self.bucket}{path[len(self.prefix):]}"
        headers = sigv4_get_headers(url, self.credentials["MNPD_S3_ACCESS_KEY_ID"],
                                    self.credentials["MNPD_S3_SECRET_ACCESS_KEY"],
                                    self.credentials["MNPD_S3_REGION"])
        if h.headers.get("Range"):
            headers["Range"] = h.headers["Range"]
        with requests.get(url, headers=headers, stream=True, timeout=30,
                          proxies=NO_PROXY) as up:
            h.send_response(up.status_code)
            for name in ("Content-Length", "Content-Type", "Content-Range", "ETag"):
                if name in up.headers:
                    h.send_header(name, up.headers[name])
            h.end_headers()
            for chunk in up.iter_content(64 * 1024):
                h.wfile.write(chunk)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def cdn(tmp_path_factory, spec, packages):
    """A server whose package URLs point at the edge, valid 5 s, and the edge."""
    factory = harness.ServerFactory(tmp_path_factory.mktemp("delivery-cdn"))
    s3 = harness.ClusterServices.get()
    # The edge learns the bucket once the server made it; start it first on
    # a port of its own, the bucket filled in after.
    edge = Edge(s3.s3_endpoint, s3.env(), "", CDN_KEY)
    try:
        server = S3Server(factory, spec, packages, "--package-delivery", "cdn",
                          "--cdn-base-url", edge.base_url, "--cdn-token-key", CDN_KEY.hex(),
                          "--package-url-ttl", "5")
        edge.bucket = server.bucket
        yield server, edge
    finally:
        factory.stop_all()
        edge.close()


def test_cdn_url_downloads_through_the_edge(cdn):
    server, edge = cdn
    mnp, data = server.release("4.0.0")
    sha = hashlib.sha256(data).hexdigest()
    for action in ACTIONS:
        url = server.life.package_url(mnp, action)
        parts = urllib.parse.urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
            f"{edge.base_url}/packages/blobs/{sha[:2]}/{sha}"), url
        params = dict(urllib.parse.parse_qsl(parts.query))
        assert set(params) == {"expires", "token"}, url
        assert 0 < int(params["expires"]) - time.time() <= 6, "valid --package-url-ttl (5) s"
        fetched = edge.origin_fetches
        got = http_get(url)
        assert got.status_code == 200, got.text[:300]
        assert hashlib.sha256(got.content).hexdigest() == sha
        assert edge.origin_fetches == fetched + 1, "the bytes came from the bucket"
        part = http_get(url, {"Range": "bytes=0-99"})
        assert (part.status_code, part.content) == (206, data[:100])


def test_cdn_refuses_tampered_and_expired_tokens(cdn):
    server, edge = cdn
    mnp, _ = server.release("4.1.0")
    url = server.life.package_url(mnp)
    base, query = url.split("?")
    params = dict(urllib.parse.parse_qsl(query))
    token, expires = params["token"], params["expires"]
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    other_sha = "0" * 64
    for bad, why in [
        (f"{base}?expires={expires}&token={flipped}", "bad token"),
        (f"{base}?expires={int(expires) + 60}&token={token}", "bad token"),
        (f"{base.rsplit('/', 2)[0]}/00/{other_sha}?{query}", "bad token"),
        (f"{base}?expires={expires}", "unsigned"),
    ]:
        refused = len(edge.refused)
        got = http_get(bad)
        assert got.status_code == 403, f"{bad} answered {got.status_code}"
        assert edge.refused[refused:] == [why], (bad, edge.refused[refused:])
    assert http_get(url).status_code == 200
    # Past its expiry (--package-url-ttl 5): the same URL is refused.
    time.sleep(max(0.0, int(expires) + 1.2 - time.time()))
    got = http_get(url)
    assert got.status_code == 403, got.status_code
    assert edge.refused[-1] == "expired"


# ---------------------------------------------------------------------------
# Settings that cannot work refuse to start
# ---------------------------------------------------------------------------


def refused_start(tmp_path: Path, *args: str, env: Optional[dict] = None) -> str:
    """mnpd serve with these settings must exit non-zero before listening;
    its error output."""
    cp = subprocess.run(
        [str(harness.mnpd_bin()), "serve", "--listen", f"127.0.0.1:{harness.free_port()}",
         "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True, text=True, timeout=30,
        env=harness.clean_env(env, backend=False))
    assert cp.returncode != 0, f"started with {args}: {cp.stdout}"
    assert "listening" not in cp.stdout
    return cp.stderr


def test_delivery_settings_that_cannot_work_refuse_to_start(tmp_path):
    folder = refused_start(tmp_path, "--package-delivery", "presigned")
    assert "--storage-url s3://" in folder, folder
    by_env = refused_start(tmp_path, env={"MNPD_PACKAGE_DELIVERY": "cdn",
                                          "MNPD_CDN_BASE_URL": "https://cdn.example.com"})
    assert "--storage-url s3://" in by_env, by_env
    s3 = {"MNPD_STORAGE_URL": "s3://nowhere/packages", "MNPD_S3_ENDPOINT": "http://127.0.0.1:9",
          "MNPD_S3_ACCESS_KEY_ID": "test", "MNPD_S3_SECRET_ACCESS_KEY": "test"}
    no_key = refused_start(tmp_path, "--package-delivery", "cdn", "--cdn-base-url",
                           "https://cdn.example.com", env=s3)
    assert "--cdn-token-key" in no_key and "MNPD_CDN_TOKEN_KEY" in no_key, no_key
    short_key = refused_start(tmp_path, "--package-delivery", "cdn", "--cdn-base-url",
                              "https://cdn.example.com", "--cdn-token-key", "00" * 16, env=s3)
    assert "at least 32" in short_key, short_key
    stray = refused_start(tmp_path, "--cdn-base-url", "https://cdn.example.com", env=s3)
    assert "only with --package-delivery cdn" in stray, stray
    unknown = refused_start(tmp_path, "--package-delivery", "bucket")
    assert "mnpd" in unknown and "presigned" in unknown and "cdn" in unknown, unknown
