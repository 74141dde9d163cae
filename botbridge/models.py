from django.db import models


class ConversationState(models.Model):
    """A chat's place in a conversation (aiogram FSM state and data), kept in the database
    so that a restart loses nothing and any process can take the chat's next update."""

    key = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.state or '-'}"


class ProcessedUpdate(models.Model):
    """An update already taken: Telegram re-delivers when it gets no answer in time."""

    bot_id = models.BigIntegerField()
    update_id = models.BigIntegerField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot_id", "update_id"], name="update_once_per_bot")]

    def __str__(self) -> str:
        return f"{self.bot_id}/{self.update_id}"
