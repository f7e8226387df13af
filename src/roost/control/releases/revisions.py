"""From a release to a running revision: the mapping onto the runtime's RevisionSpec, and the
control-plane operations that drive the agent (start, stop, scale, weights).

The mapping is pure (release config snapshot + environment → :class:`RevisionSpec`); the
operations are thin: they record what they do in the audit log and carry the control plane's
fencing token on every traffic change.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from roost.artifacts.errors import ArtifactError
from roost.artifacts.materializing import environment_for, materialize
from roost.control.releases.errors import ReleaseError
from roost.control.releases.vault import Vault
from roost.runtime import (
    ConfigFile,
    ExecProbe,
    HttpProbe,
    ProbeSpec,
    ProbesSpec,
    RevisionSpec,
    TcpProbe,
)
from roost.spec import Environment, Probe, Service
from roost.spec.fields import memory_bytes, status_bounds
from roost.store import ReleaseRecord

DEFAULT_GRACE_SECONDS = 10.0
OCI_PREFIX = "oci:"


def service_of(release: ReleaseRecord) -> Service:
    """The service settings frozen in a release's config snapshot."""
    return Service.model_validate(release.config)


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


def _probe(probe: Probe | None) -> ProbeSpec | None:
    if probe is None:
        return None
    timing = {
        "initial_delay": _seconds(probe.initial_delay),
        "period": _seconds(probe.period),
        "timeout": _seconds(probe.timeout),
        "success_threshold": probe.success_threshold,
        "failure_threshold": probe.failure_threshold,
    }
    if probe.http is not None:
        h = probe.http
        http = HttpProbe(
            path=h.path,
            port=h.port,
            scheme=h.scheme,
            headers=dict(h.headers),
            expect_status=status_bounds(h.expect_status),
        )
        return ProbeSpec(http=http, **timing)
    if probe.tcp is not None:
        return ProbeSpec(tcp=TcpProbe(port=probe.tcp.port), **timing)
    assert probe.exec is not None
    return ProbeSpec(exec=ExecProbe(command=tuple(probe.exec.command)), **timing)


def revision_spec(
    release: ReleaseRecord,
    *,
    environment_name: str,
    environment: Environment,
    root: Path,
    vault: Vault,
    replicas: int | None = None,
) -> RevisionSpec:
    """What the runtime runs for ``release`` in ``environment``.

    Secrets are the versions the release pinned, opened from ``vault``: a revision (a
    rollback's too) never runs with a secret other than the one it was released with.
    """
    service = service_of(release)
    secrets = {
        name: vault.resolve(
            name, pinned, environment=environment_name, release=release.id, root=root
        )
        for name, pinned in release.secrets.items()
    }
    probes = service.probes
    readiness = _probe(probes.readiness)
    if readiness is None:
        # roost.yaml promises "without a readiness probe, an open port means ready"; the
        # runtime (like Kubernetes) would call a replica ready before it listens.
        readiness = ProbeSpec(tcp=TcpProbe(), period=1.0, timeout=1.0)
    memory = None
    if service.resources is not None and service.resources.memory is not None:
        memory = memory_bytes(service.resources.memory)
    env: dict[str, Any] = {**environment.env, **service.env}
    workdir = Path(service.workdir or root)
    if release.artifact.startswith(OCI_PREFIX):
        # A built release runs from its own unpacked artifact with its own venv, so two
        # releases with different dependencies run side by side.
        try:
            workdir = materialize(release.artifact.removeprefix(OCI_PREFIX), root=root)
        except ArtifactError as exc:
            raise ReleaseError(
                f"release {release.id}: {exc}",
                hint="pull the artifact into this project first (roost artifacts pull)",
            ) from None
        env.update(environment_for(workdir))
    return RevisionSpec(
        service=service.name,
        revision=release.id,
        command=tuple(service.command),
        workdir=workdir,
        env={k: str(v) for k, v in env.items()},
        config_files=tuple(
            ConfigFile(path=f.path, content=(f.content or "").encode())
            for f in service.config_files
        ),
        secrets=secrets,
        replicas=service.replicas_in(environment_name) if replicas is None else replicas,
        port=service.port if isinstance(service.port, int) else None,
        probes=ProbesSpec(
            startup=_probe(probes.startup), readiness=readiness, liveness=_probe(probes.liveness)
        ),
        memory_limit_bytes=memory,
        grace_period=DEFAULT_GRACE_SECONDS,
    )
