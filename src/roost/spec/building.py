"""A service's build pipeline: steps (a DAG), caches, substitutions, triggers, what to package
and what to do when it succeeds.

Steps run in the order written unless ``needs`` says otherwise — the Cloud Build rule, because
a list reads as a sequence: without ``needs`` a step waits for the one before it, with
``needs: []`` it starts at once, with ``needs: [a, b]`` it waits for those two. Steps whose
dependencies are done run in parallel. A loop in ``needs`` or an unknown name is reported at
the exact ``needs`` entry.
"""

from __future__ import annotations

import posixpath
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, PlainValidator, WithJsonSchema, field_validator, model_validator

from roost.spec._base import SpecModel
from roost.spec._issues import KEY, Issue, did_you_mean, issue_error, issues_error
from roost.spec.durations import PositiveDuration
from roost.spec.fields import EnvValue, EnvVarName, EnvVars, Name, describe

BUILTIN_SUBSTITUTIONS = ("COMMIT_SHA", "SHORT_SHA", "BRANCH", "REF", "SERVICE", "BUILD_ID")
"""Set by roost for every step; user substitutions cannot redefine them."""


def _relative_path(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    normal = posixpath.normpath(value) if value else ""
    if not value or value.startswith("/") or normal == ".." or normal.startswith("../"):
        raise issue_error(
            f"{describe(value)} must be a path inside the project",
            hint="use a relative path without '..', e.g. web or build/out",
        )
    return value


RelativePath = Annotated[
    str, PlainValidator(_relative_path), WithJsonSchema({"type": "string", "minLength": 1})
]
"""A project-relative path (or glob) that stays inside the project."""


def _run(value: Any) -> str | list[str]:
    if isinstance(value, str):
        if not value.strip():
            raise issue_error("the command is empty", hint="write the shell command to run")
        return value
    if isinstance(value, list | tuple):
        for index, word in enumerate(value):
            if not isinstance(word, str):
                raise issue_error(
                    f"expected a string, got {describe(word)}",
                    at=(index,),
                    hint='quote numbers and flags, e.g. "8080"',
                )
        if not value or not value[0]:
            raise issue_error("the command is empty")
        return list(value)
    raise issue_error(
        f"expected a command (a shell script or a list of words), got {describe(value)}"
    )


Run = Annotated[
    str | list[str],
    PlainValidator(_run),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "description": "run by /bin/sh -e -c"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]


class StepCache(SpecModel):
    """Reuse a step's outputs when its inputs did not change."""

    key_files: list[RelativePath] = Field(
        min_length=1,
        description="Files (globs, relative to the build context) whose contents, with the "
        "step's own definition, make the cache key.",
    )
    paths: list[RelativePath] = Field(
        min_length=1,
        description="What the step produces (relative to the build context): saved after a "
        "successful run, restored instead of running on a cache hit.",
    )


class BuildStep(SpecModel):
    """One command of the pipeline."""

    name: Name = Field(description="Unique in the pipeline; names its log file.")
    run: Run = Field(
        description="A shell script (run by /bin/sh -e -c) or a list of words (run directly, "
        "$NAME filled in). Substitutions are environment variables."
    )
    env: EnvVars = Field(
        default_factory=dict, description="Extra environment variables ($NAME filled in)."
    )
    dir: RelativePath | None = Field(
        default=None, description="Folder to run in, relative to the build context."
    )
    timeout: PositiveDuration | None = Field(
        default=None, description="Stop the step after this long; null: only the build timeout."
    )
    needs: list[Name] | None = Field(
        default=None,
        description="Steps that must succeed first. null: the previous step; []: none, start "
        "at once.",
    )
    cache: StepCache | None = Field(default=None, description="Reuse outputs; null: always run.")


class BuildTrigger(SpecModel):
    """Which commits start a build from the git hook (``roost hooks install``)."""

    branches: list[str] = Field(
        default_factory=lambda: ["**"],
        min_length=1,
        description="Branch name patterns: * stays inside one /-separated part, ** does not; "
        "e.g. main or release/*. Default: every branch.",
    )
    paths: list[RelativePath] | None = Field(
        default=None,
        description="Only when a changed file matches one of these project-relative globs; "
        "null: any change.",
    )


class ArtifactFiles(SpecModel):
    """Which files of the build context go into the artifact."""

    include: list[RelativePath] = Field(
        default_factory=lambda: ["**"], description="Globs to package. Default: everything."
    )
    exclude: list[RelativePath] = Field(
        default_factory=list,
        description="Globs to leave out (.git, .roost, .venv and __pycache__ always are).",
    )


class OnSuccess(SpecModel):
    """What follows a successful build."""

    release: bool = Field(
        default=False, description="Cut a release pointing at the artifact (oci:<digest>)."
    )
    deploy_to: Name | None = Field(
        default=None,
        description="Then deploy that release to this environment (needs release: true).",
    )

    @model_validator(mode="after")
    def _release_first(self) -> OnSuccess:
        if self.deploy_to is not None and not self.release:
            raise issue_error(
                "deploy_to needs a release to deploy",
                at=("deploy_to",),
                hint="set `release: true`",
            )
        return self


class Build(SpecModel):
    """How to build, test and package a service from a commit."""

    context: RelativePath | None = Field(
        default=None,
        description="Folder the steps run in and that is packaged, relative to the project; "
        "null: the service's workdir.",
    )
    steps: list[BuildStep] = Field(
        default_factory=list, description="Commands, a DAG through needs; may be empty."
    )
    substitutions: dict[EnvVarName, EnvValue] = Field(
        default_factory=dict,
        description="Values every step sees as environment variables, next to COMMIT_SHA, "
        "SHORT_SHA, BRANCH, REF, SERVICE and BUILD_ID.",
    )
    timeout: PositiveDuration = Field(
        default=timedelta(hours=1),
        description="Stop the whole build after this long.",
    )
    trigger: BuildTrigger | None = Field(
        default=None, description="Build on commits (git hook); null: only `roost build`."
    )
    artifact: ArtifactFiles = Field(
        default_factory=ArtifactFiles, description="What goes into the artifact."
    )
    on_success: OnSuccess = Field(
        default_factory=OnSuccess, description="Release (and deploy) after a green build."
    )

    @field_validator("substitutions")
    @classmethod
    def _not_builtin(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name in BUILTIN_SUBSTITUTIONS:
                raise issue_error(
                    f"{name} is set by roost and cannot be redefined",
                    at=(name, KEY),
                    hint="pick another name",
                )
        return value

    @model_validator(mode="after")
    def _graph(self) -> Build:
        issues = _step_issues(self.steps)
        if issues:
            raise issues_error(issues)
        return self

    def dependencies(self) -> dict[str, tuple[str, ...]]:
        """Each step's prerequisites, with the "previous step" default applied."""
        return step_dependencies(self.steps)


def step_dependencies(steps: list[BuildStep]) -> dict[str, tuple[str, ...]]:
    """Each step's prerequisites: its ``needs``, or the step written before it."""
    result: dict[str, tuple[str, ...]] = {}
    for index, step in enumerate(steps):
        if step.needs is not None:
            result[step.name] = tuple(step.needs)
        else:
            result[step.name] = (steps[index - 1].name,) if index else ()
    return result


def _step_issues(steps: list[BuildStep]) -> list[Issue]:
    issues: list[Issue] = []
    position: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step.name in position:
            issues.append(
                Issue(
                    f"duplicate step name {describe(step.name)}",
                    at=("steps", index, "name"),
                    related=("steps", position[step.name], "name"),
                )
            )
        else:
            position[step.name] = index
    if issues:
        return issues
    names = list(position)
    for index, step in enumerate(steps):
        for entry, need in enumerate(step.needs or ()):
            at = ("steps", index, "needs", entry)
            if need == step.name:
                issues.append(Issue("a step cannot need itself", at=at))
            elif need not in position:
                hint = did_you_mean(need, names, listing="steps are")
                issues.append(Issue(f"unknown step {describe(need)}", at=at, hint=hint))
    if issues:
        return issues
    loop = _find_loop(step_dependencies(steps))
    if loop:
        first = min(loop, key=position.__getitem__)
        members = loop[loop.index(first) :] + loop[: loop.index(first)]
        step = steps[position[first]]
        after = members[1] if len(members) > 1 else first
        where: tuple[str | int, ...] = ("steps", position[first], "name")
        if step.needs is not None and after in step.needs:
            where = ("steps", position[first], "needs", step.needs.index(after))
        flow = " → ".join([*members, first])
        issues.append(
            Issue(
                f"steps need each other in a loop: {flow}",
                at=where,
                hint="a step without `needs` waits for the one written before it; "
                "remove one need of the loop",
            )
        )
    return issues


def _find_loop(graph: dict[str, tuple[str, ...]]) -> list[str]:
    """One cycle of ``graph`` (a path of names, each needing the next), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for need in graph.get(name, ()):
            if state.get(need) == 1:
                return path[path.index(need) :]
            if need not in state:
                found = visit(need)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return []

    for name in graph:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []
