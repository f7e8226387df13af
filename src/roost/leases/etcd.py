"""Leases in etcd (3.4 or newer) through its gRPC-gateway JSON API (``/v3/``), with etcd3gw.

Why etcd3gw: the gRPC client ``etcd3`` is unmaintained and breaks with current protobuf;
etcd3gw speaks the HTTP gateway that etcd has served at ``/v3/`` since 3.4 (it discovers the
path from ``/version``), needs nothing but ``requests``, and is maintained by OpenStack.

Layout: one key per lease, ``<prefix><name>``, whose value is JSON (holder, duration, times,
transitions, token, reason). Every change is a transaction that compares the key's
``mod_revision`` with the one just read (or its ``create_revision`` with 0 to create it), so
two contenders cannot both win.

**Fencing token.** etcd's revision counter is global to the cluster, grows with every write and
is never reused, not even after compaction or when a key is deleted and recreated. The token of
a tenure is the revision of the write that changed the holder, i.e. that write's
``mod_revision``. It cannot be the key's current ``mod_revision``, which moves with every
renewal; nor its ``create_revision``, which stays put when a takeover overwrites the key. The
change-of-holder write stores ``"token": null`` (its own revision is not known until it
commits), so a reader takes the key's ``mod_revision``; every later write of the tenure
(renewals, release) spells the token out.

**TTL.** A held key is attached to an etcd lease with TTL ``ceil(2 x duration)`` that the
holder keeps alive on every renewal, so the key of a holder that died disappears on its own
(etcd raises tiny TTLs to its minimum, about 1.5 x election timeout). Expiry as roost's election
sees it is still judged by observers (``roost.leases.observing``); the TTL only collects the
records of the dead. A released key is detached from its etcd lease and stays.
"""

from __future__ import annotations

import base64
import builtins
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from roost.clock import Clock, RealClock
from roost.leases._checks import require_duration, require_name, require_reason
from roost.leases.errors import BackendConfigError, BackendUnavailable, LeaseLost, NotHolder
from roost.leases.records import Lease

try:
    import etcd3gw
    from etcd3gw import exceptions as etcd_errors
    from etcd3gw.types import KeyValue
except ImportError as exc:  # an optional extra: say how to get it instead of a traceback
    raise BackendConfigError(
        f"the etcd lease backend needs the etcd client, which is not installed ({exc.name})",
        hint="install roost with etcd support: pip install 'roost[etcd]'",
    ) from None

DEFAULT_PREFIX = "/roost/leases/"
DEFAULT_TIMEOUT_SECONDS = 5.0


