"""The per-revision state file: what a restarted runtime needs to find its replicas again.

One small JSON file per revision holds the spec, the desired replica count and, per replica, the
identities (pid + start time) of its shim and its process, its port and restart count. It is
rewritten atomically (write to a temporary file, then rename) whenever any of that changes, so a
runtime killed at any instant leaves either the old or the new file, never half of one. It holds
the spec's secrets, hence mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from roost.runtime.local.processes import ProcessIdentity
from roost.runtime.specs import RevisionSpec

FORMAT_VERSION = 1
log = logging.getLogger("roost.runtime")


@dataclass(frozen=True)
class ReplicaRecord:
    """What is remembered about one replica."""

    index: int
    port: int | None
    shim: ProcessIdentity | None
    process: ProcessIdentity | None
    restarts: int = 0
    started_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """For the state file."""
        return {
            "index": self.index,
            "port": self.port,
            "shim": self.shim.to_json() if self.shim else None,
            "process": self.process.to_json() if self.process else None,
            "restarts": self.restarts,
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicaRecord:
        """From the state file."""
        return cls(
            index=int(data["index"]),
            port=data.get("port"),
            shim=ProcessIdentity.from_json(data["shim"]) if data.get("shim") else None,
            process=ProcessIdentity.from_json(data["process"]) if data.get("process") else None,
            restarts=int(data.get("restarts", 0)),
            started_at=data.get("started_at"),
        )


@dataclass(frozen=True)
class RevisionState:
    """The content of one state file."""

    spec: RevisionSpec
    desired_replicas: int
    replicas: dict[int, ReplicaRecord] = field(default_factory=dict)


def save_state(path: Path, state: RevisionState) -> None:
    """Atomically replace ``path`` with ``state`` (mode 0600)."""
    data = {
        "version": FORMAT_VERSION,
        # Through JSON mode both ways: that is where config bytes become base64 and back.
        "spec": json.loads(state.spec.model_dump_json()),
        "desired_replicas": state.desired_replicas,
        "replicas": [record.to_json() for _, record in sorted(state.replicas.items())],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(tmp, path)


def load_state(path: Path) -> RevisionState:
    """Read a state file; raises ``ValueError`` with a one-line reason if it is unusable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read state file: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a roost runtime state file of version {FORMAT_VERSION}")
    try:
        spec = RevisionSpec.model_validate_json(json.dumps(data["spec"]))
        records = [ReplicaRecord.from_json(item) for item in data.get("replicas", [])]
        desired = int(data["desired_replicas"])
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"{path}: damaged state file: {first}") from None
    return RevisionState(
        spec=spec, desired_replicas=desired, replicas={r.index: r for r in records}
    )


def find_state_files(state_dir: Path) -> list[Path]:
    """Every revision state file under ``state_dir``, in a stable order."""
    return sorted((state_dir / "revisions").glob("*/*/state.json"))
