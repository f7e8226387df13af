import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from roost.clock import VirtualClock
from roost.runtime.local import LocalRuntime
from roost.runtime.local._shim import MAX_LINE_BYTES, LineSplitter, RotatingJsonlWriter
from roost.runtime.local.logs import read_logs, replica_files, tail_lines
from roost.runtime.logquery import query_logs

FIELDS = {"service": "web", "revision": "r1", "replica": 0}


def test_replica_output_is_captured_as_json_lines_and_read_back(kit) -> None:
    spec = kit.spec("--print", "hello out", "--eprint", "hello err", replicas=2)

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 2)
        log_file = kit.state_dir / "logs" / "web" / "r1" / "replica-1.jsonl"
        records = [json.loads(line) for line in log_file.read_text().splitlines()]
        assert set(records[0]) == {"time", "service", "revision", "replica", "stream", "line"}
        assert {(r["stream"], r["line"]) for r in records} >= {
            ("stdout", "hello out"),
            ("stderr", "hello err"),
        }
        assert {r["replica"] for r in records} == {1}
        lines = [entry async for entry in runtime.logs("web", "r1")]
        assert [e.time for e in lines] == sorted(e.time for e in lines)
        assert sum(1 for e in lines if e.line == "hello out") == 2
        assert all(e.service == "web" and e.revision == "r1" for e in lines)
        later = [entry async for entry in runtime.logs("web", since=datetime.now(UTC))]
        assert later == []
        assert [entry async for entry in runtime.logs("nothing-here")] == []

    kit.run(body)


def test_follow_yields_lines_as_they_are_printed(kit) -> None:
    spec = kit.spec()

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        await kit.wait_until(lambda: runtime.status()[0].ready_replicas == 1)
        port = runtime.status()[0].replicas[0].port or 0
        followed = runtime.logs("web", follow=True)
        first = await anext(followed)
        assert first.line.startswith("listening on")
        await kit.get(port, "/ctl/print?text=after-the-fact")
        async with asyncio.timeout(10):
            async for entry in followed:
                if entry.line == "after-the-fact":
                    break
        await followed.aclose()  # type: ignore[attr-defined]

    kit.run(body)


def test_logs_rotate_by_size_and_keep_a_bounded_number_of_files(kit) -> None:
    spec = kit.spec("--tick", "0.005")

    async def body(runtime: LocalRuntime) -> None:
        await runtime.start(spec)
        logs = kit.state_dir / "logs" / "web" / "r1"
        await kit.wait_until((logs / "replica-0.jsonl.2").exists, what="two rotations")
        await asyncio.sleep(0.3)
        await runtime.stop("web", "r1", grace_period=1.0)  # the logs stay, and stop changing
        names = sorted(p.name for p in logs.iterdir())
        assert names == ["replica-0.jsonl", "replica-0.jsonl.1", "replica-0.jsonl.2"]
        assert all(p.stat().st_size <= 2000 for p in logs.iterdir())
        lines = [e.line async for e in runtime.logs("web")]
        ticks = [int(line.split()[1]) for line in lines if line.startswith("tick ")]
        # What is kept is contiguous: rotation loses only the oldest lines.
        assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))
        result = query_logs(runtime.log_dir, "SELECT count(*) FROM logs WHERE line LIKE 'tick %'")
        assert result.rows[0][0] == len(ticks)

    kit.run(body, log_max_bytes=2000, log_backups=2)


def test_rotating_writer_shifts_files(tmp_path: Path) -> None:
    path = tmp_path / "replica-0.jsonl"
    writer = RotatingJsonlWriter(path, max_bytes=300, backups=2, fields=FIELDS)
    for n in range(20):
        writer.write("stdout", f"line {n}")
    writer.close()
    kept = [
        json.loads(raw)["line"]
        for name in ("replica-0.jsonl.2", "replica-0.jsonl.1", "replica-0.jsonl")
        for raw in (tmp_path / name).read_text().splitlines()
    ]
    assert kept == [f"line {n}" for n in range(20 - len(kept), 20)]
    assert not (tmp_path / "replica-0.jsonl.3").exists()


def test_line_splitter_joins_chunks_and_cuts_endless_lines() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"hel") == []
    assert splitter.feed(b"lo\r\nwor") == ["hello"]
    assert splitter.feed(b"ld\n\xff\n") == ["world", "\ufffd"]
    long = splitter.feed(b"x" * (MAX_LINE_BYTES + 10))
    assert long == ["x" * MAX_LINE_BYTES]
    assert splitter.flush() == ["x" * 10]


def test_history_of_several_replicas_is_merged_in_time_order(tmp_path: Path) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    logs = tmp_path / "web" / "r1"
    logs.mkdir(parents=True)
    for replica, seconds in ((0, (1, 4)), (1, (2, 3))):
        with (logs / f"replica-{replica}.jsonl").open("w") as f:
            for s in seconds:
                t = (base + timedelta(seconds=s)).isoformat()
                f.write(
                    json.dumps(
                        {
                            **FIELDS,
                            "replica": replica,
                            "time": t,
                            "stream": "stdout",
                            "line": str(s),
                        }
                    )
                    + "\n"
                )
            f.write('{"half a line')

    async def main() -> list[str]:
        reader = read_logs(
            tmp_path,
            "web",
            None,
            since=base + timedelta(seconds=2),
            follow=False,
            clock=VirtualClock(),
        )
        return [e.line async for e in reader]

    assert asyncio.run(main()) == ["2", "3", "4"]
    assert tail_lines(logs / "replica-0.jsonl", 5) == ("[stdout] 1", "[stdout] 4")
    assert [[p.name for p in group] for group in replica_files(tmp_path, "web", "r1").values()] == [
        ["replica-0.jsonl"],
        ["replica-1.jsonl"],
    ]
