"""``roost serve``: the HTTP API and the control-plane daemons (the rollout loop)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from roost.cli._output import console, fail, user_errors
from roost.control.paths import API_FILE, DEFAULT_API_PORT, write_api_file


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
    sock.set_inheritable(True)
    return sock


def serve(
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="roost.yaml or its folder (default: current folder)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on; 0 picks a free one.")
    ] = DEFAULT_API_PORT,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_DATABASE_URL",
            help="State store URL (default: SQLite at .roost/state.db next to roost.yaml).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the roost API: /healthz, /docs (OpenAPI), /api/v1/..."""
    import uvicorn

    from roost.api import create_app
    from roost.control.plane import LEASE_SECONDS, RENEW_EVERY, ControlPlane, Leadership
    from roost.control.reconciling import Reconciler
    from roost.control.rolling import RolloutExecutor
    from roost.control.workspace import open_workspace

    if not 0 <= port <= 65535:
        fail(f"--port {port} is out of range", hint="use 1-65535, or 0 for a free port", code=2)
    with user_errors():
        ws = open_workspace(project, database_url=database_url)
    with ws:
        sock = bind(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        url = f"http://{shown_host}:{bound_port}"
        leadership = Leadership(ws)
        leading = leadership.start(
            wait=LEASE_SECONDS + RENEW_EVERY, on_wait=lambda m: console.print(m, markup=False)
        )
        if not leading:
            console.print(
                "another roost serve holds the control-plane lease: serving read-only",
                markup=False,
            )
        plane = ControlPlane(ws, leadership=leadership)
        # A restarted control plane finds the data plane still running: adopt, don't restart.
        adopted = plane.adopt()
        # The rollout loop runs next to the API and acts only while this process leads; it
        # resumes every rollout the store says is in progress.
        executor = RolloutExecutor(ws, agent_dir=plane.agent_dir, leader=leadership)
        reconciler = Reconciler(executor).start()
        config = uvicorn.Config(
            create_app(ws, plane=plane, executor=executor),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        # uvicorn stops gracefully on SIGTERM and then re-raises the signal; make that (and a
        # SIGTERM that arrives before uvicorn starts) an ordinary exit so the clean-up below
        # runs: api.json withdrawn, the stop recorded in the audit log.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        api_file = ws.state_dir / API_FILE
        try:
            ws.store.events.append(
                "dev.roost.api.started",
                source="roost/serve",
                subject=ws.project.project,
                data={"url": url, "pid": os.getpid()},
            )
            write_api_file(ws.state_dir, url=url, pid=os.getpid())
            console.print(
                f"roost {ws.project.project}: API on {url} (docs: {url}/docs)", markup=False
            )
            console.print(f"state: {ws.store.url}", markup=False)
            if adopted:
                console.print(f"adopted running revisions: {', '.join(adopted)}", markup=False)
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            reconciler.stop()
            leadership.stop()
            sock.close()
            api_file.unlink(missing_ok=True)
            ws.store.events.append(
                "dev.roost.api.stopped", source="roost/serve", subject=ws.project.project
            )
