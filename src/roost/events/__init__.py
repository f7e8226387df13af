"""roost's event bus: every event roost records is published as a CloudEvent; triggers in
roost.yaml subscribe to them and deliver them (webhooks, Slack, tickets, commands, actions)
at least once, with retries, a dead-letter queue, causation tracing and loop guards.

Backends of :class:`~roost.events.bus.Bus`: the transactional outbox in the state store
(:mod:`roost.events.outbox_bus`, the default) and NATS JetStream
(:mod:`roost.events.jetstream`, which imports ``nats`` itself).
"""

from roost.events.bus import Bus, BusError, Consumer, Message

__all__ = ["Bus", "BusError", "Consumer", "Message"]
