"""Stands in for the agent process in the adoption tests: hosts a LocalRuntime, starts one
revision, prints its replicas as JSON once they are ready, then idles until it is killed."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from roost.runtime import RevisionSpec
from roost.runtime.local import LocalRuntime


async def main(state_dir: Path, spec_file: Path) -> None:
    runtime = LocalRuntime(state_dir, poll_interval=0.05)
    spec = RevisionSpec.model_validate_json(spec_file.read_text())
    await runtime.start(spec)
    while runtime.status()[0].ready_replicas < spec.replicas:
        await asyncio.sleep(0.02)
    replicas = [
        {"index": r.index, "pid": r.pid, "port": r.port} for r in runtime.status()[0].replicas
    ]
    print(json.dumps(replicas), flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
