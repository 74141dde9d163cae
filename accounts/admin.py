from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts import services
from accounts.errors import DomainError
from accounts.models import AccountLink, MasterDataUpload, Meter, PersonalAccount, User

admin.site.register(User, UserAdmin)


class MeterInline(admin.TabularInline):
    model = Meter
    extra = 0
    fields = ("serial", "zones", "digits", "installed_on", "removed_on", "is_active")


@admin.register(PersonalAccount)
class PersonalAccountAdmin(SimpleHistoryAdmin):
    list_display = ("number", "address", "holder_name", "eic", "is_active")
    list_filter = ("is_active",)
    search_fields = ("=number", "=eic", "address", "holder_name")
    inlines = [MeterInline]


@admin.register(Meter)
class MeterAdmin(SimpleHistoryAdmin):
    list_display = ("serial", "account", "zones", "digits", "installed_on", "removed_on", "is_active")
    list_filter = ("zones", "is_active")
    search_fields = ("=serial", "=account__number")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(AccountLink)
class AccountLinkAdmin(SimpleHistoryAdmin):
    list_display = ("user", "account", "created_at", "reminders_enabled")
    search_fields = ("=account__number", "user__username", "user__email")
    list_select_related = ("user", "account")
    raw_id_fields = ("user", "account")


@admin.register(MasterDataUpload)
class MasterDataUploadAdmin(admin.ModelAdmin):
    """Upload the billing CSV, see every bad row with its line number, then import on purpose."""

    list_display = ("__str__", "uploaded_by", "good_rows", "bad_rows", "imported_at", "imported_rows")
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

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)

        class UploadForm(forms.ModelForm):
            file = forms.FileField(
                label=_("Master data CSV"), help_text=_("UTF-8, header row, as DOMAIN.md describes.")
            )

            class Meta:
                model = MasterDataUpload
                fields = []

            def clean_file(self):
                file = self.cleaned_data["file"]
                try:
                    # Checking is the service's job; it keeps the file and the result, writes no account.
                    self.upload = services.master_data_upload(
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
            imported = services.master_data_upload_import(
                upload_id=upload_id, imported_by=request.user, skip_bad_rows=request.POST.get("skip_bad_rows") == "1"
            )
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
        else:
            self.message_user(request, _("Imported rows: %(imported)s.") % {"imported": imported}, messages.SUCCESS)
        return redirect("admin:accounts_masterdataupload_change", upload_id)
