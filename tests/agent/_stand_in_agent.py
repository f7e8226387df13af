"""A stand-in for the agent under its supervisor: speaks the hand-over protocol, then answers
every connection on the API socket with its pid (one line) until killed. Stdlib + handover only,
so it starts in a blink."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from roost.agent.handover import API, HandOver

handover = HandOver.from_environment()
if handover is None:
    sys.exit(0)
api = handover.take(API)
assert api is not None
out = Path(sys.argv[1])
tmp = out.with_suffix(".tmp")
tmp.write_text(json.dumps({"pid": os.getpid(), "port": api.getsockname()[1]}))
tmp.replace(out)
handover.tell({"op": "serving"})
while True:
    conn, _ = api.accept()
    conn.sendall(f"{os.getpid()}\n".encode())
    conn.close()