class EtcdLeaseBackend:
    """Leases as etcd keys under ``prefix`` on the cluster at ``url`` (``http://host:port``)."""

    kind = "etcd"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            not in (
                "",
                "/",
            )
        ):
            raise BackendConfigError(
                f"bad etcd URL {url!r}",
                hint="use http://host:port (the client URL etcd listens on, e.g. port 2379)",
            )
        if not prefix:
            raise ValueError("the etcd key prefix must not be empty")
        self.url = url
        self.prefix = prefix
        self._clock = clock or RealClock()
        self._client = etcd3gw.Etcd3Client(
            host=parts.hostname,
            port=parts.port or 2379,
            protocol=parts.scheme,
            timeout=timeout,
        )

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> Lease | None:
        require_name(name)
        current = self._read(name)
        return None if current is None else current[0]

    def list(self) -> builtins.list[Lease]:
        prefix = self.prefix.encode()
        with self._calling("list leases"):
            items = self._range(prefix, _prefix_end(prefix))
        leases = []
        for value, kv in items:
            name = kv["key"][len(prefix) :].decode()
            lease = _parse(name, value, kv)
            if lease is not None:
                leases.append(lease)
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
        current = self._read(name)
        if current is None:
            # Create: only if the key does not exist (create_revision 0 means "absent").
            guard = {"target": "CREATE", "create_revision": "0"}
            transitions = 0
        else:
            lease, kv = current
            if lease.holder == holder:
                return self._renew(lease, kv, holder, duration_seconds, reason, lost=False)
            if lease.holder is not None and expected_version != lease.version:
                return None
            guard = {"target": "MOD", "mod_revision": kv["mod_revision"]}
            transitions = lease.transitions + 1
        now = self._clock.now()
        record = {
            "holder": holder,
            "duration_seconds": duration_seconds,
            "acquired_at": now.isoformat(),
            "renewed_at": now.isoformat(),
            "transitions": transitions,
            "token": None,  # this write's own revision: see the module doc
            "reason": reason,
        }
        etcd_lease = self._grant(duration_seconds)
        revision = self._put_if(name, guard, record, etcd_lease)
        if revision is None:
            self._revoke(etcd_lease)
            return None
        return _lease(name, record, revision=revision, token=revision)

    def renew(self, name: str, holder: str, *, duration_seconds: float | None = None) -> Lease:
        require_name(name)
        if duration_seconds is not None:
            duration_seconds = require_duration(duration_seconds)
        current = self._read(name)
        if current is None:
            raise LeaseLost(f"{holder!r} lost lease {name!r}: it no longer exists")
        lease, kv = current
        if lease.holder != holder:
            who = "it has been released" if lease.holder is None else f"{lease.holder!r} holds it"
            raise LeaseLost(f"{holder!r} lost lease {name!r}: {who}")
        renewed = self._renew(lease, kv, holder, duration_seconds, None, lost=True)
        assert renewed is not None
        return renewed

    def release(self, name: str, holder: str) -> Lease | None:
        require_name(name)
        current = self._read(name)
        if current is None:
            return None
        lease, kv = current
        if lease.holder is None:
            return lease
        if lease.holder != holder:
            raise NotHolder(
                f"cannot release lease {name!r}: it is held by {lease.holder!r}, not {holder!r}"
            )
        record = _record(lease) | {"holder": None, "reason": None}
        guard = {"target": "MOD", "mod_revision": kv["mod_revision"]}
        # A put without a lease detaches the key from the holder's etcd lease: it stays.
        revision = self._put_if(name, guard, record, None)
        if revision is None:
            raise NotHolder(f"lease {name!r} changed while {holder!r} was releasing it")
        self._revoke(int(kv.get("lease", "0")))
        return _lease(name, record, revision=revision, token=lease.fencing_token)

    def delete(self, name: str) -> bool:
        require_name(name)
        current = self._read(name)
        with self._calling(f"delete lease {name!r}"):
            result = self._client.post(
                self._client.get_url("/kv/deleterange"), json={"key": _b64(self._key(name))}
            )
        if current is not None:
            self._revoke(int(current[1].get("lease", "0")))
        # int64 fields arrive as strings, and proto3 JSON leaves out zeros.
        return int(result.get("deleted", "0")) > 0

    def close(self) -> None:
        self._client.session.close()

    def __repr__(self) -> str:
        return f"EtcdLeaseBackend({self.url!r}, prefix={self.prefix!r})"

    # -- internals -------------------------------------------------------------------------

    def _renew(
        self,
        lease: Lease,
        kv: KeyValue,
        holder: str,
        duration_seconds: float | None,
        reason: str | None,
        *,
        lost: bool,
    ) -> Lease | None:
        """Keep ``holder``'s tenure: refresh the etcd lease, rewrite renewed_at (so observers
        see a change), keep the token. ``lost`` says whether losing raises or returns None."""
        duration = lease.duration_seconds if duration_seconds is None else duration_seconds
        old_etcd_lease = int(kv.get("lease", "0"))
        etcd_lease = old_etcd_lease
        if old_etcd_lease == 0 or _ttl(duration) != _ttl(lease.duration_seconds):
            etcd_lease = self._grant(duration)
        elif self._keep_alive(old_etcd_lease) <= 0:
            # The TTL ran out: etcd is deleting the key right now.
            return _lost(lost, f"{holder!r} lost lease {lease.name!r}: its etcd TTL ran out")
        record = _record(lease) | {
            "duration_seconds": duration,
            "renewed_at": self._clock.now().isoformat(),
            "token": lease.fencing_token,
        }
        if reason is not None:
            record["reason"] = reason
        guard = {"target": "MOD", "mod_revision": kv["mod_revision"]}
        revision = self._put_if(lease.name, guard, record, etcd_lease)
        if revision is None:
            if etcd_lease != old_etcd_lease:
                self._revoke(etcd_lease)
            return _lost(lost, f"{holder!r} lost lease {lease.name!r}: it changed meanwhile")
        if etcd_lease != old_etcd_lease:
            self._revoke(old_etcd_lease)
        return _lease(lease.name, record, revision=revision, token=lease.fencing_token)

    def _key(self, name: str) -> bytes:
        return (self.prefix + name).encode()

    def _read(self, name: str) -> tuple[Lease, KeyValue] | None:
        key = self._key(name)
        with self._calling(f"read lease {name!r}"):
            items = self._range(key, None)
        if not items:
            return None
        value, kv = items[0]
        lease = _parse(name, value, kv)
        if lease is None:
            raise BackendUnavailable(
                f"etcd key {key.decode()!r} is not a roost lease record",
                hint=f"another program writes under {self.prefix!r}; use another prefix",
            )
        return lease, kv

    def _range(self, key: bytes, range_end: bytes | None) -> builtins.list[tuple[bytes, KeyValue]]:
        payload: dict[str, Any] = {"key": _b64(key)}
        if range_end is not None:
            payload["range_end"] = _b64(range_end)
        result = self._client.post(self._client.get_url("/kv/range"), json=payload)
        items = []
        for kv in result.get("kvs", []):
            value = base64.b64decode(kv.pop("value", ""))
            kv["key"] = base64.b64decode(kv["key"])
            items.append((value, kv))
        return items

    def _put_if(
        self, name: str, guard: dict[str, str], record: dict[str, Any], etcd_lease: int | None
    ) -> int | None:
        """Write ``record`` if ``guard`` holds; the revision of the write, or None if not."""
        key = _b64(self._key(name))
        put: dict[str, Any] = {"key": key, "value": _b64(json.dumps(record).encode())}
        if etcd_lease:
            put["lease"] = str(etcd_lease)
        txn = {
            "compare": [{"key": key, "result": "EQUAL", **guard}],
            "success": [{"request_put": put}],
            "failure": [],
        }
        with self._calling(f"write lease {name!r}"):
            response = self._client.transaction(txn)
        # proto3 JSON leaves out false booleans: a failed comparison has no "succeeded".
        if not response.get("succeeded", False):
            return None
        return int(response["header"]["revision"])

    def _grant(self, duration_seconds: float) -> int:
        with self._calling("grant an etcd lease"):
            return int(self._client.lease(_ttl(duration_seconds)).id)

    def _keep_alive(self, etcd_lease: int) -> int:
        with self._calling("keep an etcd lease alive"):
            return etcd3gw.Lease(etcd_lease, self._client).refresh()

    def _revoke(self, etcd_lease: int) -> None:
        # Best effort: a lease we fail to revoke runs out by itself after its TTL.
        if etcd_lease:
            with suppress(etcd_errors.Etcd3Exception):
                etcd3gw.Lease(etcd_lease, self._client).revoke()

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except etcd_errors.Etcd3Exception as exc:
            detail = str(exc).strip() or type(exc).__name__
            raise BackendUnavailable(
                f"cannot {what}: etcd at {self.url} failed: {detail[:300]}",
                hint="check that etcd is running and that ROOST_ETCD_URL points at its "
                "client URL (http://host:2379)",
            ) from exc


