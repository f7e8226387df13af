"""The per-revision state file: what a restarted runtime needs to find its replicas again.

One small JSON file per revision holds the spec, the desired replica count and, per replica, the
identities (pid + start time) of its shim and its process, its port and restart count. It is
rewritten atomically (write to a temporary file, then rename) whenever any of that changes, so a
runtime killed at any instant leaves either the old or the new file, never half of one.

The spec is stored *without* its secret values: they are sealed (``sealed_secrets``) with a key
kept outside the project, see :mod:`roost.runtime.local.sealing`. A version 1 file (secrets in
plain text, written by an older roost) is still read, and rewritten sealed as soon as the
revision is adopted. The file is 0600 all the same.
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
from roost.runtime.local.sealing import Sealer, SealError
from roost.runtime.specs import RevisionSpec

FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, FORMAT_VERSION)
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


def _context(spec: RevisionSpec) -> str:
    # Binds a sealed blob to its revision: pasted into another revision's file, it does not open.
    return f"{spec.service}/{spec.revision}"


def save_state(path: Path, state: RevisionState, *, sealer: Sealer) -> None:
    """Atomically replace ``path`` with ``state`` (mode 0600), its secrets sealed."""
    # Through JSON mode both ways: that is where config bytes become base64 and back.
    spec = json.loads(state.spec.model_dump_json(exclude={"secrets"}))
    data = {
        "version": FORMAT_VERSION,
        "spec": spec,
        "sealed_secrets": (
            sealer.seal(state.spec.secrets, context=_context(state.spec))
            if state.spec.secrets
            else None
        ),
        "desired_replicas": state.desired_replicas,
        "replicas": [record.to_json() for _, record in sorted(state.replicas.items())],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(tmp, path)


def load_state(path: Path, *, sealer: Sealer) -> RevisionState:
    """Read a state file and unseal its secrets; raises ``ValueError`` with a one-line reason if
    it is unusable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read state file: {exc}") from None
    if not isinstance(data, dict) or data.get("version") not in _READABLE_VERSIONS:
        raise ValueError(f"{path}: not a roost runtime state file of version {FORMAT_VERSION}")
    try:
        spec = RevisionSpec.model_validate_json(json.dumps(data["spec"]))
        sealed = data.get("sealed_secrets")
        if sealed is not None:
            if not isinstance(sealed, str):
                raise ValueError("sealed_secrets is not a text")
            secrets = sealer.unseal(sealed, context=_context(spec))
            spec = RevisionSpec.model_validate_json(
                json.dumps({**data["spec"], "secrets": secrets})
            )
        records = [ReplicaRecord.from_json(item) for item in data.get("replicas", [])]
        desired = int(data["desired_replicas"])
    except SealError as exc:
        raise ValueError(f"{path}: cannot unseal its secrets: {exc}") from None
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"{path}: damaged state file: {first}") from None
    return RevisionState(
        spec=spec, desired_replicas=desired, replicas={r.index: r for r in records}
    )


def find_state_files(state_dir: Path) -> list[Path]:
    """Every revision state file under ``state_dir``, in a stable order."""
    return sorted((state_dir / "revisions").glob("*/*/state.json"))
