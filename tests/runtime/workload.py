"""A small HTTP service the runtime tests run as replicas (standard library only).

Serves on $PORT. Behaviour is chosen with flags so each test states what it needs:

  --startup-delay S   sleep S seconds before listening
  --exit-after S      exit S seconds after starting, with --exit-code (default 1)
  --not-ready         start with /ready answering 503
  --ignore-sigterm    print that SIGTERM came, and keep running
  --hog-mb N          after listening, grow resident memory by 10 MiB steps up to N MiB
  --tick S            print "tick N" to stdout every S seconds
  --print TEXT        print TEXT to stdout at start (repeatable); --eprint to stderr

Routes: /            "hello from replica N"
        /info        JSON: pid, cwd, environment
        /file?p=PATH the content of a file
        /ready       200, or 503 after /ctl/unready
        /healthz     200, or 500 after /ctl/sick
        /ctl/ready, /ctl/unready, /ctl/sick, /ctl/print?text=...
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

state = {"ready": True, "alive": True}
hog: list[bytes] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # probes would flood the log

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/":
            self.reply(200, f"hello from replica {os.environ.get('ROOST_REPLICA')}")
        elif url.path == "/info":
            info = {"pid": os.getpid(), "cwd": os.getcwd(), "env": dict(os.environ)}
            self.reply(200, json.dumps(info))
        elif url.path == "/file":
            try:
                with open(query["p"][0]) as f:
                    self.reply(200, f.read())
            except OSError as exc:
                self.reply(404, str(exc))
        elif url.path == "/ready":
            self.reply(200 if state["ready"] else 503, "ready" if state["ready"] else "not ready")
        elif url.path == "/healthz":
            self.reply(200 if state["alive"] else 500, "ok" if state["alive"] else "sick")
        elif url.path == "/ctl/ready":
            state["ready"] = True
            self.reply(200, "ok")
        elif url.path == "/ctl/unready":
            state["ready"] = False
            self.reply(200, "ok")
        elif url.path == "/ctl/sick":
            state["alive"] = False
            self.reply(200, "ok")
        elif url.path == "/ctl/print":
            print(query["text"][0], flush=True)
            self.reply(200, "ok")
        else:
            self.reply(404, "not found")

    def reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--startup-delay", type=float, default=0.0)
    parser.add_argument("--exit-after", type=float, default=None)
    parser.add_argument("--exit-code", type=int, default=1)
    parser.add_argument("--not-ready", action="store_true")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--hog-mb", type=int, default=0)
    parser.add_argument("--tick", type=float, default=0.0)
    parser.add_argument("--print", action="append", default=[])
    parser.add_argument("--eprint", action="append", default=[])
    args = parser.parse_args()

    def on_sigterm(signum: int, frame: object) -> None:
        if args.ignore_sigterm:
            print("ignoring SIGTERM", flush=True)
            return
        print("got SIGTERM, exiting", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    for text in args.print:
        print(text, flush=True)
    for text in args.eprint:
        print(text, file=sys.stderr, flush=True)
    state["ready"] = not args.not_ready
    if args.startup_delay:
        time.sleep(args.startup_delay)
    if args.exit_after is not None:
        code = args.exit_code

        def exit_later() -> None:
            time.sleep(args.exit_after)
            print(f"exiting with code {code}", flush=True)
            os._exit(code)

        threading.Thread(target=exit_later, daemon=True).start()
    if args.tick:

        def tick() -> None:
            n = 0
            while True:
                time.sleep(args.tick)
                n += 1
                print(f"tick {n}", flush=True)

        threading.Thread(target=tick, daemon=True).start()
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    if args.hog_mb:

        def grow() -> None:
            while len(hog) * 10 < args.hog_mb:
                hog.append(b"x" * (10 * 1024 * 1024))  # written, so resident
                time.sleep(0.02)

        threading.Thread(target=grow, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
