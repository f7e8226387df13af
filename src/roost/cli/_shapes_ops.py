"""The machine-readable shapes of the event bus, secrets, schedules, quarantines, identity keys,
tokens and roles commands (``-o json|yaml``); registered in :data:`roost.cli._shapes.SHAPES`.

The bus commands relay the API's document as it is (``--json`` printed it before ``-o``
existed, and still prints the same), so their shapes are open. No shape here has a field for a
secret's value or a token: only names, versions, keyed digests and dates.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from roost.cli._shapes_base import OpenShape, Shape

# -- roost events dlq / triggers / trace ------------------------------------------------------


class DeadLetter(OpenShape):
    id: str
    trigger: str
    event_id: str
    event_type: str
    state: str = Field(description="dead, or (for `dlq show` of any delivery) pending, delivered.")
    attempts: int
    created_at: str
    updated_at: str
    last_error: str | None
    correlation_id: str | None


class DeadLetters(OpenShape):
    deliveries: list[DeadLetter] = Field(description="Oldest first.")


class DeliveryAttempt(OpenShape):
    attempt: int
    at: str
    ok: bool
    status: int | None = Field(description="The sink's HTTP status, if it answered.")
    duration_ms: float
    detail: str | None


class DeadLetterDetail(DeadLetter):
    event: dict[str, Any] = Field(description="The CloudEvents 1.0 envelope delivered.")
    attempt_log: list[DeliveryAttempt]


class TriggerItem(OpenShape):
    name: str
    sink: str
    suspended: bool = Field(description="By a loop guard, until `roost events triggers resume`.")
    reason: str | None
    deliveries: dict[str, int] = Field(description="Deliveries by state.")


class Triggers(OpenShape):
    triggers: list[TriggerItem]


class EventTrace(OpenShape):
    correlation_id: str | None
    root: dict[str, Any] = Field(
        description="The first event of the chain: {event, asked, deliveries, caused}; each "
        "delivery {id, trigger, state, depth, error, attempts, caused}; caused lists events "
        "of the same form."
    )


# -- roost secret list / versions -------------------------------------------------------------


class SecretItem(Shape):
    name: str
    latest_version: int
    versions: int
    environments: list[str] = Field(description='Environments of its versions; "*" is every one.')
    latest_digest: str = Field(description="Keyed digest of the latest version (not the value).")
    updated_at: str
    updated_by: str


class SecretList(Shape):
    kind: Literal["SecretList"] = "SecretList"
    items: list[SecretItem]


class SecretVersionItem(Shape):
    version: int
    environment: str = Field(description='"*": every environment.')
    digest: str = Field(description="Keyed digest (never the value).")
    created_at: str
    created_by: str


class SecretVersionList(Shape):
    kind: Literal["SecretVersionList"] = "SecretVersionList"
    name: str
    items: list[SecretVersionItem] = Field(description="Newest first.")


# -- roost schedule list / next / runs --------------------------------------------------------


class ScheduleItem(Shape):
    name: str
    cron: str
    timezone: str
    action: str
    next_at: str = Field(description="Its next run, in UTC.")
    next_at_zone: str = Field(description="The same instant in the schedule's zone.")


class ScheduleList(Shape):
    kind: Literal["ScheduleList"] = "ScheduleList"
    items: list[ScheduleItem]


class ScheduleFire(Shape):
    at: str = Field(description="In UTC.")
    at_zone: str = Field(description="The same instant in the schedule's zone.")
    note: Literal["", "gap", "overlap-second"] = Field(
        description='"gap": moved past a DST gap; "overlap-second": the second run of a DST '
        "overlap."
    )


class ScheduleNext(Shape):
    kind: Literal["ScheduleNext"] = "ScheduleNext"
    schedule: str
    cron: str
    timezone: str
    action: str
    items: list[ScheduleFire]


class ScheduleRunItem(Shape):
    schedule: str
    scheduled_at: str = Field(description="The tick, in UTC.")
    status: str = Field(description="running, or how it ended.")
    claimed_by: str
    fencing_token: int | None
    started_at: str
    finished_at: str | None
    detail: str


class ScheduleRunList(Shape):
    kind: Literal["ScheduleRunList"] = "ScheduleRunList"
    items: list[ScheduleRunItem] = Field(description="Newest first.")


# -- roost artifacts quarantined, roost identity keys -----------------------------------------


class QuarantineItem(Shape):
    digest: str
    reason: str
    quarantined_by: str
    quarantined_at: str


class QuarantineList(Shape):
    kind: Literal["QuarantineList"] = "QuarantineList"
    items: list[QuarantineItem]


class SigningKeyItem(Shape):
    kid: str
    created_at: str
    state: Literal["published", "active", "retiring", "retired"] = Field(
        description="published: signs from signs_from; active: signs; retiring: signs until "
        "retired_at; retired: only verifies, until verify_until."
    )
    signs_from: str | None
    retired_at: str | None
    verify_until: str | None


class SigningKeyList(Shape):
    kind: Literal["SigningKeyList"] = "SigningKeyList"
    items: list[SigningKeyItem]


# -- roost token list, roost role list --------------------------------------------------------


class TokenRole(OpenShape):
    role: str
    environment: str
    service: str


class TokenItem(OpenShape):
    name: str
    roles: list[TokenRole]
    created_at: str
    created_by: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class TokenList(Shape):
    kind: Literal["TokenList"] = "TokenList"
    items: list[TokenItem] = Field(description="Never the token itself (roost keeps a hash).")


class RoleBinding(OpenShape):
    subject: str
    role: str
    environment: str
    service: str
    created_by: str
    created_at: str


class RoleList(Shape):
    kind: Literal["RoleList"] = "RoleList"
    items: list[RoleBinding]
