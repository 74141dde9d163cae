"""The channels the conversation is held in: one adapter package each, which turns the
channel's updates into `botbridge.conversation` events and its replies into the channel's
own calls, and holds no rule of the conversation."""
