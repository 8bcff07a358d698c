"""The README's shell and Python blocks, extracted from README.md and run as
a reader would run them, in order, in an empty folder: so that they cannot
drift from what mnpd does.

What differs from a reader's machine, and nothing else:
- the ports: 9080 and 8000 are replaced by free ones in every block (the
  server gets its port through `MNPD_LISTEN`, its documented variable);
- `cargo run --release -p mnpd --` is the binary under test, and `mnpd` on
  `PATH` is that binary too;
- the reader's "second terminal" is one environment: the variables of
  `mnpd-data/bootstrap-credentials` are read for every block after the one
  that reads them, and `MNP_ID` is what the Python example printed.
`scripts/test` is the command running this test and is not run again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import harness

README = harness.REPO_ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
RUN_IT = "cargo run --release -p mnpd -- serve"


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block tagged sh or python."""
    text = README.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)
            if m.group(1) in ("sh", "python")]


def read_env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


@pytest.fixture
def reader(tmp_path):
    """An empty folder, free ports, `mnpd` on PATH; process groups started
    there are ended at teardown."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mnpd").symlink_to(harness.mnpd_bin())
    work = tmp_path / "work"
    work.mkdir()
    state = {
        "work": work,
        "api_port": harness.free_port(),
        "files_port": harness.free_port(),
        "env": harness.clean_env({"PATH": f"{bin_dir}:{os.environ['PATH']}"}, backend=False),
        "groups": [],
    }
    yield state
    for proc in state["groups"]:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in state["groups"]:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def ported(text: str, r) -> str:
    return text.replace("9080", str(r["api_port"])).replace("8000", str(r["files_port"]))


def run_shell(r, text: str, name: str, env: dict) -> str:
    """Runs a shell block with bash -e in the folder; its own process group
    (a block may leave a server running in the background)."""
    out = r["work"].parent / f"{name}.out"
    with open(out, "wb") as log:
        proc = subprocess.Popen(["bash", "-e", "-c", ported(text, r)], cwd=r["work"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        r["groups"].append(proc)
        rc = proc.wait(300)
    text_out = out.read_text(errors="replace")
    assert rc == 0, f"README block {name} exited {rc}:\n{text_out[-3000:]}"
    return text_out


def test_every_readme_block_runs_as_written(reader):
    r = reader
    found = blocks()
    langs = [lang for lang, _ in found]
    assert langs == ["sh", "sh", "sh", "python", "python", "sh"], (
        f"README's blocks changed ({langs}): say here how the new ones run")
    (_, run_it), (_, test_cmd), (_, first), (_, py1), (_, py2), (_, upload) = found
    assert run_it.strip() == RUN_IT, run_it
    assert test_cmd.strip() == "scripts/test", test_cmd

    # Run it: the server on the embedded default, in the empty folder.
    env = dict(r["env"], MNPD_LISTEN=f"127.0.0.1:{r['api_port']}")
    command = run_it.strip().replace("cargo run --release -p mnpd --", str(harness.mnpd_bin()))
    server_log = r["work"].parent / "server.out"
    with open(server_log, "wb") as log:
        server = subprocess.Popen(command.split(), cwd=r["work"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    r["groups"].append(server)
    deadline = time.monotonic() + 30
    while "mnpd listening on" not in server_log.read_text(errors="replace"):
        assert server.poll() is None, server_log.read_text(errors="replace")
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    printed = server_log.read_text()
    assert "SecretKey" in printed and "bootstrap-credentials" in printed, printed

    # The second terminal: credentials, a package, a file server, the SDK.
    run_shell(r, first, "first-version", r["env"])
    creds = read_env_file(r["work"] / "mnpd-data" / "bootstrap-credentials")
    assert set(creds) >= {"TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY",
                          "MNPD_PLATFORM_ID", "MNPD_TEAM_ID"}, creds
    env = dict(r["env"], **creds)

    # A reader starts Python after the file server is up; a script must
    # wait for it.
    import urllib.request
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{r['files_port']}/shop.zip", timeout=2)
            break
        except OSError:
            assert time.monotonic() < deadline, "the README's file server did not start"
            time.sleep(0.1)

    # The two Python blocks are one session.
    script = r["work"].parent / "readme.py"
    script.write_text(ported(py1 + "\n" + py2, r))
    cp = subprocess.run([str(r["work"] / ".venv" / "bin" / "python"), str(script)],
                        cwd=r["work"], env=env, capture_output=True, text=True, timeout=180)
    assert cp.returncode == 0, f"README's Python failed:\n{cp.stdout}\n{cp.stderr[-3000:]}"
    lines = cp.stdout.strip().splitlines()
    mnp_id, status, msg = lines[0].split(maxsplit=2)
    assert harness.MNP_ID_RE.match(mnp_id), lines
    assert (status, msg) == ("60", "Success"), lines
    assert lines[1].startswith(f"http://127.0.0.1:{r['api_port']}/"), lines

    # mnpd upload of the folder, as version 1.2.3.
    out = run_shell(r, upload, "upload", dict(env, MNP_ID=mnp_id))
    assert f"OK {mnp_id} 1.2.3" in out, out
