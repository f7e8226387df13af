"""A tiny HTTP service for roost's demo and tests (standard library only).

It listens on 127.0.0.1:$PORT and answers every GET with its revision and a greeting. Two knobs
make a bad release on purpose: HELLO_FAIL_RATE (share of requests answered 500, 0-1) and
HELLO_DELAY_MS (added latency). It logs one line per request to stdout.
"""

import http.server
import json
import os
import random
import signal
import sys
import time

PORT = int(os.environ["PORT"])
REVISION = os.environ.get("ROOST_REVISION", "dev")
FAIL_RATE = float(os.environ.get("HELLO_FAIL_RATE", "0"))
DELAY = float(os.environ.get("HELLO_DELAY_MS", "0")) / 1000
GREETING = os.environ.get("HELLO_GREETING", "hello")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; without TCP_NODELAY the second small write
    # waits for a delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if DELAY:
            time.sleep(DELAY)
        # Chance, not secrecy: a fault injected into a share of requests.
        failed = self.path != "/healthz" and random.random() < FAIL_RATE  # noqa: S311
        status = 500 if failed else 200
        body = json.dumps({"revision": REVISION, "greeting": GREETING, "path": self.path})
        data = (body + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if self.path != "/healthz":
            level = "ERROR" if failed else "INFO"
            print(f"{level} {self.command} {self.path} -> {status}", flush=True)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request above is enough


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    # SIGTERM ends serve_forever by unwinding it (server.shutdown() from the serving thread
    # itself would wait for that very loop forever, and roost would have to SIGKILL it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"INFO {REVISION} listening on 127.0.0.1:{PORT}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
