"""Benchmark: build the example service cold and warm, push and pull its artifact — each next
to doing the same by hand.

    .venv/bin/python bench/build/run.py [--runs 5] [--payload-mib 16] [--packages 20]

The service (bench/build/_service.py) is the shop's ``web`` with the pipeline documented in
examples/shop/roost.yaml: ``wheels`` (cached on requirements.lock and the vendored sources),
``test`` and ``lint`` in parallel with it, then ``stamp``; plus ``--payload-mib`` of
incompressible assets so the artifact has weight.

- cold build: ``run_build`` with an empty step cache: git archive → steps → package (two
  tar+gzip layers into the OCI layout) → store records. By hand: ``git archive | tar -x``, the
  same four commands one after another in ``sh``, then ``tar -czf`` of the result.
- warm build: ``run_build`` again; ``wheels`` is restored from its cache. By hand there is no
  cache: the same four commands again.
- push / pull: the artifact to / from a local ``docker-registry`` (started here, on
  127.0.0.1), a fresh repository each run so every blob moves. By hand: ``curl`` per blob
  (POST + monolithic PUT; GET + ``sha256sum``), which is the protocol's minimum.

Medians over ``--runs``. Not a test: it times things, CI never runs it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the test helper that starts docker-registry
sys.path.insert(0, str(Path(__file__).parent))

from _service import create  # noqa: E402
from tests.artifacts._registry import RegistryUnavailable, start_registry  # noqa: E402

from roost.artifacts import (  # noqa: E402
    OciLayout,
    RegistryClient,
    layout_of,
    parse_registry_ref,
    pull,
    push,
)
from roost.build import BuildRequest, run_build  # noqa: E402
from roost.clock import RealClock  # noqa: E402
from roost.spec import load_project  # noqa: E402
from roost.store import open_store  # noqa: E402

STEPS = [
    "python3 tools/make_wheels.py vendor wheels",
    "python3 -m unittest discover -s tests -q",
    "python3 -m compileall -q app.py tools",
    'echo "web $SHORT_SHA" > BUILD_INFO',
]


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _by_hand_build(root: Path, sha: str, scratch: Path) -> None:
    work = scratch / f"hand-{time.monotonic_ns()}"
    work.mkdir()
    script = "\n".join(
        [
            "set -e",
            f"git -C {root} archive --format=tar {sha} | tar -x -C {work}",
            f"cd {work}",
            f"export SHORT_SHA={sha[:7]}",
            *STEPS,
            f"tar -czf {scratch}/hand.tar.gz --exclude=tests --exclude=vendor .",
        ]
    )
    subprocess.run(["sh", "-c", script], check=True, capture_output=True)
    shutil.rmtree(work)


def _curl_push(layout: OciLayout, digest: str, base: str, name: str) -> None:
    _, manifest = layout.manifest(digest)
    lines = ["set -e"]
    for blob in manifest.blobs:
        path = layout.blob_path(blob.digest)
        lines += [
            f"loc=$(curl -sf -X POST -D - -o /dev/null {base}/v2/{name}/blobs/uploads/"
            " | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p')",
            'case "$loc" in http*) ;; *) loc="' + base + '$loc";; esac',
            'sep="?"; case "$loc" in *\\?*) sep="&";; esac',
            f'curl -sf -X PUT -H "Content-Type: application/octet-stream" '
            f'--data-binary @{path} "$loc${{sep}}digest={blob.digest}" -o /dev/null',
        ]
    lines.append(
        f'curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" '
        f"--data-binary @{layout.blob_path(digest)} {base}/v2/{name}/manifests/v1 -o /dev/null"
    )
    subprocess.run(["bash", "-c", "\n".join(lines)], check=True, capture_output=True)


def _curl_pull(layout: OciLayout, digest: str, base: str, name: str, target: Path) -> None:
    _, manifest = layout.manifest(digest)
    target.mkdir()
    lines = ["set -e"]
    for blob in (*manifest.blobs,):
        hex_digest = blob.digest.split(":", 1)[1]
        lines += [
            f"curl -sf {base}/v2/{name}/blobs/{blob.digest} -o {target}/{hex_digest}",
            f'echo "{hex_digest}  {target}/{hex_digest}" | sha256sum -c --quiet',
        ]
    subprocess.run(["bash", "-c", "\n".join(lines)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--payload-mib", type=int, default=16)
    parser.add_argument("--packages", type=int, default=20)
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="roost-bench-build-"))
    try:
        registry = start_registry()
    except RegistryUnavailable as exc:
        sys.exit(f"bench/build needs docker-registry: {exc}")
    try:
        rows = _run(options, scratch, registry.url)
    finally:
        registry.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    width = max(len(row[0]) for row in rows)
    print(f"{'scenario':<{width}}  {'roost':>12}  {'by hand':>12}  {'roost/hand':>10}")
    for name, ours, theirs, ratio in rows:
        print(f"{name:<{width}}  {ours:>12}  {theirs:>12}  {ratio:>10}")


def _run(options: argparse.Namespace, scratch: Path, base: str) -> list[tuple[str, str, str, str]]:
    root = scratch / "shop"
    sha = create(root, packages=options.packages, payload_mib=options.payload_mib)
    project = load_project(root / "roost.yaml")
    cold, warm, hand = [], [], []
    digest = ""
    with open_store(f"sqlite:///{root / '.roost' / 'state.db'}") as store:

        def build() -> str:
            result = run_build(
                BuildRequest(root, project, "web", ref=sha), store=store, clock=RealClock()
            )
            assert result.succeeded, result.build.error
            return result.build.artifact or ""

        for _ in range(options.runs):
            shutil.rmtree(root / ".roost" / "cache", ignore_errors=True)
            cold.append(_timed(build))
            warm.append(_timed(build))
            hand.append(_timed(lambda: _by_hand_build(root, sha, scratch)))
        digest = store.builds.list(limit=1)[0].artifact or ""
        cached = sum(1 for s in store.builds.steps(store.builds.list(limit=1)[0].id) if s.cache_hit)
    layout = layout_of(root)
    _, manifest = layout.manifest(digest)
    size = sum(blob.size for blob in manifest.blobs)
    mib = size / (1 << 20)
    pushes, pulls, curl_pushes, curl_pulls = [], [], [], []
    name = "bench/web"
    with RegistryClient(base) as client:
        for run in range(options.runs):
            target = parse_registry_ref(f"{base}/{name}{run}:v1")
            pushes.append(_timed(lambda t=target: push(layout, digest, t, client)))
            elsewhere = OciLayout(scratch / f"pulled-{run}")
            pulls.append(_timed(lambda t=target, e=elsewhere: pull(client, t, e)))
            curl_pushes.append(
                _timed(lambda r=run: _curl_push(layout, digest, base, f"hand/web{r}"))
            )
            curl_pulls.append(
                _timed(lambda r=run: _curl_pull(layout, digest, base, f"hand/web{r}",
                                                scratch / f"curl-{r}"))
            )  # fmt: skip

    def rate(seconds: float) -> str:
        return f"{mib / seconds:.0f} MiB/s"

    def secs(value: float) -> str:
        return f"{value:.2f} s"

    return [
        (f"cold build ({len(STEPS)} steps, {mib:.1f} MiB artifact)", secs(_median(cold)),
         secs(_median(hand)), f"{_median(cold) / _median(hand):.2f}x"),
        (f"warm build ({cached} of {len(STEPS)} steps cached)", secs(_median(warm)),
         secs(_median(hand)), f"{_median(warm) / _median(hand):.2f}x"),
        (f"push {mib:.1f} MiB to docker-registry", rate(_median(pushes)),
         rate(_median(curl_pushes)), f"{_median(pushes) / _median(curl_pushes):.2f}x"),
        (f"pull {mib:.1f} MiB from docker-registry", rate(_median(pulls)),
         rate(_median(curl_pulls)), f"{_median(pulls) / _median(curl_pulls):.2f}x"),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
