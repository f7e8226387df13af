"""Running revisions of services: the runtime protocol, its data, and the local backend.

``Runtime`` (``protocol``) is the contract a backend implements; ``specs`` is what it is asked
to run and ``statuses`` what it reports. ``roost.runtime.local.LocalRuntime`` runs replicas as
supervised processes on this machine; ``logquery`` answers SQL over their logs.
"""

from roost.runtime.errors import (
    RevisionConflictError,
    RevisionNotFoundError,
    RuntimeBackendError,
)
from roost.runtime.protocol import BeforeStopHook, EndpointsCallback, Runtime, Unsubscribe
from roost.runtime.specs import (
    BackoffSpec,
    ConfigFile,
    ExecProbe,
    HttpProbe,
    ProbeSpec,
    ProbesSpec,
    RestartPolicy,
    RevisionSpec,
    TcpProbe,
)
from roost.runtime.statuses import (
    Endpoint,
    LogLine,
    ProbeStatus,
    ReplicaState,
    ReplicaStatus,
    RevisionStatus,
    Termination,
    TerminationReason,
)

__all__ = [
    "BackoffSpec",
    "BeforeStopHook",
    "ConfigFile",
    "Endpoint",
    "EndpointsCallback",
    "ExecProbe",
    "HttpProbe",
    "LogLine",
    "ProbeSpec",
    "ProbeStatus",
    "ProbesSpec",
    "ReplicaState",
    "ReplicaStatus",
    "RestartPolicy",
    "RevisionConflictError",
    "RevisionNotFoundError",
    "RevisionSpec",
    "RevisionStatus",
    "Runtime",
    "RuntimeBackendError",
    "TcpProbe",
    "Termination",
    "TerminationReason",
    "Unsubscribe",
]
