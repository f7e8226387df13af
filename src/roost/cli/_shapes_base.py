"""The two kinds of shape (closed and open) every ``-o json|yaml`` model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Shape(BaseModel):
    """A closed shape: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class OpenShape(BaseModel):
    """A relayed API document: at least these fields."""

    model_config = ConfigDict(extra="allow")
