"""The benchmark's example service: the shop's ``web`` service with the pipeline that
examples/shop/roost.yaml documents (wheels with a cache, test and lint in parallel, stamp),
made runnable offline: its "wheels" step builds wheels from vendored sources instead of
downloading them, and ``assets/`` holds a payload so push and pull move real bytes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ROOST_YAML = """project: shop
version: 1
environments: {dev: {}}
services:
  - name: web
    command: python3 app.py
    build:
      substitutions: {PYTHON: python3}
      steps:
        - name: wheels
          run: $PYTHON tools/make_wheels.py vendor wheels
          cache: {key_files: [requirements.lock, "vendor/**", "tools/*"], paths: [wheels]}
        - {name: test, run: $PYTHON -m unittest discover -s tests -q, needs: []}
        - {name: lint, run: [python3, -m, compileall, -q, app.py, tools], needs: []}
        - {name: stamp, run: echo "$SERVICE $SHORT_SHA" > BUILD_INFO, needs: [wheels, test, lint]}
      artifact: {exclude: [tests, vendor]}
"""

MAKE_WHEELS = '''"""Build one wheel per vendored package (what `pip wheel` does, offline)."""
import base64, hashlib, sys, zipfile
from pathlib import Path

source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(exist_ok=True)
for package in sorted(p for p in source.iterdir() if p.is_dir()):
    name, version = package.name, "1.0"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/{f.name}": f.read_bytes() for f in sorted(package.glob("*.py"))}
    meta = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
    files[f"{info}/METADATA"] = meta.encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    def digest(data):
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record = "".join(f"{p},sha256={digest(d)},{len(d)}\\n" for p, d in files.items())
    record += f"{info}/RECORD,,\\n"
    path = target / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as wheel:
        for p, d in files.items():
            wheel.writestr(p, d)
        wheel.writestr(f"{info}/RECORD", record)
'''

TEST = """import unittest

class Smoke(unittest.TestCase):
    def test_app_compiles(self):
        compile(open("app.py").read(), "app.py", "exec")

    def test_arithmetic(self):
        self.assertEqual(sum(range(100_000)), 4_999_950_000)
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    result = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def create(root: Path, *, packages: int, payload_mib: int) -> str:
    """Write the service into a new git repository at ``root``; returns the commit sha."""
    root.mkdir(parents=True)
    (root / "roost.yaml").write_text(ROOST_YAML)
    (root / ".gitignore").write_text(".roost/\n")
    (root / "app.py").write_text((REPO / "examples" / "hello" / "app.py").read_text())
    (root / "tools").mkdir()
    (root / "tools" / "make_wheels.py").write_text(MAKE_WHEELS)
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text(TEST)
    pins = []
    for index in range(packages):
        name = f"dep{index:02d}"
        package = root / "vendor" / name
        package.mkdir(parents=True)
        body = "".join(f"def f{n}(x):\n    return x * {n} + {index}\n" for n in range(2000))
        (package / "__init__.py").write_text(body)
        pins.append(f"{name}==1.0")
    (root / "requirements.lock").write_text("\n".join(pins) + "\n")
    assets = root / "assets"
    assets.mkdir()
    for index in range(payload_mib):
        (assets / f"blob{index:03d}.bin").write_bytes(os.urandom(1 << 20))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shop web")
    return git(root, "rev-parse", "HEAD")
