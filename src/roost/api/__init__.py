"""roost's HTTP API (FastAPI): ``/healthz``, OpenAPI at ``/docs``, and ``/api/v1/...``."""

from roost.api.app import create_app

__all__ = ["create_app"]
