"""``roost up|down|ps|start|weights|stop|agent``: run and steer the local data plane.

``roost up`` starts two background processes for a project — the agent (data plane: replicas,
proxies, telemetry) under its supervisor, which restarts it if it dies (see
``roost.agent.supervising``), and ``roost serve`` (control plane) — each in its own session so
they outlive the terminal, and each independent of the other: killing the control plane leaves
traffic flowing through the agent, killing the agent leaves the listening sockets open.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from roost._util.files import read_json_object
from roost._util.processes import pid_alive
from roost.cli._api import act_as, api_url, call, recorded_api
from roost.cli._binding import Tls, check_exposure, load_tls
from roost.cli._formats import FormatOpt, IntervalOpt, WatchOpt, chosen, emit, watching
from roost.cli._inputs import env_assignments, part, revision_name, service_name, weight_assignments
from roost.cli._options import (
    ApiOpt,
    EnvOpt,
    InsecureHttpOpt,
    ProjectOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
)
from roost.cli._output import console, err_console, fail, user_errors
from roost.cli._people import AsOpt
from roost.cli._secrets import secret_env
from roost.cli._tables import Table
from roost.control.paths import API_FILE, STATE_DIR, read_api_file, resolve_root

AGENT_DIR = "agent"
AGENT_FILE = "agent.json"
SUPERVISOR_FILE = "supervisor.json"
if TYPE_CHECKING:
    from roost.cli._shapes import Ps

START_TIMEOUT = 60.0  # generous: a busy machine takes seconds to import the control plane


def _state(project: Path | None) -> Path:
    return resolve_root(project) / STATE_DIR


def _recorded_pid(path: Path) -> int | None:
    data = read_api_file(path.parent) if path.name == API_FILE else read_json_object(path)
    pid = data.get("pid") if data else None
    return pid if isinstance(pid, int) and pid_alive(pid) else None


class _StartFailed(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _spawn(args: list[str], *, log: Path, ready: Path, what: str) -> int:
    """Start ``python ARGS`` in its own session and wait until it writes ``ready``; its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.exists():
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise _StartFailed(
                f"the {what} exited with code {process.returncode}: {' | '.join(tail)}",
                hint=f"see {log}",
            )
        if time.monotonic() > deadline:
            _stop(process.pid, what, quiet=True)
            raise _StartFailed(
                f"the {what} did not start within {START_TIMEOUT:.0f}s", hint=f"see {log}"
            )
        time.sleep(0.05)
    return process.pid


def _wait_for(ready: Path, pid: int, what: str) -> None:
    """Wait for a running supervisor to bring its agent up (it may be restarting it)."""
    deadline = time.monotonic() + START_TIMEOUT
    while _recorded_pid(ready) is None:
        if not pid_alive(pid) or time.monotonic() > deadline:
            raise _StartFailed(f"the {what} (pid {pid}) has no agent serving", hint="roost down")
        time.sleep(0.05)


