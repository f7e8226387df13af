"""Read one value from the demo project's running roost API, with the owner's credential.

    python scripts/demo_api.py PROJECT /api/v1/ps services.hello.url

``roost serve`` saved the owner's token in PROJECT/.roost/auth/token on its first start; the
API answers nothing without it.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any


def get(project: Path, path: str) -> Any:
    state = project / ".roost"
    api = json.loads((state / "api.json").read_text())["url"]
    token = (state / "auth" / "token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(api + path, headers=auth)  # noqa: S310 - local API
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local API
        return json.load(response)


def main() -> None:
    project, path, *keys = sys.argv[1:]
    value = get(Path(project), path)
    for key in keys[0].split(".") if keys else []:
        value = value[key]
    print(value if isinstance(value, str) else json.dumps(value))


if __name__ == "__main__":
    main()
