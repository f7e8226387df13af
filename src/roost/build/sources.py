"""Where a build's files come from: a commit of the project's git repository.

A build never sees the working tree. Its folder is made from the commit with ``git archive``
(tracked files only, exactly as committed, no ``.git``), so a build is reproducible from its
commit sha, uncommitted edits cannot leak into an artifact, and two builds never share files.
"""

from __future__ import annotations

import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roost.build.errors import BuildError

_GIT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Commit:
    """A resolved ref: the commit, the branch it names (or ``""``), and where the project
    sits in the repository (``prefix``, e.g. ``"services/shop/"``, or ``""``)."""

    ref: str
    sha: str
    branch: str
    time: datetime
    repo_root: Path
    prefix: str

    @property
    def short_sha(self) -> str:
        return self.sha[:7]


def git(*args: str, cwd: Path, check: bool = True) -> str:
    """Run git and return its stdout (stripped); :class:`BuildError` if it fails."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise BuildError(
            "git is not installed", hint="install git: builds start from commits"
        ) from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"git {args[0]} took longer than {_GIT_TIMEOUT:g}s in {cwd}") from None
    if check and result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise BuildError(f"git {args[0]} failed in {cwd}: {reason}")
    return result.stdout.strip()


def resolve(project_root: Path, ref: str = "HEAD") -> Commit:
    """Resolve ``ref`` (branch, tag, sha, ``HEAD``) in the repository holding the project."""
    inside = git("rev-parse", "--is-inside-work-tree", cwd=project_root, check=False)
    if inside != "true":
        raise BuildError(
            f"{project_root} is not in a git repository",
            hint="roost builds commits: run `git init` and commit the project first",
        )
    repo_root = Path(git("rev-parse", "--show-toplevel", cwd=project_root))
    prefix = git("rev-parse", "--show-prefix", cwd=project_root)
    sha = git(
        "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=project_root, check=False
    )
    if not sha:
        hint = "commit first: the repository has no commits yet" if ref == "HEAD" else None
        raise BuildError(
            f"{ref!r} is not a commit in {repo_root}",
            hint=hint or "use a branch, a tag or a commit sha (see `git log --oneline`)",
        )
    if ref == "HEAD":
        branch = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=project_root, check=False)
    else:
        branch = ref if _is_branch(project_root, ref) else ""
    seconds = git("show", "-s", "--format=%ct", sha, cwd=project_root)
    return Commit(
        ref=ref,
        sha=sha,
        branch=branch,
        time=datetime.fromtimestamp(int(seconds), UTC),
        repo_root=repo_root,
        prefix=prefix,
    )


def _is_branch(cwd: Path, name: str) -> bool:
    result = subprocess.run(
        ["git", "show-ref", "--verify", "--quiet", f"refs/heads/{name}"],
        cwd=cwd,
        capture_output=True,
        timeout=_GIT_TIMEOUT,
        check=False,
    )
    return result.returncode == 0


def export(commit: Commit, target: Path) -> Path:
    """Write the files of ``commit`` into ``target`` (created); returns the project's folder
    inside it. Archive entries that would escape ``target`` are refused."""
    target.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen(
        ["git", "archive", "--format=tar", commit.sha],
        cwd=commit.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
                archive.extractall(target, filter="data")
        except (tarfile.TarError, OSError) as exc:
            process.kill()
            raise BuildError(f"cannot unpack commit {commit.short_sha}: {exc}") from None
        finally:
            error = process.stderr.read().decode(errors="replace").strip()
            process.wait()
        if process.returncode != 0:
            raise BuildError(
                f"git archive {commit.short_sha} failed: {error or process.returncode}"
            )
    return target / commit.prefix if commit.prefix else target


def changed_paths(commit: Commit) -> list[str]:
    """Files the commit changed, relative to the *project* folder (files outside it are left
    out). A root commit changes every file it has; a merge, what it changed from its first
    parent."""
    output = git(
        "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", "-m", "--first-parent",
        commit.sha, cwd=commit.repo_root,
    )  # fmt: skip
    paths = []
    for line in output.splitlines():
        if line and line.startswith(commit.prefix):
            paths.append(line[len(commit.prefix) :])
    return sorted(set(paths))
