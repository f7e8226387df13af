"""Which services a commit builds (branch and path filters), and the git hook that asks.

``roost hooks install`` writes a ``post-commit`` hook that starts ``roost hooks run`` in the
background — the commit never waits for a build — with the new commit's sha and branch.
``roost hooks run`` builds each service whose ``build.trigger`` matches: the branch matches one
of ``branches`` and, when ``paths`` is set, a file the commit changed matches one of ``paths``.
"""

from __future__ import annotations

import re
import shlex
import sys
from functools import lru_cache
from pathlib import Path

from roost.artifacts.selecting import matches
from roost.build.errors import BuildError
from roost.build.sources import git
from roost.spec import Project
from roost.spec.building import BuildTrigger

HOOK_NAME = "post-commit"
MARKER = "# roost: post-commit hook"


@lru_cache(maxsize=256)
def _branch_pattern(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    table = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(table.get(part, re.escape(part)) for part in parts))


def branch_matches(branch: str, patterns: list[str]) -> bool:
    """Whether ``branch`` matches one of ``patterns`` (``*`` stays inside one ``/`` part,
    ``**`` crosses them). A detached commit (no branch) matches nothing."""
    return bool(branch) and any(_branch_pattern(p).fullmatch(branch) for p in patterns)


def trigger_matches(trigger: BuildTrigger, *, branch: str, changed: list[str]) -> bool:
    """Whether a commit on ``branch`` that changed ``changed`` (project-relative) builds."""
    if not branch_matches(branch, trigger.branches):
        return False
    return trigger.paths is None or any(matches(path, trigger.paths) for path in changed)


def triggered_services(project: Project, *, branch: str, changed: list[str]) -> list[str]:
    """The services (in file order) whose build trigger matches the commit."""
    return [
        service.name
        for service in project.services
        if service.build is not None
        and service.build.trigger is not None
        and trigger_matches(service.build.trigger, branch=branch, changed=changed)
    ]


def hooks_dir(root: Path) -> Path:
    """Where git looks for hooks for the repository of ``root`` (honours core.hooksPath)."""
    path = Path(git("rev-parse", "--git-path", "hooks", cwd=root))
    return path if path.is_absolute() else root / path


def hook_script(root: Path, *, python: str | None = None) -> str:
    """The post-commit hook for the project at ``root``."""
    exe = shlex.quote(python or sys.executable)
    project = shlex.quote(str(root))
    log = shlex.quote(str(root / ".roost" / "hooks.log"))
    return f"""#!/bin/sh
{MARKER} (written by `roost hooks install`; remove with `roost hooks uninstall`).
# Builds the services whose build.trigger matches this commit, in the background so the commit
# does not wait. What the builds print goes to .roost/hooks.log; `roost builds` shows them.
sha=$(git rev-parse HEAD) || exit 0
branch=$(git symbolic-ref --quiet --short HEAD)
mkdir -p {shlex.quote(str(root / ".roost"))}
nohup {exe} -m roost hooks run --project {project} --ref "$sha" --branch "$branch" \\
  </dev/null >>{log} 2>&1 &
exit 0
"""


def install_hook(root: Path, *, force: bool = False) -> Path:
    """Write the post-commit hook; :class:`BuildError` if another (not roost's) is there and
    ``force`` is false."""
    path = hooks_dir(root) / HOOK_NAME
    if path.exists() and MARKER not in path.read_text(errors="replace") and not force:
        raise BuildError(
            f"{path} exists and was not written by roost",
            hint="merge it by hand, or pass --force to replace it",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{HOOK_NAME}.tmp")
    temp.write_text(hook_script(root))
    temp.chmod(0o755)
    temp.replace(path)
    return path


def uninstall_hook(root: Path) -> Path | None:
    """Remove roost's post-commit hook; returns its path, or None if there was none of ours."""
    path = hooks_dir(root) / HOOK_NAME
    if path.exists() and MARKER in path.read_text(errors="replace"):
        path.unlink()
        return path
    return None
