"""OpenSLO v1 documents (https://github.com/OpenSLO/OpenSLO, ``apiVersion: openslo/v1``) as
pydantic models: the subset roost reads and writes — Service, SLI, SLO, AlertPolicy and
AlertCondition. Unknown keys are kept out of the way (``extra="allow"``): the spec evolves and
a vendor field must not make a file unreadable.

A key written with no value (``alertPolicies:`` on a line of its own) is YAML null; the
specification's optional fields treat that as absent, so every model drops null values before
validating (a *required* field left empty then reads "Field required", which is what it is)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class Metadata(_Model):
    name: str
    displayName: str | None = None
    labels: dict[str, Any] | None = None


class MetricSource(_Model):
    metricSourceRef: str | None = None
    type: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)


class MetricSourceHolder(_Model):
    metricSource: MetricSource


class RatioMetric(_Model):
    counter: bool = True
    good: MetricSourceHolder | None = None
    bad: MetricSourceHolder | None = None
    total: MetricSourceHolder


class SliSpec(_Model):
    description: str | None = None
    thresholdMetric: MetricSourceHolder | None = None
    ratioMetric: RatioMetric | None = None


class SliDoc(_Model):
    apiVersion: Literal["openslo/v1"]
    kind: Literal["SLI"]
    metadata: Metadata
    spec: SliSpec


class InlineSli(_Model):
    metadata: Metadata
    spec: SliSpec


class TimeWindow(_Model):
    duration: str
    isRolling: bool = True
    calendar: dict[str, Any] | None = None


class Objective(_Model):
    displayName: str | None = None
    op: Literal["lte", "gte", "lt", "gt"] | None = None
    value: float | None = None
    target: float | None = None
    targetPercent: float | None = None
    timeSliceTarget: float | None = None
    timeSliceWindow: str | int | None = None


class AlertPolicyRef(_Model):
    alertPolicyRef: str | None = None
    kind: str | None = None
    metadata: Metadata | None = None
    spec: AlertPolicySpec | None = None


class SloSpec(_Model):
    description: str | None = None
    service: str
    indicatorRef: str | None = None
    indicator: InlineSli | None = None
    timeWindow: list[TimeWindow] = Field(default_factory=list)
    budgetingMethod: Literal["Occurrences", "Timeslices", "RatioTimeslices"]
    objectives: list[Objective]
    alertPolicies: list[AlertPolicyRef] = Field(default_factory=list)


class SloDoc(_Model):
    apiVersion: Literal["openslo/v1"]
    kind: Literal["SLO"]
    metadata: Metadata
    spec: SloSpec


class ServiceSpec(_Model):
    description: str | None = None


class ServiceDoc(_Model):
    apiVersion: Literal["openslo/v1"]
    kind: Literal["Service"]
    metadata: Metadata
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


class Condition(_Model):
    # The specification's defaults: burnrate is the only kind, and its example has no op.
    kind: Literal["burnrate"] = "burnrate"
    op: Literal["lte", "gte", "lt", "gt"] = "gte"
    threshold: float
    lookbackWindow: str
    alertAfter: str | None = None


class AlertConditionSpec(_Model):
    description: str | None = None
    severity: str
    condition: Condition


class AlertConditionDoc(_Model):
    apiVersion: Literal["openslo/v1"]
    kind: Literal["AlertCondition"]
    metadata: Metadata
    spec: AlertConditionSpec


class ConditionRef(_Model):
    conditionRef: str | None = None
    kind: str | None = None
    metadata: Metadata | None = None
    spec: AlertConditionSpec | None = None


class AlertPolicySpec(_Model):
    description: str | None = None
    alertWhenNoData: bool = False
    alertWhenResolved: bool = False
    alertWhenBreaching: bool = True
    conditions: list[ConditionRef]
    notificationTargets: list[dict[str, Any]] = Field(default_factory=list)


class AlertPolicyDoc(_Model):
    apiVersion: Literal["openslo/v1"]
    kind: Literal["AlertPolicy"]
    metadata: Metadata
    spec: AlertPolicySpec


class OtherSpec(_Model):
    description: str | None = None


class DataSourceDoc(_Model):
    """Connection details for a metric source: nothing roost uses (it measures at its router),
    but a file holding one is still a valid file."""

    apiVersion: Literal["openslo/v1"]
    kind: Literal["DataSource"]
    metadata: Metadata
    spec: OtherSpec = Field(default_factory=OtherSpec)


class AlertNotificationTargetDoc(_Model):
    apiVersion: Literal["openslo/v1"]
    kind: Literal["AlertNotificationTarget"]
    metadata: Metadata
    spec: OtherSpec = Field(default_factory=OtherSpec)


KINDS: dict[str, type[_Model]] = {
    "SLO": SloDoc,
    "SLI": SliDoc,
    "Service": ServiceDoc,
    "AlertPolicy": AlertPolicyDoc,
    "AlertCondition": AlertConditionDoc,
    "DataSource": DataSourceDoc,
    "AlertNotificationTarget": AlertNotificationTargetDoc,
}

AlertPolicyRef.model_rebuild()
