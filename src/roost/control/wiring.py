"""Builds the control plane's objects, in one place, for both faces that need them: the API
(``roost.api.create_app``) and ``roost serve`` (``roost.cli.serving``).

Constructors only build; nothing starts a thread or writes to the store until the caller says
:meth:`Wiring.start` (the SLO loop, only for a plane with a lease) or :meth:`Serving.start`
(the leader's duties as well). Without a lease — the in-process API of the tests, a
single-user setup — operations run on request and nothing loops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roost.control.dataplane.protocol import AgentApi
from roost.control.fencing import Leader
from roost.control.guards.locks import DeployLocks
from roost.control.leadership.duties import GateLeader, LeaderDuties, PeriodicDuty
from roost.control.leadership.eventing import EventDuty
from roost.control.leadership.leading import LeadershipGate
from roost.control.leadership.readiness import AgentWatch
from roost.control.operations.deploying import Deployments
from roost.control.operations.desired import DesiredState
from roost.control.operations.identities import IdentityDelivery
from roost.control.operations.plane import ControlPlane, agent_dir
from roost.control.operations.rolling_back import Rollbacks
from roost.control.releases.vault import vault_of
from roost.control.rollouts.executor import RolloutExecutor
from roost.control.workspace import Workspace
from roost.events.sinks import ActionRunner
from roost.identity import IDENTITY_DIR, TOKEN_LIFETIME, KeyStore
from roost.leases import Locks
from roost.secrets import SecretKeyError
from roost.store import Fence


@dataclass
class Wiring:
    """The control plane's objects for one workspace."""

    ws: Workspace
    plane: ControlPlane
    executor: RolloutExecutor
    deployments: Deployments
    rollbacks: Rollbacks
    desired: DesiredState
    """roost.yaml as applied (``roost apply``, and ``roost serve`` watching the file)."""
    identity_keys: KeyStore
    """The keys that sign workload tokens; the API publishes their public halves."""
    issuer: str | None = None
    """The issuer URL of workload tokens (``roost serve``'s); None: the URL the API is
    reached at."""

    def start(self) -> Wiring:
        """A plane with a lease evaluates its SLOs in a loop (the leader records alerts)."""
        if self.plane.leadership is not None:
            self.plane.slos.start()
        return self

    def stop(self) -> None:
        self.desired.stop()
        self.plane.slos.stop()


def wire(
    ws: Workspace,
    *,
    leader: Leader | None = None,
    deploy_locks: DeployLocks | None = None,
    connect: Callable[[], AgentApi] | None = None,
    rollout_connect: Callable[[], AgentApi] | None = None,
    say: Callable[[str], None] | None = None,
) -> Wiring:
    """The plane, the rollout executor, deployments and rollbacks of ``ws``.

    ``connect`` reaches the agent (default: the project's agent over HTTP; the tests pass the
    in-memory :class:`~roost.control.dataplane.fake.FakeAgent`); ``rollout_connect``, if
    given, is the executor's own way (``roost serve`` refuses rollout work while the agent is
    NotReady).
    """
    plane = ControlPlane(ws, leadership=leader, deploy_locks=deploy_locks, connect=connect)
    executor = RolloutExecutor(
        ws, agent_dir=plane.agent_dir, leader=leader, connect=rollout_connect or connect
    )
    deployments = Deployments(plane, executor)
    desired = DesiredState(ws, leadership=leader, say=say)
    return Wiring(
        ws, plane, executor, deployments, Rollbacks(deployments), desired, identity_keys(ws)
    )


def identity_keys(ws: Workspace) -> KeyStore:
    """The project's workload-identity signing keys (``.roost/identity/``)."""
    return KeyStore(ws.state_dir / IDENTITY_DIR, clock=ws.clock, token_lifetime=TOKEN_LIFETIME)


@dataclass
class Serving:
    """What ``roost serve`` runs beside the API: the wiring with a lease, the agents' readiness
    watch and the leader's duties."""

    wiring: Wiring
    gate: LeadershipGate
    watch: AgentWatch
    duties: LeaderDuties
    events: EventDuty
    """The triggers' dispatcher, running while this process leads."""

    def start(self) -> Serving:
        """The SLO loop and the leader's duties (before ``gate.start()``: nothing is missed)."""
        self.wiring.start()
        self.duties.start()
        self.events.start()
        return self

    def stop(self) -> None:
        """Stop acting (before the gate stops: nothing acts after the lease goes)."""
        self.wiring.desired.stop()
        self.watch.stop()
        self.events.stop()
        self.duties.stop()
        self.wiring.stop()


def _rekey_legacy_digests(ws: Workspace, say: Callable[[str], None]) -> None:
    """Releases cut before sealed secrets pinned unkeyed sha256 digests: key them now, so
    that no one can guess a short secret from a release again (docs/secrets.md)."""
    try:
        changed = vault_of(ws).rekey_legacy_digests()
    except (SecretKeyError, OSError) as exc:
        say(f"could not key the secret digests of older releases: {exc}")
        return
    if changed:
        say(f"keyed the secret digests of {len(changed)} older release(s)")


def wire_serve(
    ws: Workspace,
    gate: LeadershipGate,
    *,
    grace: float,
    agent_lease_prefix: str,
    local_agent_lease: str,
    on_lead: Callable[[Fence], None],
    say: Callable[[str], None],
    periodic: Sequence[Callable[[Wiring], PeriodicDuty]] = (),
    issuer: str,
    actions: Callable[[Wiring], ActionRunner] | None = None,
) -> Serving:
    """Everything ``roost serve`` needs around ``gate``: deploy locks on the gate's lease
    backend, a rollout loop that runs only while this process leads and sends no new work to
    an agent that stopped sending heartbeats, and workload tokens signed as ``issuer`` (one
    of the leader's periodic duties). ``periodic`` builds the leader's other periodic duties
    from the wiring (``roost serve`` passes the schedule runner, which sits above the control
    plane and so is handed in rather than imported). ``actions`` builds, from the wiring,
    what runs the roost actions triggers ask for (the faces pass the actions registry, handed
    in for the same reason; without it an action trigger's deliveries fail and are
    dead-lettered, never dropped)."""
    leader = GateLeader(gate)
    _rekey_legacy_digests(ws, say)
    locks = DeployLocks(Locks(gate.backend, events=ws.store.events, clock=ws.clock))
    watch = AgentWatch(
        ws.store,
        grace=grace,
        leader=leader,
        prefix=agent_lease_prefix,
        local=local_agent_lease,
        say=say,
        clock=ws.clock,
    )
    wiring = wire(
        ws,
        leader=leader,
        deploy_locks=locks,
        rollout_connect=watch.connector(agent_dir(ws)),
        say=say,
    )
    wiring.issuer = issuer.rstrip("/")
    identities = IdentityDelivery(
        ws,
        keys=wiring.identity_keys,
        issuer=wiring.issuer,
        connect=wiring.plane.connect,
        leader=leader,
    )
    duties = LeaderDuties(
        gate,
        plane=wiring.plane,
        executor=wiring.executor,
        on_lead=on_lead,
        say=say,
        deploy_locks=locks,
        periodic=[*(make(wiring) for make in periodic), identities],
    )
    runner = actions(wiring) if actions is not None else None
    return Serving(wiring, gate, watch, duties, EventDuty(ws, gate, actions=runner, say=say))
