"""A real Prometheus scrapes the admin listener's /metrics. ``make test`` installs Debian's
``prometheus``; without it the test fails with that hint (it never skips)."""

import asyncio
import contextlib
import shutil
import socket

import httpx
import pytest

from roost.telemetry import Recorder
from roost.traffic import AdminServer, EmbeddedRouter

PROMETHEUS = shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_real_prometheus_scrapes_metrics(tmp_path) -> None:
    if PROMETHEUS is None:
        pytest.fail("prometheus is not installed (make test installs Debian's prometheus)")

    async def main() -> None:
        recorder = Recorder()
        for _ in range(3):
            recorder.observe("web", "v1", 200, 0.004)
        recorder.observe("web", "v2", 503, 0.2)
        admin = AdminServer(router=EmbeddedRouter(), recorder=recorder)
        port = await admin.start()
        web = _free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: roost\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        )
        assert PROMETHEUS is not None
        proc = await asyncio.create_subprocess_exec(
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{web}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{web}", trust_env=False, timeout=5
            ) as client:
                found: dict[tuple[str, str], float] = {}
                for _ in range(200):
                    with contextlib.suppress(httpx.TransportError):
                        r = await client.get(
                            "/api/v1/query", params={"query": "roost_requests_total"}
                        )
                        # Until it is ready, Prometheus answers 503 in plain text.
                        results = r.json()["data"]["result"] if r.status_code == 200 else []
                        for item in results:
                            labels = item["metric"]
                            if item["value"][1] == "0":
                                continue  # every class is exported, at zero until it counts
                            found[(labels["revision"], labels["code_class"])] = float(
                                item["value"][1]
                            )
                    if found:
                        break
                    await asyncio.sleep(0.2)
                assert found == {("v1", "2xx"): 3.0, ("v2", "5xx"): 1.0}
                r = await client.get(
                    "/api/v1/query",
                    params={"query": "roost_request_duration_seconds_bucket{le='0.005'}"},
                )
                buckets = {
                    i["metric"]["revision"]: float(i["value"][1])
                    for i in r.json()["data"]["result"]
                }
                assert buckets == {"v1": 3.0, "v2": 0.0}
        finally:
            proc.terminate()
            await proc.wait()
            await admin.stop()

    asyncio.run(main())
