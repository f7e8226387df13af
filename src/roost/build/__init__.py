"""roost's build pipelines: from a commit to a packaged, content-addressed artifact.

    result = run_build(BuildRequest(root, project, "web", ref="main"), store=store, clock=clock)

The decisions are pure and tested on a virtual clock (:mod:`roost.build.scheduling`: what
starts, what stops, how the build ends); :mod:`roost.build.running` applies them to real
processes: a clean folder from the commit (``git archive``), steps as subprocesses in parallel
along their ``needs``, step caches, per-step and per-build timeouts, cancellation through the
store, logs per step, and the artifact in the project's OCI layout.
"""

from roost.build.errors import BuildError
from roost.build.running import BuildRequest, BuildResult, Observer, QuietObserver, run_build
from roost.build.scheduling import Decision, Scheduler, Stop
from roost.build.sources import Commit, changed_paths, resolve
from roost.build.triggering import install_hook, triggered_services, uninstall_hook

__all__ = [
    "BuildError",
    "BuildRequest",
    "BuildResult",
    "Commit",
    "Decision",
    "Observer",
    "QuietObserver",
    "Scheduler",
    "Stop",
    "changed_paths",
    "install_hook",
    "resolve",
    "run_build",
    "triggered_services",
    "uninstall_hook",
]
