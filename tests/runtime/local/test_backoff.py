import pytest

from roost.runtime import BackoffSpec, RestartPolicy
from roost.runtime.local.backoff import backoff_delay, decide_restart

DEFAULT = BackoffSpec()


def test_delays_double_from_one_second_up_to_five_minutes() -> None:
    delays = [backoff_delay(DEFAULT, streak) for streak in range(1, 12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_a_streak_of_weeks_does_not_overflow() -> None:
    assert backoff_delay(DEFAULT, 100_000) == 300


def test_consecutive_short_runs_grow_the_delay() -> None:
    streak, delays = 0, []
    for _ in range(4):
        decision = decide_restart(
            RestartPolicy.ALWAYS, DEFAULT, crash_streak=streak, uptime=3.0, succeeded=False
        )
        assert decision.restart
        streak = decision.crash_streak
        delays.append(decision.delay)
    assert delays == [1, 2, 4, 8]


def test_a_run_that_lasted_resets_the_streak() -> None:
    decision = decide_restart(
        RestartPolicy.ALWAYS, DEFAULT, crash_streak=9, uptime=600.0, succeeded=False
    )
    assert (decision.delay, decision.crash_streak) == (1, 1)
    decision = decide_restart(
        RestartPolicy.ALWAYS, DEFAULT, crash_streak=9, uptime=599.0, succeeded=False
    )
    assert (decision.delay, decision.crash_streak) == (300, 10)


@pytest.mark.parametrize(
    ("policy", "succeeded", "restart"),
    [
        (RestartPolicy.ALWAYS, True, True),
        (RestartPolicy.ALWAYS, False, True),
        (RestartPolicy.ON_FAILURE, True, False),
        (RestartPolicy.ON_FAILURE, False, True),
        (RestartPolicy.NEVER, False, False),
    ],
)
def test_restart_policy(policy: RestartPolicy, succeeded: bool, restart: bool) -> None:
    decision = decide_restart(policy, DEFAULT, crash_streak=0, uptime=1.0, succeeded=succeeded)
    assert decision.restart is restart
    assert decision.delay == (1.0 if restart else 0.0)


def test_custom_policy() -> None:
    fast = BackoffSpec(initial=0.5, factor=3, maximum=10, reset_after=60)
    assert [backoff_delay(fast, n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 10, 10]
