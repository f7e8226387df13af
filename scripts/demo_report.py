"""The demo's HTML report: traffic split and error ratio per revision over time, with the
rollouts' timelines on top — one self-contained file (inline SVG and CSS, no scripts).

    python scripts/demo_report.py --project DIR --service web --load load.jsonl --out report.html

The traffic comes from scripts/demo_load.py (what clients saw, per revision); the rollouts and
their timelines from the project's running roost API.
"""

from __future__ import annotations

import argparse
import html
import json
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

WIDTH, HEIGHT, PAD = 920, 200, 44
COLORS = ["#4c78a8", "#f58518", "#e45756", "#54a24b", "#b279a2", "#9d755d"]
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
svg { background: #fafafa; border: 1px solid #ddd; margin: .5em 0; }
.title { font-size: 13px; font-weight: 600; }
.tick { font-size: 11px; fill: #666; }
.grid { stroke: #e4e4e4; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 3px 6px; font-size: 12px; }
.key, .mark { display: inline-block; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
.key { width: 12px; }
.mark { width: 0; border-left: 2px dashed; }
pre { background: #f4f4f4; padding: .6em; font-size: 11px; overflow-x: auto; }
"""

MARKS = {
    "started": ("#888", "start"),
    "promoted": ("#54a24b", "promoted"),
    "fault_began": ("#e45756", "fault began"),
    "detected": ("#b22222", "detected"),
    "traffic_reverted": ("#222", "traffic back"),
}


def _get(api: str, path: str, token: str) -> Any:
    auth = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(api + path, headers=auth)  # noqa: S310 - local API
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local API
        return json.load(response)


def _ts(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def load_buckets(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def series(buckets: list[dict[str, Any]], revisions: list[str], window: int = 4) -> dict[str, Any]:
    """Per bucket: each revision's share of the traffic, and its error ratio over the last
    ``window`` buckets (a canary at 5% answers too few requests per half second to plot raw)."""
    times = [b["t"] for b in buckets]
    share: dict[str, list[float]] = {r: [] for r in revisions}
    errors: dict[str, list[float | None]] = {r: [] for r in revisions}
    for i, bucket in enumerate(buckets):
        total = sum(c[0] for c in bucket["revisions"].values()) or 1
        for rev in revisions:
            share[rev].append(bucket["revisions"].get(rev, [0, 0])[0] / total)
            recent = [
                b["revisions"].get(rev, [0, 0]) for b in buckets[max(0, i - window + 1) : i + 1]
            ]
            n = sum(c[0] for c in recent)
            errors[rev].append(None if n == 0 else sum(c[1] for c in recent) / n)
    return {"times": times, "share": share, "errors": errors}


def _x(t: float, t0: float, t1: float) -> float:
    return PAD + (t - t0) / max(t1 - t0, 1e-9) * (WIDTH - 2 * PAD)


def _y(value: float, top: float) -> float:
    return HEIGHT - PAD + -(value / top) * (HEIGHT - 2 * PAD) + 0.0


def _axes(t0: float, t1: float, top: float, label: str, fmt: str) -> list[str]:
    parts = [f'<text x="{PAD}" y="16" class="title">{html.escape(label)}</text>']
    for i in range(5):
        value = top * i / 4
        y = _y(value, top)
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(_tag("text", fmt.format(value), x=PAD - 6, y=y + 4, cls="tick", anchor="end"))
    span = t1 - t0
    step = 10 if span <= 120 else 30
    for s in range(0, int(span) + 1, step):
        x = _x(t0 + s, t0, t1)
        parts.append(_tag("text", f"{s}s", x=x, y=HEIGHT - PAD + 16, cls="tick", anchor="middle"))
    return parts


def _marks(events: list[tuple[float, str, str]], t0: float, t1: float) -> list[str]:
    parts = []
    for t, kind, label in events:
        if not t0 <= t <= t1:
            continue
        color, _ = MARKS.get(kind, ("#888", kind))
        x = _x(t, t0, t1)
        parts.append(
            _tag(
                "line",
                x1=x,
                x2=x,
                y1=PAD - 8,
                y2=HEIGHT - PAD,
                stroke=color,
                dash="3,3",
                title=label,
            )
        )
    return parts


def traffic_chart(
    data: dict[str, Any], revisions: list[str], events: list[tuple[float, str, str]]
) -> str:
    times = data["times"]
    t0, t1 = times[0], times[-1]
    parts = _axes(
        t0, t1, 1.0, "traffic split (share of requests answered by each revision)", "{:.0%}"
    )
    below = [0.0] * len(times)
    for n, rev in enumerate(revisions):
        above = [b + s for b, s in zip(below, data["share"][rev], strict=True)]
        top_line = [
            f"{_x(t, t0, t1):.1f},{_y(v, 1.0):.1f}" for t, v in zip(times, above, strict=True)
        ]
        bottom_line = [
            f"{_x(t, t0, t1):.1f},{_y(v, 1.0):.1f}" for t, v in zip(times, below, strict=True)
        ]
        points = " ".join(top_line + bottom_line[::-1])
        parts.append(
            _tag("polygon", points=points, fill=COLORS[n % len(COLORS)], opacity=0.85, title=rev)
        )
        below = above
    parts += _marks(events, t0, t1)
    return _svg(parts)


def error_chart(
    data: dict[str, Any], revisions: list[str], events: list[tuple[float, str, str]]
) -> str:
    times = data["times"]
    t0, t1 = times[0], times[-1]
    peak = max([v for r in revisions for v in data["errors"][r] if v is not None] + [0.05])
    top = min(1.0, round(peak * 1.2 + 0.005, 2))
    parts = _axes(t0, t1, top, "error ratio per revision (5xx, last 2 s)", "{:.0%}")
    for n, rev in enumerate(revisions):
        path, pen = [], "M"
        for t, v in zip(times, data["errors"][rev], strict=True):
            if v is None:
                pen = "M"
                continue
            path.append(f"{pen}{_x(t, t0, t1):.1f},{_y(v, top):.1f}")
            pen = "L"
        if path:
            parts.append(
                _tag(
                    "path",
                    d=" ".join(path),
                    fill="none",
                    stroke=COLORS[n % len(COLORS)],
                    width=2,
                    title=rev,
                )
            )
    parts += _marks(events, t0, t1)
    return _svg(parts)


def _tag(name: str, text: str = "", *, title: str | None = None, **attrs: Any) -> str:
    """One SVG element; ``cls``, ``anchor``, ``dash`` and ``width`` stand for the hyphenated
    attributes, numbers are rounded to a tenth."""
    names = {
        "cls": "class",
        "anchor": "text-anchor",
        "dash": "stroke-dasharray",
        "width": "stroke-width",
    }
    shown = " ".join(
        f'{names.get(k, k)}="{f"{v:.1f}" if isinstance(v, float) else html.escape(str(v))}"'
        for k, v in attrs.items()
    )
    inner = html.escape(text) + (f"<title>{html.escape(title)}</title>" if title else "")
    return f"<{name} {shown}>{inner}</{name}>"


def _svg(parts: list[str]) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )


def rollout_events(rollouts: list[dict[str, Any]]) -> list[tuple[float, str, str]]:
    events = []
    for r in rollouts:
        name = f"{r.get('from_release') or '—'} → {r['to_release']}"
        for entry in r["timeline"]:
            if entry["kind"] in ("started", "promoted"):
                t = _ts(entry["at"])
                assert t is not None
                events.append((t, entry["kind"], f"{name}: {entry['kind']}"))
        abort = r.get("abort") or {}
        for key, kind in (
            ("fault_began_at", "fault_began"),
            ("detected_at", "detected"),
            ("traffic_reverted_at", "traffic_reverted"),
        ):
            t = _ts(abort.get(key))
            if t is not None:
                events.append((t, kind, f"{name}: {MARKS[kind][1]}"))
    return events


def render(service: str, buckets: list[dict[str, Any]], rollouts: list[dict[str, Any]]) -> str:
    revisions = sorted(
        {rev for b in buckets for rev in b["revisions"] if rev != "(none)"},
        key=lambda r: (len(r), r),
    )
    data = series(buckets, revisions)
    events = rollout_events(rollouts)
    legend = " ".join(
        f'<span class="key" style="background:{COLORS[n % len(COLORS)]}"></span>{html.escape(r)}'
        for n, r in enumerate(revisions)
    )
    marks = " ".join(
        f'<span class="mark" style="border-color:{c}"></span>{html.escape(label)}'
        for c, label in MARKS.values()
    )
    rows = []
    for r in rollouts:
        abort = r.get("abort") or {}
        began, detected, back = (
            _ts(abort.get(k)) for k in ("fault_began_at", "detected_at", "traffic_reverted_at")
        )
        detection = "" if began is None or detected is None else f"{detected - began:.1f} s"
        revert = "" if detected is None or back is None else f"{(back - detected) * 1000:.0f} ms"
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    r["id"],
                    r.get("kind"),
                    f"{r.get('from_release') or '—'} → {r['to_release']}",
                    r["state"],
                    r.get("requested_by"),
                    detection,
                    revert,
                    (abort.get("reason") or "")[:120],
                )
            )
            + "</tr>"
        )
    timelines = []
    for r in rollouts:
        lines = "\n".join(
            html.escape(f"{e['at'][11:23]}  {e['kind']:<20} {json.dumps(e['detail'])[:160]}")
            for e in r["timeline"]
        )
        timelines.append(
            "<h3>"
            + html.escape(
                f"{r['id']}: {r.get('from_release') or '—'} → {r['to_release']} ({r['state']})"
            )
            + f"</h3><pre>{lines}</pre>"
        )
    total = sum(c[0] for b in buckets for c in b["revisions"].values())
    failed = sum(b.get("failed", 0) for b in buckets)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>roost demo: {html.escape(service)}</title>
<style>
{STYLE}</style></head><body>
<h1>roost demo — progressive rollouts of <code>{html.escape(service)}</code></h1>
<p>{total} requests through roost's router, {failed} without an answer.<br>
Revisions: {legend}<br>Marks: {marks}</p>
{traffic_chart(data, revisions, events)}
{error_chart(data, revisions, events)}
<h2>Rollouts</h2>
<table><tr><th>rollout</th><th>kind</th><th>releases</th><th>state</th><th>by</th><th>detection</th><th>revert</th><th>reason</th></tr>
{"".join(rows)}</table>
<h2>Timelines</h2>
{"".join(timelines)}
</body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--service", default="web")
    parser.add_argument("--load", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    api = json.loads((args.project / ".roost" / "api.json").read_text())["url"]
    token = (args.project / ".roost" / "auth" / "token").read_text().strip()
    history = _get(api, f"/api/v1/services/{args.service}/history", token)
    rollouts = [_get(api, f"/api/v1/rollouts/{r['id']}/status", token) for r in reversed(history)]
    buckets = load_buckets(args.load)
    if not buckets:
        raise SystemExit(f"{args.load} has no traffic samples")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args.service, buckets, rollouts))
    print(f"report: {args.out}")


if __name__ == "__main__":
    main()
