"""The demo's web service: tiny, standard library only, with knobs for making a bad release.

It listens on 127.0.0.1:$PORT and answers every GET with its revision and greeting. Knobs (all
environment variables, so a release can change them):

* HELLO_FAIL_RATE — share of requests answered 500 (0-1): an error regression;
* HELLO_DELAY_MS — latency added to every request: a latency regression;
* HELLO_COLD_REQUESTS / HELLO_COLD_DELAY_MS — the first N requests are that much slower, like a
  process whose caches are cold (what warm-up is for); those answers carry `x-hello-cold: 1`.

``GET /config`` shows what the release restored: the config file roost wrote into
$ROOST_CONFIG_DIR and a fingerprint (never the value) of the secret APP_TOKEN.
"""

import hashlib
import http.server
import json
import os
import pathlib
import random
import signal
import sys
import threading
import time

PORT = int(os.environ["PORT"])
REVISION = os.environ.get("ROOST_REVISION", "dev")
FAIL_RATE = float(os.environ.get("HELLO_FAIL_RATE", "0"))
DELAY = float(os.environ.get("HELLO_DELAY_MS", "0")) / 1000
GREETING = os.environ.get("HELLO_GREETING", "hello")
COLD_REQUESTS = int(os.environ.get("HELLO_COLD_REQUESTS", "0"))
COLD_DELAY = float(os.environ.get("HELLO_COLD_DELAY_MS", "0")) / 1000

_served = [0]  # requests answered so far (a list: shared by the handler threads)
_lock = threading.Lock()


def _config() -> dict[str, object]:
    folder = pathlib.Path(os.environ.get("ROOST_CONFIG_DIR", "."))
    try:
        greeting = (folder / "greeting.txt").read_text().strip()
    except OSError:
        greeting = None
    token = os.environ.get("APP_TOKEN")
    fingerprint = None if token is None else hashlib.sha256(token.encode()).hexdigest()[:12]
    return {"revision": REVISION, "config_greeting": greeting, "token_sha256": fingerprint}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; without TCP_NODELAY the second small write
    # waits for a delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        cold = False
        if self.path != "/healthz":
            with _lock:
                _served[0] += 1
                cold = _served[0] <= COLD_REQUESTS
            if cold and COLD_DELAY:
                time.sleep(COLD_DELAY)
            if DELAY:
                time.sleep(DELAY)
        # Chance, not secrecy: a fault injected into a share of requests.
        failed = self.path != "/healthz" and random.random() < FAIL_RATE  # noqa: S311
        status = 500 if failed else 200
        if self.path == "/config":
            body = json.dumps(_config())
        else:
            body = json.dumps({"revision": REVISION, "greeting": GREETING, "path": self.path})
        data = (body + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if cold and COLD_DELAY:
            self.send_header("x-hello-cold", "1")  # tests tell a cold answer by this, not by time
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the router records every request; the demo keeps the logs quiet


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
