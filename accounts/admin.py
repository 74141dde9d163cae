import io
from itertools import islice

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken
from simple_history.admin import SimpleHistoryAdmin

from accounts import linking, masterdata, tokens, uploads
from accounts.errors import DomainError
from accounts.forms import StaffSignInForm
from accounts.importing import BadRow, MasterDataFileError, read_master_data
from accounts.models import AccountLink, ChannelIdentity, MasterDataUpload, Meter, PersonalAccount, User
from portal import reference
from portal.admin import ReadOnlyAdmin
from readings.parsing import parse_reading


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Django's user admin, with where the resident's emails go."""

    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Email reminders"), {"fields": ("email_verified_at", "email_reminders_enabled", "language")}),
    )
    readonly_fields = ("email_verified_at",)

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if change and "email" in form.changed_data:
            obj.email_verified_at = None  # a new address is confirmed by a link of its own, as in the cabinet
        super().save_model(request, obj, form, change)


# Admin's login counts failed passwords like the cabinet's and says when a locked-out name may try again.
admin.site.login_form = StaffSignInForm


class MeterInline(admin.TabularInline):
    model = Meter
    extra = 0
    fields = ("serial", "zones", "digits", "installed_on", "removed_on", "is_active")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PersonalAccount)
class PersonalAccountAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    """Accounts come from the billing system's CSV (master data upload); staff look, never type."""

    list_display = ("number", "address", "holder_name", "eic", "is_active")
    list_filter = ("is_active",)
    search_fields = ("=number", "=eic", "address", "holder_name")
    inlines = [MeterInline]


