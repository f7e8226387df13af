"""The embedded proxy as its own process for the benchmark.

``python _proxy.py '{"v1": [PORT, WEIGHT], "v2": [PORT, WEIGHT]}'`` prints the proxy's port
and serves until SIGTERM. uvloop, as the agent would run it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from roost.traffic import EmbeddedProxy, Endpoint, install_uvloop


async def main(spec: dict[str, list[int]]) -> None:
    proxy = EmbeddedProxy("bench")
    for revision, (port, _) in spec.items():
        await proxy.router.set_endpoints("bench", revision, [Endpoint("127.0.0.1", port)])
    await proxy.router.set_weights("bench", {r: w for r, (_, w) in spec.items()})
    port = await proxy.start()
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await proxy.stop(grace=1)


if __name__ == "__main__":
    install_uvloop()
    asyncio.run(main(json.loads(sys.argv[1])))
