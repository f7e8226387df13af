"""roost.scan: SBOMs and offline vulnerability scanning with dependency paths.

    inventory = collect(Path(".venv"))                 # installed distributions + graph
    sbom_json = to_cyclonedx(inventory)                # CycloneDX 1.6
    with open_vulndb(root) as db:                      # .roost/vulndb/osv.sqlite
        db.import_path(Path("all.zip"), now=clock.now())
        result = scan(inventory, db, now=clock.now())  # findings with paths and fixes
    verdict = judge(result.findings, rules=project.scan.ignore,
                    settings=project.environments["production"].scan, now=clock.now())

Domain layer: it imports roost.artifacts (to unpack an artifact) and roost.spec (policy models),
never another domain; the deploy gate is roost.control.guards.scan (it scans through
roost.control.releases.scanning).
"""

from roost.scan.findings import Finding
from roost.scan.inventories import Component, Inventory, collect
from roost.scan.policy import Verdict, describe_finding, judge
from roost.scan.results import load_result, save_result
from roost.scan.sbom import NotAnSbom, read_sbom, to_cyclonedx, validate_cyclonedx
from roost.scan.scanning import ScanResult, scan
from roost.scan.subjects import Subject, load_subject
from roost.scan.vulndb import ImportReport, VulnDB, VulnDBError, default_base_url, open_vulndb

__all__ = [
    "Component",
    "Finding",
    "ImportReport",
    "Inventory",
    "NotAnSbom",
    "ScanResult",
    "Subject",
    "Verdict",
    "VulnDB",
    "VulnDBError",
    "collect",
    "default_base_url",
    "describe_finding",
    "judge",
    "load_result",
    "load_subject",
    "open_vulndb",
    "read_sbom",
    "save_result",
    "scan",
    "to_cyclonedx",
    "validate_cyclonedx",
]
