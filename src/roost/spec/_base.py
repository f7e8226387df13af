"""The base class of every roost.yaml model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    """Strict about keys (a typo is an error, not a silently ignored setting) and immutable.

    Models are frozen because a loaded project is a snapshot: a release stores it, and nothing
    should be able to change what a release says it was deployed with.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