def _stop(pid: int, what: str, *, timeout: float = 60.0, quiet: bool = False) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` s, then SIGKILL."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        if not quiet:
            err_console.print(f"roost: the {what} (pid {pid}) did not stop; sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def up(
    project: ProjectOpt = None,
    environment: EnvOpt = None,
    as_: AsOpt = None,
    host: Annotated[
        str, typer.Option(help="Address the control plane's API listens on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API; 0 picks a free one.")] = 0,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    tls_ca: TlsCaOpt = None,
    insecure_http: InsecureHttpOpt = False,
) -> None:
    """Start the agent and the control plane in the background, then every service.

    A start that fails leaves nothing running: whatever this command started is stopped again.
    The API options (--host, --port, --tls-*) apply when this starts the control plane.
    """
    from roost.control.workspace import find_project
    from roost.spec import load_project

    if not 0 <= port <= 65535:
        fail(f"--port {port} is out of range", hint="use 1-65535, or 0 for a free port", code=2)
    # Refused here, before the agent starts, with the same words `roost serve` would use.
    tls = load_tls(tls_cert, tls_key, tls_ca)
    check_exposure(host, tls=tls, insecure_http=insecure_http)
    serve_args = _serve_args(host=host, port=port, tls=tls, insecure_http=insecure_http)
    with user_errors():
        project_file = find_project(project)
        load_project(project_file)  # refuse a broken roost.yaml before starting anything
    root = project_file.parent
    started: list[tuple[int, str]] = []
    try:
        running = _start_daemons(root, started, serve_args)
        act_as(as_)
        base = api_url(None, root)
        if running:
            # A control plane that was already running applies roost.yaml as it is now, so
            # `up` starts what the file says (not what it said when that control plane started).
            call("POST", f"{base}/api/v1/apply", json={}, timeout=60)
        result = call(
            "POST",
            f"{base}/api/v1/up",
            json={
                "environment": environment,
                "secret_env": secret_env(project_file),
            },
            timeout=120,
        )
    except _StartFailed as exc:
        _undo(root, started)
        fail(f"{exc}{_undone(started)}", hint=exc.hint)
    except typer.Exit:
        # `call` has printed the one line that says why; stop what this command started.
        _undo(root, started)
        if started:
            console.print(_undone(started).removeprefix("; "), markup=False)
        raise
    for revision in result.get("started", []):
        console.print(f"started {revision}", markup=False)
    _print_ps(result, base)


def _serve_args(*, host: str, port: int, tls: Tls | None, insecure_http: bool) -> list[str]:
    """The API options ``roost up`` hands to the ``roost serve`` it starts."""
    args = ["--host", host, "--port", str(port)]
    if tls is not None:
        args += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
        if tls.ca is not None:
            args += ["--tls-ca", str(tls.ca)]
    if insecure_http:
        args.append("--insecure-http")
    return args


def _start_daemons(root: Path, started: list[tuple[int, str]], serve_args: list[str]) -> bool:
    """Start the supervised agent and the control plane unless running (appending what was
    started to ``started``); whether the control plane was running already."""
    state = root / STATE_DIR
    agent_dir = state / AGENT_DIR
    supervisor = _recorded_pid(agent_dir / SUPERVISOR_FILE)
    agent = _recorded_pid(agent_dir / AGENT_FILE)
    if supervisor is not None:
        _wait_for(agent_dir / AGENT_FILE, supervisor, "agent supervisor")
    elif agent is not None:
        err_console.print(
            f"roost: warning: the agent (pid {agent}) runs without its supervisor, so nothing "
            "restarts it if it dies (`roost down` then `roost up` starts a supervised one)",
            markup=False,
        )
    else:
        (agent_dir / AGENT_FILE).unlink(missing_ok=True)
        (agent_dir / SUPERVISOR_FILE).unlink(missing_ok=True)
        console.print("starting the agent (data plane, supervised) ...", markup=False)
        pid = _spawn(
            ["-m", "roost.agent.supervising", "--project", str(root)],
            log=state / "agent.log",
            ready=agent_dir / AGENT_FILE,
            what="agent",
        )
        started.append((pid, "agent"))
    running = _recorded_pid(state / API_FILE) is not None
    if not running:
        (state / API_FILE).unlink(missing_ok=True)
        console.print("starting the control plane (roost serve) ...", markup=False)
        pid = _spawn(
            ["-m", "roost", "serve", "--project", str(root), *serve_args],
            log=state / "serve.log",
            ready=state / API_FILE,
            what="control plane",
        )
        started.append((pid, "control plane"))
    return running


def _undo(root: Path, started: list[tuple[int, str]]) -> None:
    """Stop what this ``roost up`` started, newest first (the agent stops its replicas)."""
    for pid, what in reversed(started):
        _stop(pid, what, quiet=True)
    if any(what == "agent" for _, what in started):
        from roost.runtime.local.orphans import runtime_dirs, stop_orphans

        for runtime in runtime_dirs(root / STATE_DIR / AGENT_DIR):
            stop_orphans(runtime)


def _undone(started: list[tuple[int, str]]) -> str:
    if not started:
        return ""
    names = " and the ".join(what for _, what in started)
    return f"; stopped the {names} this command had started, nothing is left running"


def down(project: ProjectOpt = None) -> None:
    """Stop the control plane and the agent (which stops every replica gracefully); replicas
    left by an agent that died are stopped too, by their recorded identities."""
    from roost.runtime.local.orphans import runtime_dirs, stop_orphans

    state = _state(project)
    stopped = 0
    for path, what in (
        (state / API_FILE, "control plane"),
        (state / AGENT_DIR / SUPERVISOR_FILE, "agent supervisor"),
        (state / AGENT_DIR / AGENT_FILE, "agent"),
    ):
        pid = _recorded_pid(path)
        if pid is None:
            continue
        # The supervisor waits for its agent, which waits for its replicas' grace periods.
        _stop(pid, what, timeout=90.0 if what == "agent supervisor" else 60.0)
        console.print(f"stopped the {what} (pid {pid})", markup=False)
        stopped += 1
    orphans = [o for d in runtime_dirs(state / AGENT_DIR) for o in stop_orphans(d)]
    if orphans:
        names = sorted({f"{o.service}/{o.revision}" for o in orphans})
        console.print(
            f"stopped {len(orphans)} replica(s) left running by an agent that died: "
            f"{', '.join(names)}",
            markup=False,
        )
        stopped += 1
    if not stopped:
        console.print("nothing was running for this project", markup=False)


def _fmt(value: float | None, scale: float = 1.0, unit: str = "") -> str:
    return "—" if value is None else f"{value * scale:.1f}{unit}"


def _by_environment(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(environment, services) pairs of a whole agent's state, or of one environment's."""
    environments = state.get("environments")
    if isinstance(environments, dict):
        return [(str(env), scope.get("services") or {}) for env, scope in environments.items()]
    return [(str(state.get("environment") or "—"), state.get("services") or {})]


def ps_shape(state: dict[str, Any], source: str) -> Ps:
    """The agent's or API's state as the documented ``roost ps`` shape."""
    from roost.cli._shapes import Ps, PsAgent, PsRevision, PsService

    services = []
    for env, scope in _by_environment(state):
        for name, svc in scope.items():
            revisions = []
            for rev in svc.get("revisions") or []:
                metrics = rev.get("metrics") or {}
                revisions.append(
                    PsRevision(
                        revision=str(rev.get("revision", "")),
                        weight=int(rev.get("weight", 0)),
                        phase=rev.get("phase"),
                        ready_replicas=int(rev.get("ready_replicas", 0)),
                        desired_replicas=int(rev.get("desired_replicas", 0)),
                        restarts=sum(int(r.get("restarts", 0)) for r in rev.get("replicas", [])),
                        rps=metrics.get("rps"),
                        error_ratio=metrics.get("error_ratio"),
                        p99_seconds=metrics.get("p99"),
                    )
                )
            services.append(
                PsService(environment=env, service=name, url=svc.get("url"), revisions=revisions)
            )
    agents = [
        PsAgent(node=b.get("node"), ready=bool(b.get("ready")), renewed_at=b.get("renewed_at"))
        for b in state.get("heartbeats", [])
    ]
    return Ps(source=source, services=services, agents=agents)


def _print_ps(state: dict[str, Any], source: str) -> None:
    services = [
        (env, name, svc) for env, scope in _by_environment(state) for name, svc in scope.items()
    ]
    table = Table(
        "env",
        "service",
        "listen",
        "revision",
        "weight",
        "phase",
        "ready",
        "restarts",
        "rps",
        "errors",
        "p99",
        title=f"roost ps ({source})",
    )
    for env, name, svc in services:
        revisions = svc.get("revisions") or [{}]
        for i, rev in enumerate(revisions):
            metrics = rev.get("metrics") or {}
            replicas = rev.get("replicas", [])
            table.add_row(
                env if i == 0 else "",
                name if i == 0 else "",
                (svc.get("url") or "—") if i == 0 else "",
                rev.get("revision", "—"),
                f"{rev.get('weight', 0)}%" if rev else "",
                rev.get("phase", ""),
                f"{rev.get('ready_replicas', 0)}/{rev.get('desired_replicas', 0)}" if rev else "",
                str(sum(r.get("restarts", 0) for r in replicas)) if rev else "",
                _fmt(metrics.get("rps")),
                _fmt(metrics.get("error_ratio"), 100, "%"),
                _fmt(metrics.get("p99"), 1000, "ms"),
            )
    console.print(table)
    for beat in state.get("heartbeats", []):
        condition = "Ready" if beat.get("ready") else "NotReady (no heartbeat within its lease)"
        console.print(
            f"agent {beat.get('node')}: {condition}, last heartbeat {beat.get('renewed_at')}",
            markup=False,
        )
    for env, name, svc in services:
        for rev in svc.get("revisions", []):
            for replica in rev.get("replicas", []):
                if replica.get("last_exit") and replica.get("state") != "Running":
                    console.print(
                        f"  {env}/{name}/{rev['revision']}#{replica['index']}: "
                        f"{replica['state']}, "
                        f"{replica['last_exit']}",
                        markup=False,
                    )


def _ps_state(project: Path | None, api: str | None) -> tuple[dict[str, Any], str]:
    if api is None and not os.environ.get("ROOST_API_URL") and recorded_api(project) is None:
        # No control plane: ask the agent directly — the data plane outlives the control plane.
        from roost.control.dataplane.agents import AgentClient, AgentUnavailable

        try:
            with AgentClient.for_project(_state(project) / AGENT_DIR) as agent:
                return agent.state(), f"agent {agent.url}; the control plane is not running"
        except AgentUnavailable as exc:
            fail(str(exc), hint=exc.hint)
    base = api_url(api, project)
    state: dict[str, Any] = call("GET", f"{base}/api/v1/ps")
    return state, base


def ps(
    project: ProjectOpt = None,
    api: ApiOpt = None,
    output: FormatOpt = None,
    watch: WatchOpt = False,
    interval: IntervalOpt = 2.0,
) -> None:
    """Revisions, replicas, weights and live rps / error ratio / p99 per revision."""
    fmt = chosen(output)
    if watch:
        last: dict[str, Any] = {}

        def fetch() -> Ps:
            state, source = _ps_state(project, api)
            last.update(state=state, source=source)
            return ps_shape(state, source)

        watching(
            fetch,
            lambda _: _print_ps(last["state"], last["source"]),
            fmt,
            interval=interval,
        )
        return
    state, source = _ps_state(project, api)
    if fmt is not None:
        emit(ps_shape(state, source), fmt)
        return
    _print_ps(state, source)


def start(
    service: Annotated[str, typer.Argument(help="Service name.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_: AsOpt = None,
    environment: Annotated[str | None, typer.Option("--env", "-e", help="Environment.")] = None,
    release: Annotated[
        str | None, typer.Option(help="Run this release (default: cut one).")
    ] = None,
    set_env: Annotated[
        list[str] | None, typer.Option("--set-env", help="KEY=VALUE added to this revision's env.")
    ] = None,
    replicas: Annotated[int | None, typer.Option(min=0, help="Replica count.")] = None,
) -> None:
    """Start a new revision of SERVICE next to the running one, at weight 0."""
    service_name(service)
    overrides = env_assignments(set_env)
    act_as(as_)
    base = api_url(api, project)
    body = {
        "environment": environment,
        "release": release,
        "env": overrides,
        "replicas": replicas,
        "secret_env": {} if release else secret_env(project, [service]),
    }
    result = call(
        "POST", f"{base}/api/v1/services/{part(service)}/revisions", json=body, timeout=120
    )
    console.print(
        f"started {result['revision']} (weight 0 unless it is the only one)", markup=False
    )


def weights(
    service: Annotated[str, typer.Argument(help="Service name.")],
    assignments: Annotated[list[str], typer.Argument(help="REVISION=PERCENT, adding up to 100.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    as_: AsOpt = None,
) -> None:
    """Move traffic: replace SERVICE's weights in one environment's router (default: the
    first), in one atomic update."""
    service_name(service)
    parsed = weight_assignments(assignments)
    act_as(as_)
    base = api_url(api, project)
    body = {"weights": parsed, "environment": environment}
    result = call("PUT", f"{base}/api/v1/services/{part(service)}/weights", json=body)
    shown = ", ".join(f"{k}={v}%" for k, v in result["weights"].items())
    console.print(f"{service}: {shown}", markup=False)


def stop(
    service: Annotated[str, typer.Argument(help="Service name.")],
    revision: Annotated[str, typer.Argument(help="Revision to stop (it must have weight 0).")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
    environment: EnvOpt = None,
    as_: AsOpt = None,
) -> None:
    """Drain and stop one revision of SERVICE (in one environment, default: the first)."""
    service_name(service)
    revision_name(revision)
    act_as(as_)
    base = api_url(api, project)
    params = {}
    if environment is not None:
        params["environment"] = environment
    url = f"{base}/api/v1/services/{part(service)}/revisions/{part(revision)}"
    call("DELETE", url, params=params, timeout=120)
    console.print(f"stopped {service}/{revision}", markup=False)


def agent(
    project: ProjectOpt = None,
    port: Annotated[int, typer.Option(help="Port for the agent API; 0 picks a free one.")] = 0,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_DATABASE_URL",
            show_default=False,
            help="State store for the agent's heartbeat lease.",
        ),
    ] = None,
) -> None:
    """Run the agent (data plane) in the foreground. `roost up` starts it (supervised) for you."""
    from roost._util.agentkeys import AgentKeyError, AgentKeys
    from roost.agent.handover import CHANNEL_ENV
    from roost.agent.running import run_agent
    from roost.cli.serving import bind
    from roost.store import open_store

    root = resolve_root(project)
    state = root / STATE_DIR / AGENT_DIR
    # Started by a supervisor: the sockets come from it (see roost.agent.handover).
    supervised = CHANNEL_ENV in os.environ
    try:
        # The secret shared with the control plane (created on first use): refused here in one
        # line rather than as a traceback from the running agent.
        AgentKeys.ensure(state)
    except (AgentKeyError, OSError) as exc:
        fail(
            f"the agent's key: {exc}",
            hint="the agent runs as the project's owner, who alone reads .roost/agent/agent.key",
        )
    with user_errors():
        store = open_store(database_url, root=root)
    sock = None if supervised else bind("127.0.0.1", port)
    try:
        run_agent(state, sock=sock, store=store, supervised=supervised)
    finally:
        if sock is not None:
            sock.close()
        store.close()
