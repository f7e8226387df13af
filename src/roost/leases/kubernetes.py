"""Leases as Kubernetes ``coordination.k8s.io/v1`` Lease objects, through the official client.

No cluster runs on roost's development machines: this backend is tested against an in-process
fake of the Lease endpoints that follows the API's documented semantics (optimistic concurrency
on ``metadata.resourceVersion``: a stale update is a 409 Conflict; create of an existing name is
409 AlreadyExists; MicroTime parsed as RFC 3339 with exactly six fraction digits), and every
object it writes is validated offline against the official schema (``kubernetes-validate``).

Mapping. ``spec.holderIdentity``, ``acquireTime``, ``renewTime``, ``leaseTransitions`` and
``leaseDurationSeconds`` (whole seconds, rounded up) are what ``kubectl`` and client-go show.
roost adds annotations: ``roost.dev/lease-name`` (the roost name; object names must be DNS
subdomains, so ``deploy/web`` becomes ``deploy-web-<hash>``), ``roost.dev/duration-seconds``
(the exact duration), ``roost.dev/reason`` and ``roost.dev/fencing-token``.

**Fencing token.** ``resourceVersion`` is opaque (clients must not compare it for order), so the
token is kept in the annotation and incremented on every change of holder. To survive deletion
of the Lease (``kubectl delete lease``) the high-water mark also lives in one counter object per
namespace (a Lease named ``roost-fencing-tokens``, one annotation per lease), bumped with a
compare-and-swap before each change of holder, the way the SQL store keeps a counters table.
"""

from __future__ import annotations

import builtins
import hashlib
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from roost.clock import Clock, RealClock
from roost.leases._checks import require_duration, require_name, require_reason
from roost.leases._k8s_naming import (
    ANNOTATION_DURATION,
    ANNOTATION_NAME,
    ANNOTATION_REASON,
    ANNOTATION_TOKEN,
    COUNTER_OBJECT,
    LABEL_KIND,
    LABEL_MANAGED_BY,
    micro_time,
    object_name,
)
from roost.leases.errors import BackendConfigError, BackendUnavailable, LeaseLost, NotHolder
from roost.leases.records import Lease

try:
    import urllib3
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
except ImportError as exc:  # an optional extra: say how to get it instead of a traceback
    raise BackendConfigError(
        f"the Kubernetes lease backend needs the kubernetes client, which is not installed "
        f"({exc.name})",
        hint="install roost with Kubernetes support: pip install 'roost[kubernetes]'",
    ) from None

_COUNTER_ATTEMPTS = 20
T = TypeVar("T")


class _ApiClient(k8s.ApiClient):
    """The official ApiClient, except that datetimes go out as MicroTime (see micro_time)."""

    def sanitize_for_serialization(self, obj: Any) -> Any:
        if isinstance(obj, datetime):
            return micro_time(obj)
        return super().sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]


