"""`/docs` works offline: the page served by a real `roost serve` references no other host, and
every script, stylesheet and icon it loads is answered by that roost serve itself."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
from tests._roost import EXAMPLE, serving


def test_docs_page_loads_everything_from_roost_serve(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "roost.yaml")
    with serving(tmp_path) as served, httpx.Client(base_url=served.url, timeout=30) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "SwaggerUIBundle" in page.text
        # Nothing from another host: no absolute URL, no protocol-relative one.
        assert re.findall(r"https?://|[\"']//", page.text) == [], page.text
        assert '"validatorUrl": null' in page.text
        loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert {u.rsplit(".", 1)[-1] for u in loaded} == {"js", "css", "png"}, loaded
        for url in loaded:
            assert url.startswith("/"), url
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        assert "SwaggerUIBundle" in bundle.text
        spec = re.search(r"url: '([^']+)'", page.text)
        assert spec is not None
        assert client.get(spec.group(1)).json()["info"]["title"] == "roost"
