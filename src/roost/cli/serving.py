"""``roost serve``: the HTTP API and the control-plane daemons (the rollout loop)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost._util import event_catalog as events
from roost._util.files import make_private
from roost._util.processes import pid_alive
from roost.cli._binding import Tls, advertised_url, check_exposure, load_tls
from roost.cli._options import (
    DatabaseOpt,
    HeartbeatGraceOpt,
    InsecureHttpOpt,
    ProjectOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
)
from roost.cli._output import console, fail, user_errors
from roost.control.paths import API_FILE, DEFAULT_API_PORT, read_api_file, write_api_file

if TYPE_CHECKING:
    from roost.control.leadership.leading import LeadershipGate
    from roost.control.operations.desired import DesiredState
    from roost.control.wiring import Wiring
    from roost.control.workspace import Workspace
    from roost.events.sinks import ActionRunner
    from roost.leases import ElectionConfig


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(0)


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves so "port in use" is one clear line, not a log dump."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot resolve --host {host!r}: {exc.strerror}", hint="use 127.0.0.1")
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is already in use",
                hint="stop the other process or pass --port (0 picks a free port)",
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", hint="check --host and --port")
    sock.listen(128)
    return sock


def _timing(value: float | None, env: str) -> dict[str, str]:
    return {} if value is None else {env: repr(float(value))}


def _advertise(state_dir: Path, url: str, ca: Path | None) -> None:
    """Point ``.roost/api.json`` (where the CLI finds the API) at this process, with the CA
    that signed its certificate (so the CLI verifies it without being told)."""
    write_api_file(state_dir, url=url, pid=os.getpid(), ca=str(ca) if ca else None)


def _advertised_elsewhere(state_dir: Path) -> bool:
    """Whether api.json names another ``roost serve`` that is still alive."""
    recorded = read_api_file(state_dir)
    pid = recorded.get("pid") if recorded else None
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    return pid_alive(pid)


def serve(
    project: ProjectOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on; 0 picks a free one.")
    ] = DEFAULT_API_PORT,
    database_url: DatabaseOpt = None,
    single_instance: Annotated[
        bool,
        typer.Option(
            "--single-instance",
            help="Skip the election: take the control-plane lease at once and lead until "
            "stopped (only when no other roost serve shares this store).",
        ),
    ] = False,
    lease_duration: Annotated[
        float | None,
        typer.Option(
            envvar="ROOST_LEASE_DURATION",
            help="Seconds a leader's lease lasts unrenewed before a follower takes over "
            "[default: 15].",
            show_default=False,
        ),
    ] = None,
    renew_deadline: Annotated[
        float | None,
        typer.Option(
            envvar="ROOST_LEASE_RENEW_DEADLINE",
            help="Seconds a leader keeps trying to renew before it steps down; less than "
            "--lease-duration [default: 10].",
            show_default=False,
        ),
    ] = None,
    retry_period: Annotated[
        float | None,
        typer.Option(
            envvar="ROOST_LEASE_RETRY_PERIOD",
            help="Seconds between renewals and between a follower's looks at the lease; "
            "1.2 x it must stay below --renew-deadline [default: 2].",
            show_default=False,
        ),
    ] = None,
    heartbeat_grace: HeartbeatGraceOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    tls_ca: TlsCaOpt = None,
    insecure_http: InsecureHttpOpt = False,
    identity_issuer: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_IDENTITY_ISSUER",
            show_default=False,
            help="The issuer URL of workload tokens and of /.well-known/openid-configuration "
            "(default: this API's URL); give one every roost serve of the project shares.",
        ),
    ] = None,
) -> None:
    """Run the roost API: /healthz, /docs (OpenAPI), /api/v1/...

    Several `roost serve` processes may share one state store (PostgreSQL) for availability:
    they elect a leader, which alone acts; the others answer reads and take over when it dies.
    Any address but loopback needs TLS (--tls-cert/--tls-key) or --insecure-http.
    """
    from roost.control.leadership.leading import CONTROL_LEASE, election_config
    from roost.control.leadership.readiness import grace_seconds
    from roost.control.workspace import open_workspace
    from roost.leases import LeaseError

    if not 0 <= port <= 65535:
        fail(f"--port {port} is out of range", hint="use 1-65535, or 0 for a free port", code=2)
    # Before anything opens or binds: a refused exposure leaves no trace and listens nowhere.
    tls = load_tls(tls_cert, tls_key, tls_ca)
    check_exposure(host, tls=tls, insecure_http=insecure_http)
    if identity_issuer is not None and not identity_issuer.startswith(("https://", "http://")):
        fail(
            f"--identity-issuer {identity_issuer!r} is not an http(s) URL",
            hint="e.g. https://roost.example.internal:7443",
            code=2,
        )
    try:
        grace = grace_seconds(heartbeat_grace)
    except ValueError as exc:
        fail(str(exc), hint="e.g. --heartbeat-grace 15 (three missed agent heartbeats)", code=2)
    environ = {
        **os.environ,
        **_timing(lease_duration, "ROOST_LEASE_DURATION"),
        **_timing(renew_deadline, "ROOST_LEASE_RENEW_DEADLINE"),
        **_timing(retry_period, "ROOST_LEASE_RETRY_PERIOD"),
    }
    try:
        # Checked before anything opens: bad timings are bad input (exit 2), one line.
        config = election_config(
            identity=f"serve-{socket.gethostname()}-{os.getpid()}",
            lease_name=CONTROL_LEASE,
            single_instance=single_instance,
            environ=environ,
        )
    except LeaseError as exc:
        fail(f"control-plane election: {exc}", hint=exc.hint, code=2)
    with user_errors():
        ws = open_workspace(project, database_url=database_url)
    with ws:
        _run(
            ws,
            host=host,
            port=port,
            tls=tls,
            issuer=identity_issuer,
            config=config,
            environ=environ,
            grace=grace,
        )


def _run(
    ws: Workspace,
    *,
    host: str,
    port: int,
    tls: Tls | None,
    issuer: str | None,
    config: ElectionConfig,
    environ: dict[str, str],
    grace: float,
) -> None:
    import uvicorn

    from roost.actions.scheduling import ScheduleRunner
    from roost.agent.heartbeat import AGENT_LEASE_PREFIX, node_lease_name
    from roost.api import create_app
    from roost.api.auth import ensure_owner_token
    from roost.control.leadership.leading import open_gate
    from roost.control.wiring import wire_serve
    from roost.leases import LeaseError

    try:
        gate = open_gate(
            ws.store,
            single_instance=config.single_instance,
            identity=config.identity,
            lease_name=config.lease_name,
            environ=environ,
        )
    except LeaseError as exc:
        fail(f"control-plane election: {exc}", hint=exc.hint, code=2)
    from roost.control.wiring import identity_keys
    from roost.identity import KeyStoreError

    try:
        identity_keys(ws).signing_key()  # the JWKS is never empty; the first key made once
    except KeyStoreError as exc:
        fail(str(exc), hint=exc.hint)
    sock = bind(host, port)
    # The project owner's admin token, saved where the CLI finds it, before anything can call.
    owner = ensure_owner_token(ws.store, ws.state_dir, created_by="roost serve")
    bound_host, bound_port = sock.getsockname()[:2]
    url = advertised_url(host, bound_host, bound_port, tls=tls)
    ca = tls.ca if tls else None
    state_dir = ws.state_dir
    # A .roost/ from an older roost may be readable by everyone: close it before serving.
    make_private(state_dir)
    # The rollout loop runs only while this process leads (the leader's duties start and stop
    # it) and resumes every rollout the store says is in progress. No new work goes to an
    # agent that stopped sending heartbeats.
    served = wire_serve(
        ws,
        gate,
        grace=grace,
        agent_lease_prefix=AGENT_LEASE_PREFIX,
        local_agent_lease=node_lease_name(),
        on_lead=lambda fence: _advertise(state_dir, url, ca),
        say=_say,
        # roost.yaml's schedules run on the leader, each tick claimed once in the store.
        periodic=[lambda wiring: ScheduleRunner(wiring, identity=gate.identity)],
        issuer=issuer or url,
        # Triggers' action sinks run through the same registry, audited with the trigger.
        actions=_trigger_actions,
    ).start()
    # roost.yaml as loaded now is applied (recorded when it differs from the project applied
    # last, so the plan shows what changed while no control plane ran), then watched.
    desired = served.wiring.desired
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ws, wiring=served.wiring),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(tls.cert) if tls else None,
            ssl_keyfile=str(tls.key) if tls else None,
        )
    )
    # uvicorn stops gracefully on SIGTERM and then re-raises the signal; make that (and a
    # SIGTERM that arrives before uvicorn starts) an ordinary exit so the clean-up below
    # runs: the lease released, api.json withdrawn, the stop recorded in the audit log.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        ws.store.events.append(
            events.API_STARTED,
            source=events.SOURCE_SERVE,
            subject=ws.project.project,
            data={"url": url, "pid": os.getpid(), "identity": gate.identity},
        )
        _say(f"roost {ws.project.project}: API on {url} (docs: {url}/docs)")
        _say(f"state: {ws.store.url}")
        _say(f"API credentials: the owner's admin token ({owner}) is in .roost/auth/token")
        _say(f"control-plane election as {gate.identity}: {_describe(config, gate)}")
        gate.start()
        served.watch.start()
        _watch_project(desired, gate)
        threading.Thread(
            target=_announce,
            args=(gate, state_dir, url, ca, config.lease_duration + 2 * config.retry_period),
            name="announce",
            daemon=True,
        ).start()
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Stop acting first, then leave the election (a leader releases the lease, so a
        # follower takes over at once).
        served.stop()
        gate.stop()
        sock.close()
        recorded = read_api_file(state_dir)
        if recorded and recorded.get("pid") == os.getpid():
            (state_dir / API_FILE).unlink(missing_ok=True)
        ws.store.events.append(
            events.API_STOPPED, source=events.SOURCE_SERVE, subject=ws.project.project
        )


def _watch_project(desired: DesiredState, gate: LeadershipGate) -> None:
    """Apply roost.yaml whenever this process starts leading (only the leader records what is
    applied), and watch the file for changes from now on (a follower swaps what it serves)."""
    from roost.spec import SpecError

    def apply(_fence: object) -> None:
        try:
            applied = desired.apply(actor="roost serve")
        except SpecError as exc:  # edited since the start: keep what was loaded
            _say(f"roost.yaml is invalid; running the project as loaded before:\n{exc}")
        except Exception as exc:  # the store busy: the next change of the file applies it
            _say(f"could not record the applied roost.yaml: {exc}")
        else:
            if not applied.plan.empty:
                _say(f"applied roost.yaml ({applied.plan.summary()})")

    gate.on_started_leading(apply)
    interval = _poll_interval(os.environ.get("ROOST_PROJECT_POLL"))
    if interval > 0:
        desired.start(interval=interval)


def _poll_interval(text: str | None) -> float:
    """Seconds between looks at roost.yaml (``ROOST_PROJECT_POLL``; 0: only `roost apply`)."""
    from roost.control.operations.desired import POLL_INTERVAL

    if not text:
        return POLL_INTERVAL
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 86400:
        _say(f"ROOST_PROJECT_POLL={text!r} is not a number of seconds; using {POLL_INTERVAL:g}")
        return POLL_INTERVAL
    return value


def _describe(config: ElectionConfig, gate: LeadershipGate) -> str:
    where = f"lease {config.lease_name!r} on {gate.backend.kind}"
    if config.single_instance:
        return f"{where}, single instance (no election)"
    return (
        f"{where}, duration {config.lease_duration:g}s, renew deadline "
        f"{config.renew_deadline:g}s, retry period {config.retry_period:g}s"
    )


def _say(message: str) -> None:
    console.print(message, markup=False)


def _announce(
    gate: LeadershipGate, state_dir: Path, url: str, ca: Path | None, wait: float
) -> None:
    """Advertise this API in api.json once it leads; a follower advertises itself only when
    no live leader does (so `roost status` and friends find *an* API on this machine)."""
    if gate.wait_for_leadership(wait):
        return  # LeaderDuties advertised it when the tenure began
    leader = gate.leader
    _say(
        f"following: {leader or 'nobody yet'} leads the control plane; serving reads, "
        "answering writes with 503 until this process leads"
    )
    if not gate.is_leader and not _advertised_elsewhere(state_dir):
        _advertise(state_dir, url, ca)


def _trigger_actions(wiring: Wiring) -> ActionRunner:
    """The actions registry as the event dispatcher calls it: a failed or refused action is
    a failed delivery (retried, then dead-lettered), never a silent one."""
    from roost.actions.protocol import ActionContext, Cause
    from roost.actions.registry import run_action
    from roost.events.sinks import ActionCall, ActionFailed

    def run(call: ActionCall) -> str:
        cause = Cause(
            kind="trigger",
            name=call.trigger,
            event_id=str(call.event["id"]),
            correlation_id=str(call.event.get("correlationid") or call.event["id"]),
        )
        result = run_action(call.name, call.params, ActionContext(wiring, cause))
        if not result.ok:
            hint = f" ({result.hint})" if result.hint else ""
            raise ActionFailed(result.message + hint)
        return result.message

    return run
