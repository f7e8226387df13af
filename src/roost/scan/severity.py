"""Severity from CVSS vectors: v3.0/v3.1 and v4.0 base scores and their qualitative ratings.

Scores come from the ``cvss`` library (the FIRST formulas, v4 via its macro-vector lookup
table). An advisory without a usable vector may still say how bad it is in words (GitHub's
``database_specific.severity``: LOW / MODERATE / HIGH / CRITICAL); that is used next. With
neither, the rating is ``unknown``, and the environment's scan policy says explicitly what that
does (``unknown: fail|warn|ignore``, see :mod:`roost.scan.policy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

RATINGS = ("none", "unknown", "low", "medium", "high", "critical")
"""In rising order. ``unknown``: no vector and no word for it."""

_WORDS = {
    "low": "low",
    "moderate": "medium",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}


@dataclass(frozen=True, slots=True)
class Score:
    rating: str
    score: float | None = None
    vector: str | None = None

    @property
    def label(self) -> str:
        return self.rating if self.score is None else f"{self.rating} {self.score:.1f}"

    def to_dict(self) -> dict[str, Any]:
        return {"rating": self.rating, "score": self.score, "vector": self.vector}


UNKNOWN = Score("unknown")


class BadVector(ValueError):
    """A CVSS vector the library cannot score."""


def rank(rating: str) -> int:
    return RATINGS.index(rating) if rating in RATINGS else RATINGS.index("unknown")


def rating_of_score(score: float) -> str:
    """The CVSS v3/v4 qualitative scale (also used for v2 scores, as NVD does)."""
    if score == 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def score_vector(vector: str) -> Score:
    """Base score and rating of one CVSS vector (v2 bare, ``CVSS:3.x/…`` or ``CVSS:4.0/…``)."""
    from cvss import CVSS2, CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    text = vector.strip()
    try:
        if text.startswith("CVSS:4."):
            v4 = CVSS4(text)
            score = float(v4.base_score)
        elif text.startswith("CVSS:3."):
            score = float(CVSS3(text).base_score)
        else:
            score = float(CVSS2(text).base_score)
    except (CVSSError, ValueError, KeyError, IndexError) as exc:
        raise BadVector(f"{vector!r} is not a CVSS vector: {exc}") from None
    return Score(rating_of_score(score), score, text)


def best_score(vectors: Iterable[str], words: Iterable[str] = ()) -> Score:
    """The highest-scoring of ``vectors`` (v4 and v3 alike); else the worst of ``words``;
    else :data:`UNKNOWN`. Unscoreable vectors are skipped."""
    best: Score | None = None
    for vector in vectors:
        try:
            scored = score_vector(vector)
        except BadVector:
            continue
        if best is None or (scored.score or 0) > (best.score or 0):
            best = scored
    if best is not None:
        return best
    ratings = [_WORDS[w.lower()] for w in words if isinstance(w, str) and w.lower() in _WORDS]
    if ratings:
        return Score(max(ratings, key=rank))
    return UNKNOWN
