"""Cutting a release from roost.yaml: the config snapshot and the pinned secret versions.

A release is immutable and self-contained: its config snapshot holds everything needed to run
it again later — the service's resolved settings and the *contents* of its config files (read
now, not at deploy time), so a rollback restores exactly what ran. Secret *values* are never
stored in the release: it pins each secret's version in the sealed secret store and a keyed
digest of its value (:mod:`roost.control.releases.vault`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack

from roost.control.releases.errors import ReleaseError
from roost.control.releases.vault import Vault
from roost.spec import Project, Service
from roost.spec.names import ENV_NAME_RULE, env_name_problem, text_problem
from roost.store import ReleaseRecord, Store


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
    vault: Vault,
    secret_env: Mapping[str, str] | None = None,
    env_overrides: dict[str, str] | None = None,
    created_by: str,
    notes: str = "",
) -> ReleaseRecord:
    """Record a new immutable release of ``service_name`` from the current roost.yaml.

    ``secret_env`` holds the values of its ``env:`` secrets, read where the deploy was issued
    (never this process's own environment); they are sealed into ``vault`` and pinned."""
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
    secrets = vault.pin_all(service.secrets, root=root, secret_env=secret_env or {}, by=created_by)
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


__all__ = ["ReleaseError", "config_snapshot", "cut_release", "same_or_new_release", "same_release"]


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
