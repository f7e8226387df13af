"""Cutting a release from roost.yaml: the config snapshot and the pinned secret versions.

A release is immutable and self-contained: its config snapshot holds everything needed to run
it again later — the service's resolved settings and the *contents* of its config files (read
now, not at deploy time), so a rollback restores exactly what ran. Secret *values* are never
stored: the release pins each secret's reference, version and a digest of the value, and a
deploy re-reads the value and refuses when the digest no longer matches a pinned version.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack

from roost.spec import Project, Service
from roost.spec.names import ENV_NAME_RULE, env_name_problem, text_problem
from roost.store import ReleaseRecord, Store


class ReleaseError(Exception):
    """A release cannot be cut (unreadable config file, missing secret, ...)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def resolve_secret(reference: str, *, root: Path) -> str:
    """The value behind ``env:VAR`` or ``file:path``; vault references need a vault backend."""
    kind, _, where = reference.partition(":")
    if kind == "env":
        value = os.environ.get(where)
        if value is None:
            raise ReleaseError(
                f"secret {reference!r}: ${where} is not set", hint=f"export {where}=..."
            )
        return value
    if kind == "file":
        path = (root / where).resolve()
        try:
            return path.read_text().rstrip("\n")
        except OSError as exc:
            raise ReleaseError(
                f"secret {reference!r}: cannot read {path}: {exc.strerror}"
            ) from None
    raise ReleaseError(
        f"secret {reference!r}: the {kind!r} secret backend is not available on this machine",
        hint="use env:VAR or file:path for local runs",
    )


def secret_digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def config_snapshot(project: Project, service: Service, *, root: Path) -> dict[str, Any]:
    """The service's settings with defaults applied and config file contents inlined."""
    resolved = project.resolved_service(service.name)
    data: dict[str, Any] = resolved.model_dump(mode="json", by_alias=True)
    files = []
    for item in resolved.config_files:
        if item.content is not None:
            content = item.content
        else:
            assert item.source is not None
            source = root / item.source
            try:
                content = source.read_text()
            except OSError as exc:
                raise ReleaseError(
                    f"config file {item.path!r}: cannot read {source}: {exc.strerror}",
                    hint="fix `source` in roost.yaml or create the file",
                ) from None
        files.append({"path": item.path, "content": content})
    data["config_files"] = files
    data["workdir"] = str((root / (resolved.workdir or ".")).resolve())
    return data


def cut_release(
    store: Store,
    project: Project,
    service_name: str,
    *,
    root: Path,
    env_overrides: dict[str, str] | None = None,
    created_by: str,
    notes: str = "",
) -> ReleaseRecord:
    """Record a new immutable release of ``service_name`` from the current roost.yaml."""
    service = project.service(service_name)
    # Checked before anything is stored: a release is immutable, so a bad name cut into one
    # would break every later deploy of it.
    for name, value in (env_overrides or {}).items():
        if (problem := env_name_problem(name)) is not None:
            raise ReleaseError(problem, hint=ENV_NAME_RULE)
        if (problem := text_problem(value, multiline=True)) is not None:
            raise ReleaseError(f"environment variable {name}: {problem}")
    config = config_snapshot(project, service, root=root)
    if env_overrides:
        config["env"] = {**config.get("env", {}), **env_overrides}
    secrets = {}
    for ref in service.secrets:
        value = resolve_secret(ref.source, root=root)
        secrets[ref.name] = {
            "from": ref.source,
            "version": ref.version,
            "digest": secret_digest(value),
        }
    schema = service.db_schema
    return store.releases.create(
        service.name,
        artifact=f"dir:{config['workdir']}",
        config=config,
        secrets=secrets,
        schema_requires=schema.requires if schema is not None and schema.requires else "",
        schema_migrates_to=schema.migrates_to if schema is not None else None,
        created_by=created_by,
        notes=notes,
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class ReleaseFields(TypedDict):
    """What makes two releases of one service the same release (see :func:`same_release`)."""

    artifact: str
    config: Mapping[str, Any]
    secrets: Mapping[str, Any]
    schema_requires: str
    schema_migrates_to: int | None


def same_release(
    store: Store, service: str, **fields: Unpack[ReleaseFields]
) -> ReleaseRecord | None:
    """The release of ``service`` that already is this one — same artifact digest, config
    snapshot, pinned secrets and schema range — if any: one release per (service, artifact,
    config), so rebuilding the same commit does not cut a second release of the same thing."""
    wanted = (
        fields["artifact"],
        _canonical(fields["config"]),
        _canonical(fields["secrets"]),
        fields["schema_requires"],
        fields["schema_migrates_to"],
    )
    for record in store.releases.list(service, limit=1000):
        found = (
            record.artifact,
            _canonical(record.config),
            _canonical(record.secrets),
            record.schema_requires,
            record.schema_migrates_to,
        )
        if found == wanted:
            return record
    return None


def same_or_new_release(
    store: Store, service: str, *, created_by: str, notes: str, **fields: Unpack[ReleaseFields]
) -> ReleaseRecord:
    """The :func:`same_release` of ``fields``, or a new release cut with them: the fields are
    passed on once, so the lookup and the cut can never disagree about what "the same"
    means."""
    return same_release(store, service, **fields) or store.releases.create(
        service, **fields, created_by=created_by, notes=notes
    )