def _ttl(duration_seconds: float) -> int:
    # Twice the duration: the TTL only collects the keys of dead holders, and must not race an
    # observer's takeover, which comes one duration after the last renewal it saw. (A TTL equal
    # to the duration made etcd delete the key just as the observer's compare-and-swap on it
    # went out, costing the takeover a retry period.)
    return max(1, math.ceil(2 * duration_seconds))


def _lost(raise_it: bool, message: str) -> Lease | None:
    """Losing a renewal: raise for renew(), return None for acquire()."""
    if raise_it:
        raise LeaseLost(message)
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _prefix_end(prefix: bytes) -> bytes:
    # The range [prefix, prefix_end) holds exactly the keys that start with prefix.
    return prefix[:-1] + bytes([prefix[-1] + 1])


def _record(lease: Lease) -> dict[str, Any]:
    return {
        "holder": lease.holder,
        "duration_seconds": lease.duration_seconds,
        "acquired_at": lease.acquired_at.isoformat(),
        "renewed_at": lease.renewed_at.isoformat(),
        "transitions": lease.transitions,
        "token": lease.fencing_token,
        "reason": lease.reason,
    }


def _lease(name: str, record: dict[str, Any], *, revision: int, token: int) -> Lease:
    return Lease(
        name=name,
        holder=record["holder"],
        duration_seconds=float(record["duration_seconds"]),
        acquired_at=datetime.fromisoformat(record["acquired_at"]),
        renewed_at=datetime.fromisoformat(record["renewed_at"]),
        transitions=int(record["transitions"]),
        fencing_token=token,
        version=str(revision),
        reason=record.get("reason"),
    )


def _parse(name: str, value: bytes, kv: KeyValue) -> Lease | None:
    try:
        record = json.loads(value)
        revision = int(kv["mod_revision"])
        token = record.get("token")
        return _lease(name, record, revision=revision, token=revision if token is None else token)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
