"""Done when (issue 15): a scan finds a vulnerability → one trigger posts to a Slack-compatible
receiver, one to a ticket receiver that is down (its delivery is dead-lettered after the retry
policy and replayed successfully once the receiver is up), one quarantines the artifact (the
`quarantine` action) so that a deploy of it is refused, and `roost events trace` shows the
whole tree. Real processes: `roost build`, `roost scan`, `roost serve`, the CLI; real HTTP
receivers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests._auth import owner_headers
from tests._canary import wait_for
from tests._roost import roost, serving
from tests._servers import free_port
from tests.events._receivers import Receiver
from tests.scan.conftest import OSV, VULNERABLE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

TRIGGERS = """
triggers:
  - name: vuln-slack
    filters:
      - exact: {{type: dev.roost.scan.vulnerability_found}}
      - any:
          - exact: {{data.severity: high}}
          - exact: {{data.severity: critical}}
    slack:
      url: {slack}
      text: "vulnerable artifact ${{subject}}: ${{data.count}} finding(s), worst ${{data.severity}}"
  - name: vuln-ticket
    filters:
      - exact: {{type: dev.roost.scan.vulnerability_found}}
    ticket:
      url: {ticket}
      labels: [security]
      timeout: 2s
    retry: {{max_attempts: 3, backoff: 200ms, jitter: 0}}
  - name: vuln-quarantine
    filters:
      - exact: {{type: dev.roost.scan.vulnerability_found}}
    action:
      name: quarantine
      with: {{digest: "${{subject}}", reason: "${{data.count}} known vulnerabilities"}}
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "vulnerable"
    shutil.copytree(VULNERABLE, root, ignore=shutil.ignore_patterns(".roost"))
    (root / ".gitignore").write_text(".roost/\n")
    env = {**os.environ, **GIT_ENV, "HOME": str(tmp_path)}
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "v1")):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


def _json(*args: str) -> Any:
    done = roost(*args, "--json", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.mark.timeout(400)
def test_a_vulnerability_fans_out_dead_letters_replays_and_traces(tmp_path: Path) -> None:
    root = _project(tmp_path)
    p = ("--project", str(root))
    assert roost("vulndb", "import", str(OSV), *p).returncode == 0
    built = roost("build", "web", *p, timeout=180, env={"HOME": str(tmp_path), **GIT_ENV})
    assert built.returncode == 0, built.stdout + built.stderr
    match = re.search(r"release (\S+) \(oci:(sha256:[0-9a-f]{64})\)", built.stdout)
    assert match, built.stdout
    release, digest = match.groups()

    ticket_port = free_port()  # nothing listens there yet: the ticket system is down
    with Receiver() as slack:
        spec = (root / "roost.yaml").read_text()
        ticket_url = f"http://127.0.0.1:{ticket_port}/hook"
        (root / "roost.yaml").write_text(spec + TRIGGERS.format(slack=slack.url, ticket=ticket_url))
        with serving(root):
            # The triggers' consumers exist once the leader runs the dispatcher.
            wait_for(
                lambda: 'trigger="vuln-ticket"' in _metrics(root),
                timeout=60,
                what="the dispatcher's consumers",
            )
            scanned = roost("scan", digest, *p, "--format", "json", timeout=120)
            assert scanned.returncode == 0, scanned.stderr
            (event,) = [
                e
                for e in _lines(roost("events", *p, "--type", "dev.roost.scan.", "--json").stdout)
                if e["subject"] == digest
            ]
            assert event["source"] == "/roost/scan"
            assert event["data"]["severity"] == "high"

            wait_for(lambda: slack.received, timeout=60, what="the Slack message")
            ((headers, message),) = slack.received
            assert headers["ce-id"] == event["id"]
            assert message["text"] == f"vulnerable artifact {digest}: 3 finding(s), worst high"

            dead = wait_for(
                lambda: _json("events", "dlq", "list", *p)["deliveries"],
                timeout=60,
                what="the ticket delivery in the DLQ",
            )
            (letter,) = dead
            assert letter["trigger"] == "vuln-ticket"
            assert letter["event_id"] == event["id"]
            assert letter["attempts"] == 3
            assert "unreachable" in letter["last_error"]
            shown = _json("events", "dlq", "show", letter["id"][:12], *p)
            assert [a["ok"] for a in shown["attempt_log"]] == [False, False, False]
            assert 'roost_events_dlq_depth{trigger="vuln-ticket"} 1.0' in _metrics(root)
            growing = _lines(roost("events", *p, "--type", "dev.roost.events.", "--json").stdout)
            assert {e["type"] for e in growing} >= {
                "dev.roost.events.delivery.dead_lettered",
                "dev.roost.events.dlq.growing",
            }

            # The third trigger quarantined the artifact: a deploy of it is refused.
            wait_for(lambda: _delivered(p, "vuln-quarantine"), timeout=60, what="the quarantine")
            deploy = ("deploy", "web", "--release", release, "--env", "dev", "--detach")
            refused = roost(*deploy, *p, "--as", "alice", timeout=60)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert "Traceback" not in refused.stderr
            assert f"artifact {digest}" in refused.stderr
            assert "quarantined" in refused.stderr
            assert "3 known vulnerabilities" in refused.stderr

            with Receiver(ticket_port) as tickets:
                replayed = roost("events", "dlq", "replay", letter["id"], *p)
                assert replayed.returncode == 0, replayed.stderr
                assert "replaying 1" in replayed.stdout
                wait_for(lambda: tickets.received, timeout=60, what="the replayed ticket")
                ((t_headers, ticket),) = tickets.received
                assert t_headers["idempotency-key"] == event["id"]
                assert ticket["idempotency_key"] == event["id"]
                assert ticket["labels"] == ["security"]
                assert ticket["title"] == f"dev.roost.scan.vulnerability_found: {digest}"
            assert _json("events", "dlq", "list", *p)["deliveries"] == []

            tree = _json("events", "trace", event["id"], *p)
            root_node = tree["root"]
            assert root_node["event"]["id"] == event["id"]
            by_trigger = {d["trigger"]: d for d in root_node["deliveries"]}
            assert by_trigger["vuln-slack"]["state"] == "delivered"
            ticket_node = by_trigger["vuln-ticket"]
            assert ticket_node["state"] == "delivered"
            assert [a["ok"] for a in ticket_node["attempts"]] == [False, False, False, True]
            caused = [c["event"]["type"] for c in ticket_node["caused"]]
            assert "dev.roost.events.delivery.dead_lettered" in caused
            quarantine = by_trigger["vuln-quarantine"]
            assert quarantine["state"] == "delivered"
            acted = {c["event"]["type"] for c in quarantine["caused"]}
            assert "dev.roost.artifact.quarantined" in acted
            shown_tree = roost("events", "trace", event["id"][:10], *p)
            assert shown_tree.returncode == 0, shown_tree.stderr
            for text in (
                "vuln-slack",
                "vuln-ticket",
                "attempt 4: ok",
                "dead_lettered",
                "vuln-quarantine",
                "artifact.quarantined",
            ):
                assert text in shown_tree.stdout, shown_tree.stdout


def _delivered(p: tuple[str, str], trigger: str) -> bool:
    listed = _json("events", "triggers", *p)["triggers"]
    return any(t["name"] == trigger and t["deliveries"].get("delivered") for t in listed)


def _metrics(root: Path) -> str:
    import httpx

    url = json.loads((root / ".roost" / "api.json").read_text())["url"]
    return httpx.get(f"{url}/api/v1/events/metrics", headers=owner_headers(root), timeout=10).text


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