class ReplaceMeterForm(forms.Form):
    new_serial = forms.CharField(label=_("New meter's serial"), max_length=48)
    zones = forms.TypedChoiceField(label=_("Zones"), choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int)
    digits = forms.IntegerField(label=_("Digits"), min_value=4, max_value=8)
    initial = forms.CharField(
        label=_("Starting reading"), max_length=64, help_text=_("As on the new meter's display, e.g. 0 or 0/0.")
    )
    replaced_on = forms.DateField(label=_("Replaced on"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if "zones" in data and "digits" in data and data.get("initial"):
            try:
                data["initial_values"] = parse_reading(data["initial"], zones=data["zones"], digits=data["digits"])
            except DomainError as refusal:
                self.add_error("initial", refusal.message)
        return data


@admin.register(Meter)
class MeterAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    """Meters change only by replacement: the old one closes with its readings, the new one opens."""

    list_display = ("serial", "account", "zones", "digits", "installed_on", "removed_on", "is_active")
    list_filter = ("zones", "is_active")
    search_fields = ("=serial", "=account__number", "=account__eic")
    list_select_related = ("account",)
    actions = ["replace"]

    def has_replace_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_meter")

    @admin.action(description=_("Replace the meter…"), permissions=["replace"])
    def replace(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one meter to replace."), messages.WARNING)
            return None
        meter = queryset.get()
        form = ReplaceMeterForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                new = masterdata.meter_replace(
                    meter=meter,
                    new_serial=data["new_serial"],
                    zones=data["zones"],
                    digits=data["digits"],
                    initial_values=data["initial_values"],
                    replaced_on=data["replaced_on"],
                )
            except (DomainError, ValidationError) as refusal:
                message = refusal.message if isinstance(refusal, DomainError) else "; ".join(refusal.messages)
                self.message_user(request, message, messages.ERROR)
            else:
                self.message_user(
                    request, _("Meter %(old)s replaced by %(new)s.") % {"old": meter, "new": new}, messages.SUCCESS
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Replace meter %(serial)s") % {"serial": meter.serial},
            "meter": meter,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/meter/replace.html", context)


@admin.register(AccountLink)
class AccountLinkAdmin(SimpleHistoryAdmin):
    """Residents link accounts themselves, by proof; staff see the links and remove one on request."""

    list_display = ("user", "account", "created_at", "reminders_enabled")
    list_filter = ("reminders_enabled",)
    search_fields = ("=account__number", "user__username", "user__email")
    list_select_related = ("user", "account")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_queryset(self, request, queryset) -> None:
        for link in queryset.select_related("user", "account"):
            linking.account_unlink(user=link.user, account_number=link.account.number)

    def delete_model(self, request, obj) -> None:
        linking.account_unlink(user=obj.user, account_number=obj.account.number)


@admin.register(MasterDataUpload)
class MasterDataUploadAdmin(admin.ModelAdmin):
    """Upload the billing CSV, see every bad row with its line number, then import on purpose."""

    list_display = ("file_name", "uploaded_at", "uploaded_by", "good_rows", "bad_rows", "imported_at", "imported_rows")
    readonly_fields = (
        "file_name",
        "uploaded_by",
        "uploaded_at",
        "good_rows",
        "bad_rows",
        "imported_at",
        "imported_rows",
    )
    change_form_template = "admin/accounts/masterdataupload/change_form.html"

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("accounts.import_master_data")

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("accounts.import_master_data")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ("file",)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        upload = self.get_object(request, object_id)
        preview = upload_preview(upload) if upload is not None and upload.imported_at is None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "preview": preview})

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)

        class UploadForm(forms.ModelForm):
            file = forms.FileField(label=_("Master data CSV"), help_text=reference.master_data_help_text())

            class Meta:
                model = MasterDataUpload
                fields = []

            def clean_file(self):
                file = self.cleaned_data["file"]
                try:
                    # Checking is the service's job; it keeps the file and the result, writes no account.
                    self.upload = uploads.master_data_upload(
                        file_name=file.name, content=file.read(), uploaded_by=request.user
                    )
                except DomainError as refusal:
                    raise forms.ValidationError(refusal.message, code=refusal.code) from None
                return file

        return UploadForm

    def save_form(self, request, form, change):
        return form.upload  # made by the service while the form was checked

    def save_model(self, request, obj, form, change) -> None:
        """Nothing left to save: the service stored the upload."""

    def save_related(self, request, form, formsets, change) -> None:
        """An upload has no related objects."""

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("admin:accounts_masterdataupload_change", obj.pk)

    def get_urls(self):
        run = path(
            "<int:upload_id>/import/",
            self.admin_site.admin_view(self.import_view),
            name="accounts_masterdataupload_import",
        )
        return [run, *super().get_urls()]

    def import_view(self, request, upload_id: int):
        if request.method != "POST" or not self.has_add_permission(request):
            raise PermissionDenied
        try:
            imported = uploads.master_data_upload_import(
                upload_id=upload_id, imported_by=request.user, skip_bad_rows=request.POST.get("skip_bad_rows") == "1"
            )
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
        else:
            self.message_user(request, _("Imported rows: %(imported)s.") % {"imported": imported}, messages.SUCCESS)
        return redirect("admin:accounts_masterdataupload_change", upload_id)


PREVIEW_ROWS = 20


def upload_preview(upload: MasterDataUpload) -> list[dict]:
    """The first good rows of an upload as they will be imported, each marked new or an update
    of an account already known: what the supervisor confirms, not only what is wrong."""
    # Decoded as the import reads it (services.master_data_upload_import), but as a stream:
    # only the lines up to the last row shown are decoded and checked.
    lines = io.TextIOWrapper(io.BytesIO(upload.content), encoding="utf-8-sig", errors="surrogateescape", newline="")
    good = (row for row in read_master_data(lines) if not isinstance(row, BadRow))
    try:
        rows = list(islice(good, PREVIEW_ROWS))
    except MasterDataFileError:
        return []  # the whole file was read when it was uploaded: only a file changed since fails
    numbers = {row.account_number for row in rows}
    known = set(PersonalAccount.objects.filter(number__in=numbers).values_list("number", flat=True))
    return [
        {"row": row, "initial": "/".join(map(str, row.initial_values)) or "—", "known": row.account_number in known}
        for row in rows
    ]


@admin.register(ChannelIdentity)
class ChannelIdentityAdmin(ReadOnlyAdmin):
    """Who uses the bots, on which channel, in which language, who turned reminders off there and who
    blocked one (reminders skip both)."""

    list_display = (
        "channel", "external_id", "username", "display_name", "language_code", "user", "reminders_enabled",
        "blocked_at", "created_at",
    )  # fmt: skip
    list_filter = ("channel", "language_code")
    search_fields = ("=external_id", "username", "user__username")
    list_select_related = ("user",)


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = AuthToken
        fields = ["user"]
        labels = {"user": _("user")}


admin.site.unregister(AuthToken)  # knox's own admin would issue tokens that never expire
# knox names its app and model in English only ("Knox", "Auth tokens"); staff read Ukrainian.
# Only the names shown: knox's Meta declares none of them, so its migrations see no change.
apps.get_app_config("knox").verbose_name = _("API tokens")
AuthToken._meta.verbose_name = _("API token")
AuthToken._meta.verbose_name_plural = _("API tokens")


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens for billing and integrators: issued here (the key is shown once, only its hash
    is kept), revoked by deleting; both through the services, like the API and the cabinet."""

    form = ApiTokenAddForm
    list_display = ("key_prefix", "user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__username", "token_key")
    raw_id_fields = ("user",)
    ordering = ("-created",)

    @admin.display(description=_("token begins with"))
    def key_prefix(self, token: AuthToken) -> str:
        return f"{token.token_key[:8]}…"

    def get_fields(self, request, obj=None) -> tuple:
        return ("user", "key_prefix", "created", "expiry") if obj else ("user",)

    def get_readonly_fields(self, request, obj=None) -> tuple:
        return ("user", "key_prefix", "created", "expiry") if obj else ()

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: AuthToken, form, change: bool) -> None:
        token, key = tokens.api_token_issue(user=obj.user)
        obj.digest, obj.token_key, obj.created, obj.expiry = token.digest, token.token_key, token.created, token.expiry
        obj._state.adding, obj._state.db = False, token._state.db
        self.message_user(
            request,
            _("The new API token of {user}: {key} Copy it now: it is not shown again.").format(user=obj.user, key=key),
            messages.WARNING,
        )

    def delete_model(self, request, obj: AuthToken) -> None:
        tokens.api_token_revoke(user=obj.user, digest=obj.digest)

    def delete_queryset(self, request, queryset) -> None:
        for token in queryset.select_related("user"):
            tokens.api_token_revoke(user=token.user, digest=token.digest)
