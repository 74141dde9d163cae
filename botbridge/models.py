from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import ChannelIdentity


class ConversationState(models.Model):
    """A resident's place in the conversation (its step and what it has gathered), per channel
    and the channel's user key, kept in the database so that a restart loses nothing and any
    process can take the resident's next message."""

    channel = models.CharField(max_length=32)
    user_key = models.CharField(max_length=200)
    state = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "user_key"], name="conversation_once_per_channel_user"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_key}: {self.state or '-'}"


class ProcessedEvent(models.Model):
    """A platform's event already taken: every platform re-delivers what it got no answer to
    in time, and a re-delivery must change nothing.

    `key` names the event on its channel: Telegram "<bot id>:<update id>", Viber the message
    token, Messenger the message id (or sender and timestamp where it sends none)."""

    channel = models.CharField(max_length=16)
    key = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="event_once_per_channel")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.key}"


class InboundEvent(models.Model):
    """A resident's event as the webhook stored it, waiting for a worker (botbridge.worker).

    The webhook stores it once (the unique key: a re-delivery changes nothing) and answers at
    once; a worker leases the oldest event of a chat none of whose earlier events is still
    waiting (`leased_until`: a dead worker's lease expires and another takes the event), runs
    the conversation and sends the replies. `payload` is the platform's event as JSON, read
    again by the adapter that stored it. `chat_key` orders a chat's events: the person's id on
    the channel, as the conversation's state is keyed. Done rows are pruned with the processed
    events, after the platforms have stopped re-delivering them.
    """

    channel = models.CharField(max_length=16)
    key = models.CharField(max_length=200)
    chat_key = models.CharField(max_length=200)
    payload = models.TextField()
    received_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="inbound_once_per_channel")]
        indexes = [
            # What workers look through: the waiting events only, by chat and in order.
            models.Index(
                fields=["channel", "chat_key", "id"], condition=Q(done_at__isnull=True), name="inbound_waiting"
            ),
            models.Index(fields=["id"], condition=Q(done_at__isnull=True), name="inbound_queue"),
            models.Index(fields=["received_at"], name="inbound_received"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.key}"


class Broadcast(models.Model):
    """One message to many bot users: a window reminder or a staff announcement."""

    class Kind(models.TextChoices):
        WINDOW_OPENS = "window_opens", _("the window opens")
        LAST_DAY = "last_day", _("the window's last day")
        ANNOUNCEMENT = "announcement", _("announcement")
        NOTICE = "notice", _("notice to one resident")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The window's period for a reminder: with the kind, what makes a reminder go out once.
    period = models.DateField(_("period"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True, help_text=_("An announcement's text, as bot users will read it."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    filled_at = models.DateTimeField(_("recipients listed"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period"],
                condition=Q(kind__in=["window_opens", "last_day"]),
                name="broadcast_reminder_once_per_window",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["announcement", "notice"], period__isnull=True)
                | Q(period__isnull=False, period__day=1),
                name="broadcast_reminder_has_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period or self.created_at:%Y-%m-%d}"


# The channels a message can go by: the bots' and email (to a resident's confirmed address).
DELIVERY_CHANNELS = [*ChannelIdentity.Channel.choices, ("email", _("Email"))]


class Delivery(models.Model):
    """One chat's message of a broadcast. Its row is what makes the message go out at most once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        BLOCKED = "blocked", _("blocked the bot")
        INTERRUPTED = "interrupted", _("interrupted while sending")

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="deliveries")
    # The channel and the recipient's key there (for Telegram, the chat id as a string; for email,
    # the address: up to 254 characters).
    channel = models.CharField(_("channel"), max_length=16, choices=DELIVERY_CHANNELS)
    recipient_key = models.CharField(_("recipient"), max_length=254)
    text = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "channel", "recipient_key"], name="delivery_once_per_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="delivery_status_idx"),
            models.Index(fields=["broadcast", "status"], name="delivery_broadcast_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.broadcast_id} → {self.channel}:{self.recipient_key}: {self.status}"
