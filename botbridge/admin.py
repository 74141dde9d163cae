"""Broadcasts in admin: each one's progress, and staff announcements through the reminders' pipeline."""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from botbridge import services
from botbridge.models import Broadcast, Delivery
from portal.admin import DateDrilldownAdmin, ReadOnlyAdmin
from portal.queueing import enqueue

STATUSES = [status.value for status in Delivery.Status]


class AnnouncementForm(forms.ModelForm):
    class Meta:
        model = Broadcast
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 6, "cols": 80})}
        help_texts = {
            "text": _(
                "Sent to every bot user (Telegram, Viber, Messenger) who has not blocked the bot; not by email: "
                "emails carry only window reminders and decisions about a resident's own readings."
            )
        }

    def clean_text(self) -> str:
        try:
            return services.announcement_text(self.cleaned_data.get("text", ""))
        except DomainError as refusal:
            raise forms.ValidationError(refusal.message, code=refusal.code) from None


def _count_column(status: str):
    """A list column with the broadcast's deliveries in `status`, counted in the list's one query."""
    label = Delivery.Status(status).label

    @admin.display(description=label, ordering=status)
    def column(broadcast: Broadcast) -> int:
        return getattr(broadcast, status)

    return column


@admin.register(Broadcast)
class BroadcastAdmin(DateDrilldownAdmin):
    """Reminders are made by the schedule; staff add announcements and watch progress."""

    form = AnnouncementForm
    list_display = (
        "__str__",
        "created_at",
        *(_count_column(status) for status in STATUSES),
        "started_at",
        "finished_at",
    )
    list_filter = ("kind",)
    readonly_fields = ("kind", "period", "text", "created_by", "created_at", "filled_at", "started_at", "finished_at")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        counts = {status: Count("deliveries", filter=Q(deliveries__status=status)) for status in STATUSES}
        return super().get_queryset(request).annotate(**counts)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ("text",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Broadcast, form, change: bool) -> None:
        # Through the service, like every other write; the admin only shows the result.
        created = services.broadcast_announce(text=form.cleaned_data["text"], created_by=request.user)
        obj.pk, obj.kind, obj.created_at = created.pk, created.kind, created.created_at
        # Imported here: the tasks load aiogram, which every process that loads admin (the
        # import_accounts command too) would otherwise carry, about 150 MiB of it.
        from botbridge.tasks import broadcast_fill

        transaction.on_commit(lambda: enqueue(broadcast_fill, created.pk))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("channel", "recipient_key", "broadcast", "status", "attempts", "sent_at", "error")
    list_filter = ("status", "broadcast__kind")
    search_fields = ("=recipient_key",)
    list_select_related = ("broadcast",)
    raw_id_fields = ("broadcast",)
