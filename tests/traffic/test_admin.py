"""The admin listener: Prometheus-parsable /metrics and the /routes table."""

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from roost.telemetry import Recorder
from roost.traffic import AdminServer, EmbeddedRouter, Endpoint


def test_metrics_and_routes() -> None:
    async def main() -> None:
        router = EmbeddedRouter()
        recorder = Recorder()
        await router.set_endpoints("web", "v1", [Endpoint("127.0.0.1", 9001)])
        await router.set_weights("web", {"v1": 100, "v2": 0}, fencing_token=4)
        for latency in (0.002, 0.004, 0.2):
            recorder.observe("web", "v1", 200, latency)
        recorder.observe("web", "v1", 503, 0.01)
        recorder.observe("web", "v2", 0, 0.001)
        admin = AdminServer(router=router, recorder=recorder)
        port = await admin.start()
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False
            ) as client:
                r = await client.get("/metrics")
                assert r.status_code == 200
                assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
                families = {f.name: f for f in text_string_to_metric_families(r.text)}
                requests = {
                    (s.labels["revision"], s.labels["code_class"]): s.value
                    for s in families["roost_requests"].samples
                    # every class is exported, at zero until it counts
                    if s.name == "roost_requests_total" and s.value
                }
                assert requests == {("v1", "2xx"): 3, ("v1", "5xx"): 1, ("v2", "error"): 1}
                duration = families["roost_request_duration_seconds"]
                assert duration.type == "histogram"
                buckets = {
                    s.labels["le"]: s.value
                    for s in duration.samples
                    if s.name.endswith("_bucket") and s.labels["revision"] == "v1"
                }
                assert buckets["0.001"] == 0
                assert buckets["0.005"] == 2
                assert buckets["0.25"] == 4
                assert buckets["+Inf"] == 4

                r = await client.get("/routes")
                routes = r.json()["web"]
                assert routes["fencing_token"] == 4
                assert routes["revisions"]["v1"]["weight"] == 100
                assert routes["revisions"]["v2"] == {"weight": 0, "endpoints": [], "share": 0.0}

                r = await client.get("/nope")
                assert r.status_code == 404
                assert r.json()["paths"] == ["/metrics", "/routes"]
                assert (await client.post("/metrics")).status_code == 405
                r = await client.head("/metrics")
                assert (r.status_code, r.content) == (200, b"")
        finally:
            await admin.stop()

    asyncio.run(main())
