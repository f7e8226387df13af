"""Watching a rollout: a Rich live view on a terminal, plain timeline lines elsewhere.

The view polls ``GET /api/v1/rollouts/{id}/status`` (state, step, weights, verdicts, timeline)
and ``GET /api/v1/ps`` (live rps / error ratio / p99 per revision) twice a second. The timeline
scrolls above the panel; the panel shows where the rollout is now. Without a terminal (CI, a
pipe) only the timeline lines are printed, one per entry, so logs stay readable.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from roost.cli._api import call
from roost.cli._output import console
from roost.cli._tables import Table

POLL_SECONDS = 0.5
EXIT_WAITING = 3
"""Exit code when a rollout holds for a human (paused, awaiting approval)."""

_HOLDING = ("paused", "awaiting_approval")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f}ms"


def step_text(view: dict[str, Any]) -> str:
    """``step 3/6: set_weight 25`` (or the final move to 100%)."""
    steps = view.get("steps") or []
    index = int(view.get("step") or 0)
    if not steps:
        return "straight to 100% once warm" if view.get("strategy") == "direct" else "—"
    if index >= len(steps):
        return f"final step: 100% to {view.get('to_release')}"
    step = steps[index]
    kind, value = next(iter(step.items()))
    detail = (
        value if not isinstance(value, dict) else ", ".join(f"{k} {v}" for k, v in value.items())
    )
    return f"step {index + 1}/{len(steps)}: {kind} {detail or ''}".rstrip()


def progress(view: dict[str, Any]) -> float:
    """How far the rollout is, 0..1."""
    if view.get("state") == "promoted":
        return 1.0
    steps = view.get("steps") or []
    if not steps:
        return 0.0
    return min(1.0, int(view.get("step") or 0) / (len(steps) + 1))


def _bar(done: float, width: int = 40) -> str:
    filled = round(done * width)
    return "█" * filled + "░" * (width - filled) + f" {done * 100:.0f}%"


def render(view: dict[str, Any], ps: dict[str, Any] | None) -> RenderableType:
    """The panel: what, where, weights and live metrics per revision, verdict, waiting for."""
    weights = view.get("weights") or {}
    title = (
        f"{view['service']} {view.get('from_release') or '—'} → {view['to_release']} "
        f"({view.get('strategy')}, {view['environment']}) — {view['state']}"
    )
    table = Table("revision", "role", "weight", "rps", "errors", "p99", box=None)
    revisions = {}
    if ps is not None:
        # The rollout's own environment: the same release may run in another one.
        scope = (ps.get("environments") or {}).get(view["environment"]) or {}
        service = (scope.get("services") or {}).get(view["service"]) or {}
        revisions = {r["revision"]: r for r in service.get("revisions") or []}
    for name, role in ((view.get("stable"), "stable"), (view.get("canary"), "canary")):
        if not name:
            continue
        metrics = (revisions.get(name) or {}).get("metrics") or {}
        table.add_row(
            name,
            role,
            f"{weights.get(name, 0)}%",
            f"{metrics.get('rps') or 0:.1f}",
            _pct(metrics.get("error_ratio")),
            _ms(metrics.get("p99")),
        )
    lines: list[RenderableType] = [
        Text(step_text(view)),
        Text(_bar(progress(view))),
        table,
    ]
    verdict = view.get("last_verdict")
    if verdict:
        failing = view.get("consecutive_failures") or 0
        lines.append(
            Text(
                f"analysis #{view.get('analyses')}: {verdict['summary']}"
                + (f" ({failing} failing in a row)" if failing else "")
            )
        )
    if view.get("waiting"):
        lines.append(Text(f"waiting: {view['waiting']}", style="dim"))
    return Panel(Group(*lines), title=f"rollout {view['id']}", subtitle=title)


def reason_line(view: dict[str, Any]) -> str:
    """One line saying how a rollout ended or why it holds (the CLI's last word)."""
    abort = view.get("abort")
    if abort:
        return f"aborted by {abort['by']}: {abort['reason']}"
    pause = view.get("pause")
    if pause:
        return f"paused: {pause['reason']}"
    if view.get("state") == "promoted":
        return f"{view['to_release']} promoted: it has all the traffic"
    return str(view.get("waiting") or view.get("state"))


def timeline_line(entry: dict[str, Any]) -> str:
    """One timeline entry as a line: ``07:46:28.177 step {...}``."""
    detail = entry.get("detail") or {}
    shown = ", ".join(f"{k}={v}" for k, v in detail.items() if k not in ("window_start",))
    if len(shown) > 160:
        shown = shown[:157] + "..."
    return f"{entry['at'][11:23]}  {entry['kind']:<20} {shown}"


def finished(view: dict[str, Any]) -> bool:
    """Whether a rollout view has ended or holds for a human (where following stops)."""
    return not view.get("active", True) or view.get("state") in _HOLDING


def watch(base: str, rollout_id: str) -> dict[str, Any]:
    """Follow a rollout until it ends or holds for a human; its last view."""
    seen = 0
    status: dict[str, Any] = {}

    def poll() -> tuple[dict[str, Any], dict[str, Any] | None]:
        nonlocal seen
        current = call("GET", f"{base}/api/v1/rollouts/{rollout_id}/status")
        for entry in current.get("timeline", [])[seen:]:
            console.print(timeline_line(entry), markup=False, highlight=False, soft_wrap=True)
        seen = len(current.get("timeline", []))
        try:
            ps = call("GET", f"{base}/api/v1/ps", timeout=5)
        except typer.Exit:  # the metrics are a nicety; the rollout view is what matters
            ps = None
        return current, ps

    def done(view: dict[str, Any]) -> bool:
        return finished(view)

    if not console.is_terminal:
        while True:
            status, _ = poll()
            if done(status):
                return status
            time.sleep(POLL_SECONDS)
    from rich.live import Live

    status, ps = poll()
    with Live(render(status, ps), console=console, refresh_per_second=4) as live:
        while not done(status):
            time.sleep(POLL_SECONDS)
            status, ps = poll()
            live.update(render(status, ps))
    return status
