"""Time for roost's logic.

Decision code never calls ``time.time()`` or ``datetime.now()`` directly: it is handed a
:class:`Clock`. Production wiring passes :class:`RealClock`; tests pass a :class:`VirtualClock`
and move time by hand, so a 30-minute canary step is checked in microseconds and a flaky
wall-clock race cannot hide in a test.
"""

from roost.clock._protocol import Clock
from roost.clock.real import RealClock
from roost.clock.virtual import VirtualClock

__all__ = ["Clock", "RealClock", "VirtualClock"]
