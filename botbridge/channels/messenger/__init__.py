"""The Facebook Messenger bot: a thin adapter between the Messenger Platform and the engine."""

CHANNEL = "messenger"
