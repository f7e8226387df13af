"""roost.yaml: the models of a project file, loading it with located errors, its JSON Schema.

This is the base layer: it imports only the standard library, pydantic and PyYAML. Everything
else in roost reads a project through :func:`load_project` and the models exported here.
"""

from roost.spec.alerting import Alerting, Receiver
from roost.spec.analysis import Analysis, Check, CompareToStable, Metric
from roost.spec.durations import Duration, PositiveDuration, format_duration, parse_duration
from roost.spec.environments import (
    Approval,
    Environment,
    FreezeWindow,
    KubernetesRuntime,
    LocalRuntime,
    Runtime,
)
from roost.spec.loading import FILE_NAMES, find_project_file, load_project, parse_project
from roost.spec.probes import (
    ExecProbe,
    HttpProbe,
    LivenessProbe,
    Probe,
    Probes,
    StartupProbe,
    TcpProbe,
    Warmup,
)
from roost.spec.problems import Problem, SpecError
from roost.spec.project import Defaults, Project
from roost.spec.rollouts import (
    AnalysisStep,
    BlueGreenRollout,
    CanaryRollout,
    CanaryStep,
    PauseStep,
    Rollout,
    SetWeightStep,
    StepAnalysis,
)
from roost.spec.schema import project_json_schema
from roost.spec.services import ConfigFile, Resources, SecretRef, Service
from roost.spec.slos import LatencySli, ProbeSli, RatioSli, Sli, Slo
from roost.spec.versions import SchemaCompat, version_in_range

__all__ = [
    "FILE_NAMES",
    "Alerting",
    "Analysis",
    "AnalysisStep",
    "Approval",
    "BlueGreenRollout",
    "CanaryRollout",
    "CanaryStep",
    "Check",
    "CompareToStable",
    "ConfigFile",
    "Defaults",
    "Duration",
    "Environment",
    "ExecProbe",
    "FreezeWindow",
    "HttpProbe",
    "KubernetesRuntime",
    "LatencySli",
    "LivenessProbe",
    "LocalRuntime",
    "Metric",
    "PauseStep",
    "PositiveDuration",
    "Probe",
    "ProbeSli",
    "Probes",
    "Problem",
    "Project",
    "RatioSli",
    "Receiver",
    "Resources",
    "Rollout",
    "Runtime",
    "SchemaCompat",
    "SecretRef",
    "Service",
    "SetWeightStep",
    "Sli",
    "Slo",
    "SpecError",
    "StartupProbe",
    "StepAnalysis",
    "TcpProbe",
    "Warmup",
    "find_project_file",
    "format_duration",
    "load_project",
    "parse_duration",
    "parse_project",
    "project_json_schema",
    "version_in_range",
]
