"""Running a service's pipeline for a commit: the executor that applies the scheduler's
decisions to real processes, and records everything in the store.

A build, start to end:

1. the ref is resolved to a commit and the build is recorded (``web-b12``, every step
   ``pending``) — from then on it is in ``roost builds``;
2. the commit's files are exported into a fresh folder (``git archive``);
3. steps run as the scheduler allows (in parallel when their needs are met), each with its
   log file; a cached step is restored instead of run;
4. when every step is green the build context is packaged as an OCI artifact in the project's
   store, tagged ``<service>:<short sha>`` and ``<service>:latest``;
5. the build is finished in one transaction (steps that did not run become ``skipped`` or
   ``cancelled``); a green build calls ``on_success`` (the CLI cuts a release there), and the
   work folder is removed. Logs stay.

A failure anywhere (a step, a timeout, packaging, Ctrl-C, ``roost build cancel``) stops the
running steps' process groups and ends the build with one clear reason; an artifact is only
tagged when it is complete.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from roost._util import event_catalog as events
from roost.artifacts import ArtifactError, Packaged, layout_of, package_service
from roost.build import logs
from roost.build.caching import StepCache
from roost.build.errors import BuildError
from roost.build.pipelines import pipeline_of, project_at
from roost.build.processes import StepProcess, describe_exit, launch, stop
from roost.build.scheduling import CACHED, CANCELLED, FAILED, SUCCEEDED, Scheduler
from roost.build.sources import Commit, export, resolve
from roost.clock import Clock
from roost.spec import Project, Service
from roost.spec.building import Build
from roost.store import Store
from roost.store.builds import BuildRecord, BuildStepRecord

CANCEL_POLL_SECONDS = 0.25
TAIL_LINES = 20


OnSuccess = Callable[[BuildRecord, Project, Path], str | None]


class Observer(Protocol):
    """Who watches a build run (the CLI's live view); every method is optional in spirit:
    :class:`QuietObserver` implements them all as no-ops."""

    def build_started(self, build: BuildRecord, steps: Sequence[str]) -> None: ...
    def step_changed(self, step: str, state: str, detail: str) -> None: ...
    def phase(self, text: str) -> None: ...


class QuietObserver:
    def build_started(self, build: BuildRecord, steps: Sequence[str]) -> None:
        return None

    def step_changed(self, step: str, state: str, detail: str) -> None:
        return None

    def phase(self, text: str) -> None:
        return None


@dataclass(frozen=True)
class BuildRequest:
    """What to build: a service of the project at ``root``, at ``ref``."""

    root: Path
    project: Project
    service: str
    ref: str = "HEAD"
    trigger: str = "manual"
    created_by: str = "roost"
    branch: str | None = None
    """The branch to record (the git hook knows it; a sha alone does not say)."""
    on_success: OnSuccess | None = None
    """Called after a green build, before its files are removed, with the finished build, the
    project as committed and its folder; returns a release id to record, or None."""


@dataclass(frozen=True)
class BuildResult:
    """How a build ended, with its steps and, for a failed step, the tail of its log."""

    build: BuildRecord
    steps: list[BuildStepRecord]
    packaged: Packaged | None = None
    failed_step: str | None = None
    log_tail: list[str] = field(default_factory=list)
    release_error: str | None = None
    """Why ``on_success`` failed (the build itself stays green)."""

    @property
    def succeeded(self) -> bool:
        return self.build.state == SUCCEEDED


def run_build(
    request: BuildRequest,
    *,
    store: Store,
    clock: Clock,
    observer: Observer | None = None,
    poll: float = 0.05,
) -> BuildResult:
    """Run the pipeline of ``request.service`` at ``request.ref`` to the end and return how
    it went. The pipeline is read from the roost.yaml *in the commit*, so a build is
    reproducible from its sha. Raises :class:`BuildError` only when no build could be started
    (not a git repository, unknown ref, unknown service, no pipeline, invalid roost.yaml at the
    commit); after that every failure is recorded in the build and returned."""
    watcher = observer or QuietObserver()
    pipeline_of(request.project, request.service)  # fail fast, before touching git
    commit = resolve(request.root, request.ref)
    if request.branch is not None:
        commit = replace(commit, branch=request.branch)
    work = request.root / logs.BUILDS_DIR / f".work-{secrets.token_hex(6)}"
    try:
        watcher.phase(f"checking out {commit.short_sha}")
        project_dir = export(commit, work)
        project = project_at(project_dir, commit, fallback=request.project)
        service, pipeline = pipeline_of(project, request.service)
        needs = pipeline.dependencies()
        build = store.builds.create(
            service.name,
            ref=request.ref,
            commit_sha=commit.sha,
            branch=commit.branch,
            trigger=request.trigger,
            steps=[(step.name, needs[step.name]) for step in pipeline.steps],
            created_by=request.created_by,
            runner=f"{socket.gethostname()}:{os.getpid()}",
            data={
                "short_sha": commit.short_sha,
                "release": pipeline.on_success.release,
                "deploy_to": pipeline.on_success.deploy_to,
            },
        )
        store.events.append(
            events.BUILD_STARTED,
            source=events.SOURCE_BUILDS,
            subject=build.id,
            data={"service": service.name, "commit": commit.sha, "trigger": request.trigger},
            actor=request.created_by,
        )
        watcher.build_started(build, [step.name for step in pipeline.steps])
        run = _Run(request, service, pipeline, commit, build, store, clock, watcher, poll)
        return run.execute(project_dir, project)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Run:
    """One build in progress (the executor's state)."""

    def __init__(
        self,
        request: BuildRequest,
        service: Service,
        pipeline: Build,
        commit: Commit,
        build: BuildRecord,
        store: Store,
        clock: Clock,
        observer: Observer,
        poll: float,
    ) -> None:
        self.request, self.service, self.pipeline, self.commit = request, service, pipeline, commit
        self.build, self.store, self.clock, self.observer, self.poll = (
            build,
            store,
            clock,
            observer,
            poll,
        )
        self.steps = {step.name: step for step in pipeline.steps}
        self.running: dict[str, StepProcess] = {}
        self.cache = StepCache(request.root / logs.CACHE_DIR / service.name)
        self.failed_step: str | None = None
        self.variables = {
            **pipeline.substitutions,
            "COMMIT_SHA": commit.sha,
            "SHORT_SHA": commit.short_sha,
            "BRANCH": commit.branch,
            "REF": request.ref,
            "SERVICE": service.name,
            "BUILD_ID": build.id,
        }

    def execute(self, project_dir: Path, project: Project) -> BuildResult:
        packaged: Packaged | None = None
        release_id = release_error = None
        try:
            try:
                context = project_dir / (self.pipeline.context or self.service.workdir or ".")
                if not context.is_dir():
                    raise BuildError(
                        f"the build context {context.relative_to(project_dir)} "
                        f"is not in commit {self.commit.short_sha}"
                    )
                state, error = self._steps(context)
                if state == SUCCEEDED:
                    self.observer.phase("packaging the artifact")
                    packaged = self._package(context)
            except KeyboardInterrupt:
                self._stop_all(CANCELLED, "interrupted")
                state, error = CANCELLED, "interrupted (Ctrl-C or SIGTERM)"
            except (BuildError, ArtifactError, OSError) as exc:
                self._stop_all(CANCELLED, str(exc))
                state, error = FAILED, str(exc)
        finally:
            self._stop_all(CANCELLED, "the build ended")
        artifact = packaged.digest if packaged is not None else None
        finished = self.store.builds.finish(self.build.id, state, error=error, artifact=artifact)
        self.store.events.append(
            events.BUILD + state,
            source=events.SOURCE_BUILDS,
            subject=finished.id,
            data={"service": finished.service, "artifact": artifact, "error": error},
            actor=self.request.created_by,
        )
        if state == SUCCEEDED and self.request.on_success is not None:
            self.observer.phase("releasing")
            try:
                release_id = self.request.on_success(finished, project, project_dir)
            except Exception as exc:
                # Whatever the release step raises, the build itself stays green; say why
                # there is no release instead of turning a good build into a traceback.
                release_error = getattr(exc, "message", None) or str(exc)
            if release_id is not None:
                finished = self.store.builds.set_release(finished.id, release_id)
        tail: list[str] = []
        if self.failed_step is not None:
            tail = logs.tail(self._log(self.failed_step), TAIL_LINES)
        return BuildResult(
            finished,
            self.store.builds.steps(finished.id),
            packaged,
            self.failed_step,
            tail,
            release_error,
        )

    def _log(self, step: str) -> Path:
        return logs.log_path(self.request.root, self.build.id, step)

    def _steps(self, context: Path) -> tuple[str, str | None]:
        scheduler = Scheduler(
            order=list(self.steps),
            needs=self.pipeline.dependencies(),
            step_timeouts={
                name: step.timeout.total_seconds() if step.timeout else None
                for name, step in self.steps.items()
            },
            build_timeout=self.pipeline.timeout.total_seconds(),
            started_at=self.clock.monotonic(),
        )
        next_cancel_check = 0.0
        while True:
            now = self.clock.monotonic()
            self._reap(scheduler, context)
            cancel = False
            if now >= next_cancel_check:
                cancel = self.store.builds.get(self.build.id).cancel_requested
                next_cancel_check = now + CANCEL_POLL_SECONDS
            decision = scheduler.decide(now, cancel_requested=cancel)
            if decision.stop:
                codes = stop([self.running.pop(s.step) for s in decision.stop])
                for item in decision.stop:
                    self._end(
                        scheduler,
                        item.step,
                        item.state,
                        exit_code=codes.get(item.step),
                        error=item.reason,
                    )
            for name in decision.start:
                self._start(scheduler, name, context, now)
            if decision.outcome is not None:
                return decision.outcome
            if not decision.start:
                self.clock.sleep(self.poll)

    def _start(self, scheduler: Scheduler, name: str, context: Path, now: float) -> None:
        step = self.steps[name]
        key = None
        if step.cache is not None:
            key = self.cache.key(step, context)
            if self.cache.restore(step, key, context):
                log = self._log(name)
                log.parent.mkdir(parents=True, exist_ok=True)
                restored = ", ".join(step.cache.paths)
                log.write_text(f"roost: cache hit ({key[:19]}): restored {restored}\n")
                self.store.builds.step_finished(
                    self.build.id, name, CACHED, cache_key=key, cache_hit=True
                )
                scheduler.ended(name, CACHED)
                self.observer.step_changed(name, CACHED, "cache hit")
                return
        cwd = context / step.dir if step.dir else context
        started = launch(step, cwd=cwd, variables=self.variables, log=self._log(name))
        if isinstance(started, str):
            self.failed_step = self.failed_step or name
            self._end(scheduler, name, FAILED, error=f"step {name}: {started}", cache_key=key)
            return
        self.store.builds.step_started(self.build.id, name, cache_key=key)
        scheduler.started(name, now)
        self.running[name] = started
        self.observer.step_changed(name, "running", "")

    def _reap(self, scheduler: Scheduler, context: Path) -> None:
        for name, process in list(self.running.items()):
            code = process.poll()
            if code is None:
                continue
            del self.running[name]
            step = self.steps[name]
            if code != 0:
                self.failed_step = self.failed_step or name
                how = describe_exit(code, shell=isinstance(step.run, str))
                self._end(
                    scheduler, name, FAILED, exit_code=code, error=f"step {name} failed: {how}"
                )
                continue
            error = None
            if step.cache is not None:
                try:
                    self.cache.save(step, self.cache.key(step, context), context)
                except BuildError as exc:
                    error = str(exc)
            if error is not None:
                self.failed_step = self.failed_step or name
                self._end(scheduler, name, FAILED, exit_code=code, error=error)
            else:
                self._end(scheduler, name, SUCCEEDED, exit_code=code)

    def _end(
        self,
        scheduler: Scheduler,
        name: str,
        state: str,
        *,
        exit_code: int | None = None,
        error: str | None = None,
        cache_key: str | None = None,
    ) -> None:
        self.store.builds.step_finished(
            self.build.id, name, state, exit_code=exit_code, error=error, cache_key=cache_key
        )
        scheduler.ended(name, state, reason=error)
        self.observer.step_changed(name, state, error or "")

    def _stop_all(self, state: str, reason: str) -> None:
        if not self.running:
            return
        codes = stop(list(self.running.values()))
        for name in list(self.running):
            del self.running[name]
            self.store.builds.step_finished(
                self.build.id, name, state, exit_code=codes.get(name), error=reason
            )
            self.observer.step_changed(name, state, reason)

    def _package(self, context: Path) -> Packaged:
        files = self.pipeline.artifact
        short = self.commit.short_sha
        return package_service(
            layout_of(self.request.root),
            context,
            service=self.service.name,
            tags=[f"{self.service.name}:{short}", f"{self.service.name}:latest"],
            include=files.include,
            exclude=files.exclude,
            commit=self.commit.sha,
            branch=self.commit.branch,
            created=self.commit.time,
        )


__all__ = ["BuildRequest", "BuildResult", "Observer", "QuietObserver", "pipeline_of", "run_build"]
