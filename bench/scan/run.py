"""Benchmark: import OSV records and scan a large installed environment — with the index, and
next to a naive scan without it.

    .venv/bin/python bench/scan/run.py [--records 12000] [--synthetic 200] [--runs 3]

The environment is this project's own ``.venv`` (its real ``*.dist-info``) plus ``--synthetic``
generated distributions with ``Requires-Dist`` chains between them, so there are well over 200
installed distributions and paths several levels deep. The OSV records are **generated**: the
real OSV dump is not at hand offline. They are shaped like published PyPI advisories (GHSA ids
with CVE aliases, PYSEC twins aliasing them, ECOSYSTEM ranges with introduced / fixed /
last_affected events, explicit ``versions`` lists, CVSS v3.1 and v4.0 vectors) and spread
over ~3,000 package names, a tenth of them names that are installed.

- import: ``roost vulndb import`` of an ``all.zip`` holding every record (JSON parse, schema
  validation, SQLite write with the (ecosystem, package) index).
- scan: inventory of the environment (metadata + graph) + index look-ups + range matching +
  alias merging + dependency paths, as ``roost scan`` does it.
- naive baseline: for every installed distribution, parse and validate every record of the
  dump and match it — what a scanner without an index does.

Memory: peak of Python allocations (tracemalloc) during each phase, and the process RSS after
it (psutil). Medians over ``--runs``. Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from roost.scan import collect, scan
from roost.scan.inventories import Inventory
from roost.scan.matching import match_record, merge
from roost.scan.osv import parse_record
from roost.scan.vulndb import VulnDB

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, tzinfo=UTC)
VECTORS = (
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
)


def _synthesize_site(site: Path, count: int, rng: random.Random) -> None:
    """``count`` distributions ``synth-pkg-N``; each requires up to three later ones."""
    for n in range(count):
        folder = site / f"synth_pkg_{n}-1.{n % 7}.{n % 3}.dist-info"
        folder.mkdir(parents=True)
        lines = ["Metadata-Version: 2.1", f"Name: synth-pkg-{n}", f"Version: 1.{n % 7}.{n % 3}"]
        for child in sorted(rng.sample(range(n + 1, count), k=min(3, count - n - 1))):
            lines.append(f"Requires-Dist: synth-pkg-{child}>=1.0")
        lines.append("Requires-Dist: synth-extra-only>=1; extra == 'never'")
        (folder / "METADATA").write_text("\n".join(lines) + "\n\n")


def _record(i: int, name: str, rng: random.Random) -> list[dict[str, Any]]:
    major = rng.randint(0, 3)
    fixed = f"{major}.{rng.randint(1, 9)}.{rng.randint(0, 5)}"
    events: list[dict[str, str]] = [{"introduced": "0"}, {"fixed": fixed}]
    if i % 11 == 0:
        events = [{"introduced": f"{major}.0"}, {"last_affected": fixed}]
    cve = f"CVE-20{18 + i % 8}-{10000 + i}"
    ghsa = f"GHSA-{i:04x}-bench-{i % 97:04x}"
    when = (NOW - timedelta(days=i % 900)).isoformat().replace("+00:00", "Z")
    base = {
        "schema_version": "1.6.0",
        "id": ghsa,
        "modified": when,
        "published": when,
        "aliases": [cve],
        "summary": f"Synthetic advisory {i} for {name}",
        "details": "Generated for the benchmark: shaped like a GitHub-reviewed advisory. " * 3,
        "severity": [
            {
                "type": "CVSS_V4" if "4.0" in (v := VECTORS[i % 6]) else "CVSS_V3",
                "score": v,
            }
        ],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name}"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "versions": [f"{major}.{m}.0" for m in range(5)],
                "database_specific": {"source": "bench"},
            }
        ],
        "references": [{"type": "ADVISORY", "url": f"https://example.invalid/{ghsa}"}],
        "database_specific": {"severity": "MODERATE", "cwe_ids": ["CWE-400"]},
    }
    out = [base]
    if i % 3 == 0:  # a PYSEC twin aliasing the GHSA: merged into one finding
        twin = json.loads(json.dumps(base))
        twin["id"] = f"PYSEC-20{18 + i % 8}-{i}"
        twin["aliases"] = [cve, ghsa]
        del twin["severity"]
        out.append(twin)
    return out


def _dump(path: Path, records: int, installed: list[str], rng: random.Random) -> int:
    names = [f"pypi-project-{n}" for n in range(2700)] + installed[:300]
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        i = 0
        while written < records:
            for item in _record(i, rng.choice(names), rng):
                out.writestr(f"{item['id']}.json", json.dumps(item))
                written += 1
            i += 1
    return written


def _measure(action: Callable[[], Any]) -> tuple[float, float, float, Any]:
    tracemalloc.start()
    start = time.perf_counter()
    value = action()
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = psutil.Process().memory_info().rss
    return took, peak / 2**20, rss / 2**20, value


def _naive(inventory: Inventory, dump: Path) -> int:
    """No index: every record parsed and matched against every installed distribution."""
    with zipfile.ZipFile(dump) as zipped:
        texts = [zipped.read(n) for n in zipped.namelist()]
    matches = []
    for component in inventory.components.values():
        for text in texts:
            record = parse_record(json.loads(text))
            match, _ = match_record(record, name=component.name, version=component.version)
            if match is not None:
                matches.append(match)
    return len(merge(matches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=12000)
    parser.add_argument("--synthetic", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-packages", type=int, default=0, help="0: all of them")
    args = parser.parse_args()
    rng = random.Random(8)  # noqa: S311 - reproducible synthetic data, not secrets
    with tempfile.TemporaryDirectory(prefix="roost-bench-scan-") as temp:
        tmp = Path(temp)
        env = tmp / "env"
        site = env / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
        site.mkdir(parents=True)
        _synthesize_site(site, args.synthetic, rng)
        real = next((REPO / ".venv" / "lib").glob("python*/site-packages"))
        for dist in real.glob("*.dist-info"):
            target = site / dist.name
            target.mkdir()
            (target / "METADATA").write_bytes((dist / "METADATA").read_bytes())
        inventory = collect(env, name="bench")
        installed = [c.name for c in inventory.components.values()]
        dump = tmp / "all.zip"
        written = _dump(dump, args.records, installed, rng)
        rows: dict[str, list[tuple[float, float, float]]] = {}
        found = naive_found = 0
        for run in range(args.runs):
            db_path = tmp / f"db{run}.sqlite"
            with VulnDB(db_path) as db:
                took, peak, rss, _ = _measure(lambda db=db: db.import_path(dump, now=NOW))
                rows.setdefault("import all.zip → SQLite index", []).append((took, peak, rss))
                took, peak, rss, result = _measure(
                    lambda db=db: scan(collect(env, name="bench"), db, now=NOW)
                )
                rows.setdefault("scan (inventory + index + paths)", []).append((took, peak, rss))
                found = len(result.findings)
        subset = inventory
        if args.naive_packages:
            keep = dict(list(inventory.components.items())[: args.naive_packages])
            subset = Inventory("subset", components=keep)
        took, peak, rss, naive_found = _measure(lambda: _naive(subset, dump))
        naive_label = f"naive: no index, {len(subset.components)} packages"
        rows[naive_label] = [(took, peak, rss)]

    print(
        f"environment: {len(inventory.components)} distributions "
        f"({args.synthetic} synthetic + {len(inventory.components) - args.synthetic} from .venv), "
        f"{sum(len(c) for c in inventory.edges.values())} edges; "
        f"OSV records: {written} generated (~{written // 4} PYSEC twins merged as aliases)"
    )
    print(
        f"findings: {found} (indexed scan of all packages); naive baseline over "
        f"{len(subset.components)} packages found {naive_found}"
    )
    print()
    print(f"{'phase':<48}{'time s':>10}{'peak MiB':>10}{'RSS MiB':>10}")
    for name, values in rows.items():
        med = [statistics.median(v[k] for v in values) for k in range(3)]
        print(f"{name:<48}{med[0]:>10.3f}{med[1]:>10.1f}{med[2]:>10.1f}")
    naive = rows[naive_label][0][0] * len(inventory.components) / len(subset.components)
    indexed = statistics.median(v[0] for v in rows["scan (inventory + index + paths)"])
    print()
    print(
        f"naive baseline scaled to all {len(inventory.components)} packages: {naive:.0f} s; "
        f"the indexed scan is {naive / indexed:.0f}x faster"
    )


if __name__ == "__main__":
    main()
