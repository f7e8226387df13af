"""Choosing the lease backend from the environment, and naming participants.

``ROOST_LEASE_BACKEND``: ``sql`` (default: the state store, SQLite or PostgreSQL), ``etcd``
(with ``ROOST_ETCD_URL=http://host:2379`` and optionally ``ROOST_ETCD_PREFIX``) or
``kubernetes`` (in-cluster service account or ``KUBECONFIG``; namespace from
``ROOST_KUBERNETES_NAMESPACE``, default ``default``). The etcd and Kubernetes clients are only
imported when chosen.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping

from roost.clock import Clock
from roost.leases.errors import BackendConfigError
from roost.leases.protocol import LeaseBackend
from roost.leases.sql import SqlLeaseBackend
from roost.store import Store

ENV_BACKEND = "ROOST_LEASE_BACKEND"
ENV_ETCD_URL = "ROOST_ETCD_URL"
ENV_ETCD_PREFIX = "ROOST_ETCD_PREFIX"
ENV_KUBERNETES_NAMESPACE = "ROOST_KUBERNETES_NAMESPACE"
BACKENDS = ("sql", "etcd", "kubernetes")


def backend_kind(environ: Mapping[str, str] | None = None) -> str:
    """The configured backend kind; :class:`BackendConfigError` for an unknown one."""
    env = os.environ if environ is None else environ
    kind = (env.get(ENV_BACKEND) or "sql").strip().lower()
    if kind not in BACKENDS:
        raise BackendConfigError(
            f"{ENV_BACKEND}={kind!r} is not a lease backend roost knows ({', '.join(BACKENDS)})"
        )
    return kind


def open_backend(
    store: Store, *, environ: Mapping[str, str] | None = None, clock: Clock | None = None
) -> LeaseBackend:
    """The lease backend the environment asks for (``store`` backs the ``sql`` one)."""
    env = os.environ if environ is None else environ
    kind = backend_kind(env)
    if kind == "sql":
        return SqlLeaseBackend(store)
    if kind == "etcd":
        url = (env.get(ENV_ETCD_URL) or "").strip()
        if not url:
            raise BackendConfigError(
                f"{ENV_BACKEND}=etcd needs {ENV_ETCD_URL}",
                hint=f"set {ENV_ETCD_URL}=http://host:2379 (etcd's client URL)",
            )
        from roost.leases.etcd import DEFAULT_PREFIX, EtcdLeaseBackend

        prefix = env.get(ENV_ETCD_PREFIX) or DEFAULT_PREFIX
        return EtcdLeaseBackend(url, prefix=prefix, clock=clock)
    from roost.leases.kubernetes import KubernetesLeaseBackend

    namespace = env.get(ENV_KUBERNETES_NAMESPACE) or "default"
    return KubernetesLeaseBackend(namespace=namespace, clock=clock)


def new_identity(role: str = "roost") -> str:
    """A participant identity unique to this process: ``role@host/pid/random``. The random part
    keeps a restarted process that got the same pid from passing for its predecessor."""
    return f"{role}@{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"
