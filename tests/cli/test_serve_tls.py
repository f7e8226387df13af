"""`roost serve` over TLS and where it may listen: a real server, real certificates (a private
CA made in the test), the real CLI verifying it; a non-loopback bind without TLS is refused
before anything is bound."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests._roost import EXAMPLE, roost, serving
from tests._tls import make_pki


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(EXAMPLE, root / "roost.yaml")
    return root


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("roost: error: ")
    return lines[0]


def test_the_cli_calls_an_https_api_and_verifies_it_against_the_recorded_ca(
    project: Path, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    tls = ("--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--tls-ca", str(pki.ca))
    with serving(project, *tls) as served:
        assert served.url.startswith("https://127.0.0.1:")
        recorded = json.loads((project / ".roost" / "api.json").read_text())
        assert recorded["ca"] == str(pki.ca.resolve())
        trusted = ssl.create_default_context(cafile=str(pki.ca))
        assert httpx.get(f"{served.url}/healthz", verify=trusted).json()["status"] == "ok"
        # Plain HTTP on the TLS port gets no API answer.
        plain = served.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{plain}/healthz", timeout=10).raise_for_status()
        # The CLI finds the URL and the CA in api.json and verifies the server.
        result = roost("status", "--project", str(project))
        assert result.returncode == 0, result.stderr
        assert "shop" in result.stdout
        # Told explicitly (--cacert / ROOST_CA_FILE), with the URL given by hand.
        by_flag = roost("--cacert", str(pki.ca), "status", "--api", served.url, cwd=project)
        assert by_flag.returncode == 0, by_flag.stderr
        ca_env = {"ROOST_CA_FILE": str(pki.ca)}
        by_env = roost("status", "--api", served.url, cwd=project, env=ca_env)
        assert by_env.returncode == 0, by_env.stderr
        # A CA that did not sign the certificate: refused, in one line that says what to do.
        foreign = make_pki(tmp_path / "foreign", common="someone else's CA")
        refused = roost("--cacert", str(foreign.ca), "status", "--project", str(project))
        assert refused.returncode == 1
        line = _one_error_line(refused.stderr)
        assert "cannot be verified" in line
        assert "--cacert" in line
        # No CA anywhere (the system's trust store does not know this private CA): refused too.
        bare = roost("status", "--api", served.url, cwd=project)
        assert bare.returncode == 1
        assert "cannot be verified" in _one_error_line(bare.stderr)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])
def test_a_non_loopback_bind_without_tls_is_refused_before_binding(
    project: Path, host: str
) -> None:
    # The port is taken on loopback: a serve that bound 0.0.0.0 first would say "in use".
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = roost("serve", "--project", str(project), "--host", host, "--port", str(port))
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert "refusing to serve plain HTTP" in line
    assert "--tls-cert" in line
    assert "--insecure-http" in line
    assert not (project / ".roost").exists(), "a refused serve must open and write nothing"


def test_roost_up_refuses_a_non_loopback_bind_without_tls_before_starting_anything(
    project: Path,
) -> None:
    result = roost("up", "--project", str(project), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "refusing to serve plain HTTP" in _one_error_line(result.stderr)
    assert not (project / ".roost" / "agent").exists(), "no agent may have been started"


def test_insecure_http_binds_every_interface_with_a_loud_warning(
    project: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "roost", "serve", "--project", str(project)),
                *("--host", "0.0.0.0", "--port", "0", "--insecure-http"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "ROOST_DATABASE_URL"},
        )
    try:
        api_file = project / ".roost" / "api.json"
        deadline = time.monotonic() + 120
        while not api_file.exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "roost serve did not start within 120 s"
            time.sleep(0.05)
        url = json.loads(api_file.read_text())["url"]
        # Recorded as loopback (a wildcard is where it listens, not where to connect).
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert "WARNING" in log.read_text()
    assert "--insecure-http" in log.read_text()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("cert-only", "--tls-cert needs --tls-key"),
        ("key-only", "--tls-key needs --tls-cert"),
        ("missing", "no such file"),
        ("mismatch", "cannot use --tls-cert"),
        ("ca-only", "--tls-ca needs --tls-cert and --tls-key"),
    ],
)
def test_bad_tls_options_are_one_line(
    project: Path, tmp_path: Path, case: str, expected: str
) -> None:
    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other")
    args = {
        "cert-only": ["--tls-cert", str(pki.cert)],
        "key-only": ["--tls-key", str(pki.key)],
        "missing": ["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(pki.key)],
        "mismatch": ["--tls-cert", str(pki.cert), "--tls-key", str(other.key)],
        "ca-only": ["--tls-ca", str(pki.ca)],
    }[case]
    result = roost("serve", "--project", str(project), "--port", "0", *args)
    assert result.returncode == 2
    assert expected in _one_error_line(result.stderr)
    assert not (project / ".roost").exists()


def test_roost_up_starts_an_https_control_plane_and_talks_to_it(tmp_path: Path) -> None:
    from tests._projects import project_down

    pki = make_pki(tmp_path / "pki")
    root = tmp_path / "empty"
    root.mkdir()
    (root / "roost.yaml").write_text("project: empty\nversion: 1\nenvironments:\n  dev: {}\n")
    tls = ("--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--tls-ca", str(pki.ca))
    with project_down(root):
        up = roost("up", "--project", str(root), *tls, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        recorded = json.loads((root / ".roost" / "api.json").read_text())
        assert recorded["url"].startswith("https://127.0.0.1:")
        # `up` itself called the API over https (apply, up); so do later commands.
        ps = roost("ps", "--project", str(root))
        assert ps.returncode == 0, ps.stderr
        assert recorded["url"] in ps.stdout
