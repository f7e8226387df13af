"""Sealed secrets for releases: ``roost secret set``, and the secret versions a release pins.

Every secret a release reads is pinned as a *version in the secret store*, so that a rollback
restores exactly the values it ran with (ARCHITECTURE.md, principle 2):

* ``roost:NAME[@VERSION]`` — a version set with ``roost secret set`` (default: the latest one
  when the release is cut; versions set ``--env ENV`` win in that environment);
* ``env:VAR`` — the value of ``$VAR`` *where the deploy is issued* (the CLI sends it), sealed
  on arrival as a version of the stored secret ``env:VAR``;
* ``file:path`` — the file inside the project, read when the release is cut and sealed as a
  version of ``file:path``.

A version whose value did not change is reused (compared by keyed digest), so cutting the
same release again pins the same versions. A pin shows the version and a keyed digest
(:mod:`roost.secrets.digests`), never a value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from roost._util import event_catalog
from roost.control.releases.errors import ReleaseError
from roost.control.releases.project_files import read_project_file
from roost.control.workspace import Workspace
from roost.secrets import (
    Digester,
    KeyRing,
    Sealed,
    SealingError,
    SecretKeyError,
    is_plain_digest,
    open_value,
    seal_value,
    wrap_key,
)
from roost.secrets.envelope import unwrap_key
from roost.spec.services import (
    SECRET_NAME_RULE,
    SecretRef,
    parse_stored_reference,
)
from roost.store import NotFound, SecretVersionRecord, Store
from roost.store.secrets import StaleKey

MAX_SECRET_BYTES = 64 * 1024
ALL_ENVIRONMENTS = ""


def _context(name: str, version: int) -> str:
    """Associated data: a sealed value opens only as this name and version."""
    return f"roost secret\0{name}\0{version}"


def _sealed(record: SecretVersionRecord) -> Sealed:
    return Sealed(
        ciphertext=record.ciphertext, wrapped_key=record.wrapped_key, kek_id=record.kek_id
    )


def value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a secret (never quoting it), or None."""
    if not value:
        return "the value is empty"
    if len(value.encode()) > MAX_SECRET_BYTES:
        return f"the value is longer than {MAX_SECRET_BYTES // 1024} KiB"
    if "\0" in value:
        return "the value holds a NUL character (an environment variable cannot)"
    return None


