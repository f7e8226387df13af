"""How roost names and annotates Kubernetes Lease objects (no client import needed)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

ANNOTATION_NAME = "roost.dev/lease-name"
ANNOTATION_TOKEN = "roost.dev/fencing-token"  # noqa: S105 - an annotation key, not a secret
ANNOTATION_DURATION = "roost.dev/duration-seconds"
ANNOTATION_REASON = "roost.dev/reason"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_KIND = "roost.dev/kind"
COUNTER_OBJECT = "roost-fencing-tokens"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def object_name(name: str) -> str:
    """The Lease object name for roost lease ``name`` (a DNS subdomain, at most 253 chars)."""
    if len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name):
        return name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-") or "lease"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def micro_time(moment: datetime) -> str:
    """RFC 3339 with exactly six fraction digits, the only spelling the API server accepts for
    a MicroTime (``datetime.isoformat()`` drops the fraction when it is zero)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