class KubernetesLeaseBackend:
    """Leases as Lease objects in ``namespace``.

    ``configuration`` is a ``kubernetes.client.Configuration``; None loads the usual one
    (in-cluster service account, else ``~/.kube/config`` / ``KUBECONFIG``).
    """

    kind = "kubernetes"

    def __init__(
        self,
        configuration: k8s.Configuration | None = None,
        *,
        namespace: str = "default",
        clock: Clock | None = None,
        timeout: float = 5.0,
    ) -> None:
        if configuration is None:
            configuration = _load_configuration()
        self.namespace = namespace
        self._clock = clock or RealClock()
        self._timeout = timeout
        self._api_client = _ApiClient(configuration)
        self._api = k8s.CoordinationV1Api(self._api_client)
        self.host = configuration.host

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> Lease | None:
        require_name(name)
        found = self._read(object_name(name))
        return None if found is None else self._lease(found, expected_name=name)

    def list(self) -> builtins.list[Lease]:
        found = self._call(
            "list leases",
            lambda: self._api.list_namespaced_lease(
                self.namespace, label_selector=f"{LABEL_KIND}=lease", _request_timeout=self._timeout
            ),
        )
        assert not isinstance(found, int)
        leases = [self._lease(item) for item in found.items]
        return sorted(leases, key=lambda lease: lease.name)

    # -- changing --------------------------------------------------------------------------

    def acquire(
        self,
        name: str,
        holder: str,
        *,
        duration_seconds: float,
        expected_version: str | None = None,
        reason: str | None = None,
    ) -> Lease | None:
        require_name(name)
        require_name(holder, "lease holder")
        require_reason(reason)
        duration_seconds = require_duration(duration_seconds)
        oname = object_name(name)
        current = self._read(oname)
        now = self._clock.now()
        if current is not None:
            lease = self._lease(current, expected_name=name)
            if lease.holder == holder:
                return self._write_renewal(current, lease, now, duration_seconds, reason)
            if lease.holder is not None and expected_version != lease.version:
                return None
        before = None if current is None else self._lease(current)
        token = self._next_token(oname, 0 if before is None else before.fencing_token)
        transitions = 0 if before is None else before.transitions + 1
        tenure = Lease(name, holder, duration_seconds, now, now, transitions, token, "", reason)
        body = self._body(tenure, current)
        return self._create(body, name) if current is None else self._replace(body, name)

    def renew(self, name: str, holder: str, *, duration_seconds: float | None = None) -> Lease:
        require_name(name)
        if duration_seconds is not None:
            duration_seconds = require_duration(duration_seconds)
        current = self._read(object_name(name))
        if current is None:
            raise LeaseLost(f"{holder!r} lost lease {name!r}: it no longer exists")
        lease = self._lease(current, expected_name=name)
        if lease.holder != holder:
            who = "it has been released" if lease.holder is None else f"{lease.holder!r} holds it"
            raise LeaseLost(f"{holder!r} lost lease {name!r}: {who}")
        duration = lease.duration_seconds if duration_seconds is None else duration_seconds
        renewed = self._write_renewal(current, lease, self._clock.now(), duration, None)
        if renewed is None:
            raise LeaseLost(f"{holder!r} lost lease {name!r}: it changed meanwhile")
        return renewed

    def release(self, name: str, holder: str) -> Lease | None:
        require_name(name)
        current = self._read(object_name(name))
        if current is None:
            return None
        lease = self._lease(current, expected_name=name)
        if lease.holder is None:
            return lease
        if lease.holder != holder:
            raise NotHolder(
                f"cannot release lease {name!r}: it is held by {lease.holder!r}, not {holder!r}"
            )
        body = self._body(replace(lease, holder=None, reason=None), current)
        released = self._replace(body, name)
        if released is None:
            raise NotHolder(f"lease {name!r} changed while {holder!r} was releasing it")
        return released

    def delete(self, name: str) -> bool:
        require_name(name)
        answer = self._call(
            f"delete lease {name!r}",
            lambda: self._api.delete_namespaced_lease(
                object_name(name), self.namespace, _request_timeout=self._timeout
            ),
            expected=(404,),
        )
        return not isinstance(answer, int)

    def close(self) -> None:
        self._api_client.close()  # type: ignore[no-untyped-call]
        self._api_client.rest_client.pool_manager.clear()

    def __repr__(self) -> str:
        return f"KubernetesLeaseBackend({self.host!r}, namespace={self.namespace!r})"

    # -- internals -------------------------------------------------------------------------

    def _write_renewal(
        self,
        current: k8s.V1Lease,
        lease: Lease,
        now: datetime,
        duration_seconds: float,
        reason: str | None,
    ) -> Lease | None:
        renewed = replace(
            lease,
            renewed_at=now,
            duration_seconds=duration_seconds,
            reason=lease.reason if reason is None else reason,
        )
        return self._replace(self._body(renewed, current), lease.name)

    def _body(self, lease: Lease, current: k8s.V1Lease | None) -> k8s.V1Lease:
        """The Lease to write. Updating ``current`` carries its resourceVersion (a stale one is a
        409 Conflict) and its uid: the API server creates a Lease that a PUT finds missing
        (Leases allow create-on-update), unless a uid precondition makes that a 409 too, so a
        holder renewing just after ``delete`` cannot resurrect the deleted lease."""
        annotations = {
            ANNOTATION_NAME: lease.name,
            ANNOTATION_TOKEN: str(lease.fencing_token),
            ANNOTATION_DURATION: repr(lease.duration_seconds),
        }
        if lease.reason is not None:
            annotations[ANNOTATION_REASON] = lease.reason
        return k8s.V1Lease(
            api_version="coordination.k8s.io/v1",
            kind="Lease",
            metadata=k8s.V1ObjectMeta(
                name=object_name(lease.name),
                namespace=self.namespace,
                labels={LABEL_MANAGED_BY: "roost", LABEL_KIND: "lease"},
                annotations=annotations,
                resource_version=None if current is None else _meta(current).resource_version,
                uid=None if current is None else _meta(current).uid,
            ),
            spec=k8s.V1LeaseSpec(
                holder_identity=lease.holder,
                lease_duration_seconds=max(1, math.ceil(lease.duration_seconds)),
                acquire_time=lease.acquired_at,
                renew_time=lease.renewed_at,
                lease_transitions=lease.transitions,
            ),
        )

    def _read(self, oname: str) -> k8s.V1Lease | None:
        found = self._call(
            f"read lease object {oname!r}",
            lambda: self._api.read_namespaced_lease(
                oname, self.namespace, _request_timeout=self._timeout
            ),
            expected=(404,),
        )
        return None if isinstance(found, int) else found

    def _create(self, body: k8s.V1Lease, name: str) -> Lease | None:
        # 409 AlreadyExists: someone else created it first.
        created = self._call(
            f"create lease {name!r}",
            lambda: self._api.create_namespaced_lease(
                self.namespace, body, _request_timeout=self._timeout
            ),
            expected=(409,),
        )
        return None if isinstance(created, int) else self._lease(created)

    def _replace(self, body: k8s.V1Lease, name: str) -> Lease | None:
        # 409 Conflict: changed since we read it (or, with our UID precondition, deleted).
        replaced = self._call(
            f"update lease {name!r}",
            lambda: self._api.replace_namespaced_lease(
                str(_meta(body).name), self.namespace, body, _request_timeout=self._timeout
            ),
            expected=(404, 409),
        )
        return None if isinstance(replaced, int) else self._lease(replaced)

    def _next_token(self, oname: str, floor: int) -> int:
        """Bump this lease's fencing high-water mark in the counter object (compare-and-swap on
        its resourceVersion, retried on conflict) and return the new token."""
        key = f"tokens.roost.dev/{hashlib.sha256(oname.encode()).hexdigest()[:40]}"
        for _ in range(_COUNTER_ATTEMPTS):
            counter = self._read(COUNTER_OBJECT)
            annotations = {} if counter is None else dict(_meta(counter).annotations or {})
            token = max(int(annotations.get(key, "0")), floor) + 1
            annotations[key] = str(token)
            body = k8s.V1Lease(
                api_version="coordination.k8s.io/v1",
                kind="Lease",
                metadata=k8s.V1ObjectMeta(
                    name=COUNTER_OBJECT,
                    namespace=self.namespace,
                    labels={LABEL_MANAGED_BY: "roost", LABEL_KIND: "fencing-counter"},
                    annotations=annotations,
                    resource_version=None if counter is None else _meta(counter).resource_version,
                    uid=None if counter is None else _meta(counter).uid,
                ),
                spec=k8s.V1LeaseSpec(),
            )
            if counter is None:
                stored = self._create(body, COUNTER_OBJECT)
            else:
                stored = self._replace(body, COUNTER_OBJECT)
            if stored is not None:
                return token
        raise BackendUnavailable(
            f"could not bump the fencing counter {COUNTER_OBJECT!r} in namespace "
            f"{self.namespace!r}: it kept changing under us",
            hint="many leases changed holder at once; retry",
        )

    def _lease(self, item: k8s.V1Lease, *, expected_name: str | None = None) -> Lease:
        meta = _meta(item)
        annotations = dict(meta.annotations or {})
        name = str(annotations.get(ANNOTATION_NAME, meta.name))
        if expected_name is not None and name != expected_name:
            raise BackendUnavailable(
                f"Lease {meta.name!r} in namespace {self.namespace!r} belongs to lease "
                f"{name!r}, not {expected_name!r}",
                hint="another program or lease uses that object name; rename the lease",
            )
        spec = item.spec or k8s.V1LeaseSpec()
        created = meta.creation_timestamp or datetime.fromtimestamp(0, UTC)
        duration = annotations.get(ANNOTATION_DURATION)
        return Lease(
            name=name,
            holder=spec.holder_identity or None,
            duration_seconds=float(duration)
            if duration
            else float(spec.lease_duration_seconds or 0),
            acquired_at=_utc(spec.acquire_time or created),
            renewed_at=_utc(spec.renew_time or spec.acquire_time or created),
            transitions=spec.lease_transitions or 0,
            fencing_token=int(annotations.get(ANNOTATION_TOKEN, "0")),
            version=str(meta.resource_version),
            reason=annotations.get(ANNOTATION_REASON),
        )

    def _call(self, what: str, call: Callable[[], T], *, expected: tuple[int, ...] = ()) -> T | int:
        """``call()``'s answer, or the HTTP status if it is one of ``expected`` (e.g. 404 for
        a missing object, 409 for a lost compare-and-swap); any other failure is reported as
        :class:`BackendUnavailable`."""
        try:
            return call()
        except ApiException as exc:
            if exc.status in expected:
                return int(exc.status)
            raise BackendUnavailable(
                f"cannot {what}: the Kubernetes API at {self.host} answered "
                f"{exc.status} {exc.reason or ''}".rstrip(),
                hint="check that roost's service account may get/list/create/update/delete "
                f"leases.coordination.k8s.io in namespace {self.namespace!r}",
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise BackendUnavailable(
                f"cannot {what}: the Kubernetes API at {self.host} is unreachable: {exc}",
                hint="check the kubeconfig (KUBECONFIG) or the in-cluster service account",
            ) from exc


def _utc(moment: datetime) -> datetime:
    # The client parses times with its own tzinfo class; records use datetime.UTC everywhere.
    return moment.astimezone(UTC)


def _meta(item: k8s.V1Lease) -> k8s.V1ObjectMeta:
    if item.metadata is None:
        raise BackendUnavailable("the Kubernetes API returned a Lease without metadata")
    return item.metadata


def _load_configuration() -> k8s.Configuration:
    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
    except k8s_config.ConfigException:
        try:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        except (k8s_config.ConfigException, OSError) as exc:
            raise BackendConfigError(
                f"no Kubernetes configuration found: {exc}",
                hint="run inside a cluster, or set KUBECONFIG to a kubeconfig file",
            ) from None
    return configuration
