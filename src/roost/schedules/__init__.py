"""Schedules: cron in an explicit IANA time zone with explicit DST, missed-run and concurrency
policies — the pure part. When a schedule fires (:mod:`~roost.schedules.timing`), what to run
now after downtime (:mod:`~roost.schedules.planning`) and the lint that catches a production
scale-down inside business hours (:mod:`~roost.schedules.linting`). Running them once per tick
across control planes is :mod:`roost.actions.scheduling`'s job.
"""

from roost.schedules.planning import MAX_CATCH_UP, ON_TIME, Plan, deadline_of, plan
from roost.schedules.timing import Fire, classify, fires, next_fires

__all__ = [
    "MAX_CATCH_UP",
    "ON_TIME",
    "Fire",
    "Plan",
    "classify",
    "deadline_of",
    "fires",
    "next_fires",
    "plan",
]