class Vault:
    """The secret store of one project, opened with its :class:`KeyRing`."""

    def __init__(self, store: Store, keys: KeyRing) -> None:
        self.store = store
        self.keys = keys

    @property
    def digester(self) -> Digester:
        return Digester(self.keys.digest_key())

    # -- writing --------------------------------------------------------------------------------

    def set(
        self, name: str, value: str, *, scope: str = ALL_ENVIRONMENTS, by: str
    ) -> SecretVersionRecord:
        """Store ``value`` as the next version of ``name`` (for ``scope``, or everywhere)."""
        if (problem := value_problem(value)) is not None:
            raise ReleaseError(f"secret {name}: {problem}")
        digest = self.digester.digest(value)

        def seal(version: int) -> tuple[str, str, str]:
            kek_id, kek = self.keys.kek()
            sealed = seal_value(kek, value, kek_id=kek_id, context=_context(name, version))
            return sealed.ciphertext, sealed.wrapped_key, sealed.kek_id

        def add() -> SecretVersionRecord:
            return self.store.secrets.add(
                name, scope=scope, seal=seal, digest=digest, created_by=by
            )

        try:
            record = add()
        except StaleKey:
            # The key was rotated since this process read it: read it again, once.
            self.keys.reload()
            try:
                record = add()
            except StaleKey as exc:
                raise ReleaseError(
                    f"secret {name}: {exc}",
                    hint=f"the key in {self.keys.describe()} is not the one the store uses",
                ) from None
        # Audited like every change, with what identifies the version and nothing of its value.
        self.store.events.append(
            event_catalog.SECRET_SET,
            source=event_catalog.SOURCE_SECRETS,
            subject=name,
            data={"name": name, "version": record.version, "environment": scope or None},
            actor=by,
        )
        return record

    def set_named(
        self, name: str, value: str, *, scope: str = ALL_ENVIRONMENTS, by: str
    ) -> SecretVersionRecord:
        """:meth:`set` for a name a person chose (``roost secret set NAME``)."""
        try:
            parse_stored_reference(name)
        except ValueError:
            raise ReleaseError(f"{name!r} is not a secret name", hint=SECRET_NAME_RULE) from None
        return self.set(name, value, scope=scope, by=by)

    def _seal_source(self, source: str, value: str, *, by: str) -> SecretVersionRecord:
        """The version of ``source`` (env:VAR, file:path) holding ``value``: the latest one
        when it holds the same value, else a new one."""
        versions = self.store.secrets.versions(source)
        if versions and self.digester.matches(value, versions[0].digest):
            return versions[0]
        return self.set(source, value, by=by)

    # -- reading --------------------------------------------------------------------------------

    def value(self, record: SecretVersionRecord) -> str:
        """The clear value of ``record`` (only for handing it to a replica)."""
        kek = self.keys.kek_for(record.kek_id)
        try:
            return open_value(kek, _sealed(record), context=_context(record.name, record.version))
        except SealingError as exc:
            raise ReleaseError(
                f"secret {record.name} version {record.version} {exc}",
                hint="was the row edited, or sealed under another key?",
            ) from None

    def names(self) -> dict[str, list[SecretVersionRecord]]:
        """Every stored secret's versions (newest first), by name."""
        found: dict[str, list[SecretVersionRecord]] = {}
        for record in self.store.secrets.versions():
            found.setdefault(record.name, []).append(record)
        return found

    def versions(self, name: str) -> list[SecretVersionRecord]:
        return self.store.secrets.versions(name)

    def unknown_names(self, refs: Iterable[str]) -> list[str]:
        """The ``roost:`` references among ``refs`` that name no stored secret/version."""
        missing = []
        for ref in refs:
            if not ref.startswith("roost:"):
                continue
            name, version = parse_stored_reference(ref)
            versions = self.store.secrets.versions(name)
            if not versions or (
                version is not None and all(r.version != version for r in versions)
            ):
                missing.append(ref)
        return missing

    # -- pinning --------------------------------------------------------------------------------

    def pin_all(
        self,
        refs: Iterable[SecretRef],
        *,
        root: Path,
        secret_env: Mapping[str, str],
        by: str,
    ) -> dict[str, Any]:
        """Pin every secret of a service for a release being cut (see the module docstring)."""
        return {
            ref.name: self.pin(ref.source, root=root, secret_env=secret_env, by=by) for ref in refs
        }

    def pin(
        self, source: str, *, root: Path, secret_env: Mapping[str, str], by: str
    ) -> dict[str, Any]:
        kind, _, where = source.partition(":")
        if kind == "roost":
            return self._pin_stored(source)
        if kind == "env":
            value = secret_env.get(where)
            if value is None:
                raise ReleaseError(
                    f"secret {source!r}: ${where} is not set where the deploy was issued",
                    hint=f"export {where}=... in the shell that runs `roost deploy` / `roost up`, "
                    f"or store it: `roost secret set {where}` and from: roost:{where}",
                )
        elif kind == "file":
            value = read_project_file(source, root=root)
        else:
            raise ReleaseError(
                f"secret {source!r}: the {kind!r} secret backend is not available on this machine",
                hint="use roost:NAME, env:VAR or file:path",
            )
        if (problem := value_problem(value)) is not None:
            raise ReleaseError(f"secret {source!r}: {problem}")
        record = self._seal_source(source, value, by=by)
        return {"from": source, "version": record.version, "digest": record.digest}

    def _pin_stored(self, source: str) -> dict[str, Any]:
        name, wanted = parse_stored_reference(source)
        versions = self.store.secrets.versions(name)
        hint = f"`roost secret set {name}` stores one; `roost secret list` shows them"
        if not versions:
            raise ReleaseError(f"secret {source!r}: no secret {name!r} is stored", hint=hint)
        if wanted is not None:
            chosen = [r for r in versions if r.version == wanted]
            if not chosen:
                raise ReleaseError(
                    f"secret {source!r}: {name} has no version {wanted}",
                    hint=f"`roost secret versions {name}` lists them",
                )
            versions = chosen
        pin: dict[str, Any] = {"from": source, "version": None, "digest": None}
        scoped: dict[str, Any] = {}
        for record in versions:  # newest first: the first of each scope is its latest
            if record.scope == ALL_ENVIRONMENTS:
                if pin["version"] is None:
                    pin["version"], pin["digest"] = record.version, record.digest
            elif record.scope not in scoped:
                scoped[record.scope] = {"version": record.version, "digest": record.digest}
        if scoped:
            pin["environments"] = scoped
        return pin

    # -- resolving ------------------------------------------------------------------------------

    def resolve(
        self, name: str, pin: Mapping[str, Any], *, environment: str, release: str, root: Path
    ) -> str:
        """The value pinned as ``name`` in ``release``, for ``environment``."""
        source = str(pin.get("from"))
        chosen = (pin.get("environments") or {}).get(environment) or pin
        version = chosen.get("version")
        if not isinstance(version, int):
            if pin.get("environments") and source.startswith("roost:"):
                raise ReleaseError(
                    f"secret {name} ({source}) of release {release} has no version for "
                    f"{environment}",
                    hint=f"`roost secret set {source.removeprefix('roost:').split('@')[0]}` "
                    f"(or with --env {environment}), then cut a new release",
                )
            return self._resolve_legacy(name, pin, release=release, root=root)
        stored = source if not source.startswith("roost:") else parse_stored_reference(source)[0]
        try:
            record = self.store.secrets.get(stored, version)
        except NotFound:
            raise ReleaseError(
                f"secret {name} ({source}) version {version} pinned by release {release} is gone",
                hint="cut a new release",
            ) from None
        return self.value(record)

    def _resolve_legacy(
        self, name: str, pin: Mapping[str, Any], *, release: str, root: Path
    ) -> str:
        """A release cut before sealed secrets pinned a digest only: read the source again
        (the control plane's own environment for env:, as those releases did) and check it."""
        source = str(pin.get("from"))
        kind, _, where = source.partition(":")
        if kind == "env" and where in os.environ:
            value = os.environ[where]
        elif kind == "file":
            value = read_project_file(source, root=root)
        else:
            raise ReleaseError(
                f"secret {name} ({source}) of release {release} cannot be read again",
                hint="cut a new release",
            )
        if not self.digester.matches(value, pin.get("digest")):
            raise ReleaseError(
                f"secret {name} ({source}) changed since release {release} was cut",
                hint="cut a new release to pick up the new value, or restore the old one",
            )
        return value

    # -- digests of old releases ----------------------------------------------------------------

    def rekey_legacy_digests(self) -> list[str]:
        """Replace every plain ``sha256:`` digest pinned by a release with its keyed form;
        the ids of the releases changed."""
        changed = []
        for release in self.store.releases.list(limit=1_000_000):
            pins = release.secrets
            if not any(
                isinstance(p, dict) and is_plain_digest(p.get("digest")) for p in pins.values()
            ):
                continue
            digester = self.digester
            rekeyed = {
                name: {**pin, "digest": digester.rekey_legacy(pin["digest"])}
                if isinstance(pin, dict) and is_plain_digest(pin.get("digest"))
                else pin
                for name, pin in pins.items()
            }
            self.store.releases.rekey_digests(release.id, rekeyed)
            changed.append(release.id)
        return changed

    # -- key rotation ---------------------------------------------------------------------------

    def rotate_key(
        self,
        new_key: bytes | None = None,
        *,
        by: str,
        check: Callable[[str, int], None] | None = None,
    ) -> tuple[str, int]:
        """Re-wrap every data key under a new KEK, in one store transaction: all rows move
        to the new KEK, or (on any error) none does and the current KEK stays. ``check`` is
        called for each row before it is re-wrapped (a hook for progress, or to stop)."""
        old_id, _ = self.keys.kek(create=True)
        new = self.keys.prepare_rotation(new_key)
        new_id, new_kek = new
        if new_id == old_id:
            self.keys.abandon_rotation()
            raise ReleaseError("the new key is the current key", hint="give a different key")

        def rewrap(name: str, version: int, wrapped: str, kek_id: str) -> tuple[str, str]:
            if check is not None:
                check(name, version)
            context = _context(name, version)
            try:
                data_key = unwrap_key(
                    self.keys.kek_for(kek_id), wrapped, kek_id=kek_id, context=context
                )
            except SealingError as exc:
                raise ReleaseError(f"secret {name} version {version}: the data key {exc}") from None
            return wrap_key(new_kek, data_key, kek_id=new_id, context=context), new_id

        try:
            count = self.store.secrets.rewrap(rewrap)
        except BaseException:
            self.keys.abandon_rotation()
            raise
        self.keys.finish_rotation(new)
        self.store.events.append(
            event_catalog.SECRET_KEY_ROTATED,
            source=event_catalog.SOURCE_SECRETS,
            data={"key": new_id, "previous_key": old_id, "data_keys": count},
            actor=by,
        )
        return new_id, count

    def __repr__(self) -> str:
        return f"Vault({self.store!r}, {self.keys!r})"


def vault_of(ws: Workspace) -> Vault:
    """The sealed secrets of workspace ``ws``."""
    return Vault(ws.store, ws.keys)


__all__ = [
    "MAX_SECRET_BYTES",
    "SecretKeyError",
    "Vault",
    "read_project_file",
    "value_problem",
    "vault_of",
]
