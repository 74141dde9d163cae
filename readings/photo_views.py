"""Meter photos in the cabinet: a reading's photo page (attach one) and the one view that
serves a photo, to the reading's residents and to reviewing staff only."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.errors import DomainError
from accounts.views import refused
from readings import selectors
from readings.errors import PhotoTooBig
from readings.models import Reading
from readings.photos import MAX_BYTES
from readings.services import reading_photo_attach

# What the file picker offers; the type is checked again on the server by decoding the file.
ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.heic,.heif"


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=gettext_lazy("Photo of the meter (JPEG, PNG or HEIC, up to 10 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": gettext_lazy("Choose a photo of the meter first.")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def reading_photo(request: HttpRequest, reading_id: int) -> HttpResponse:
    reading = selectors.resident_reading(user=request.user, reading_id=reading_id)
    if reading is None:
        raise Http404(_("No such reading among your accounts."))
    form = PhotoForm(request.POST, request.FILES) if request.method == "POST" else PhotoForm()
    status, refusal = 200, None
    if request.method == "POST":
        if form.is_valid() and (refusal := _attach(request, reading, form)) is None:
            return redirect(f"{reverse('reading_photo', args=[reading.pk])}?added=1")
        status = 400
    context = {
        "reading": reading,
        "photos": selectors.reading_photos(reading_id=reading.pk),
        "form": form,
        "added": request.GET.get("added") == "1" and request.method == "GET",
        "accepts": reading.status != Reading.Status.SUPERSEDED,
    }
    return refused(render(request, "cabinet/reading_photo.html", context, status=status), refusal)


def _attach(request: HttpRequest, reading: Reading, form: PhotoForm) -> DomainError | None:
    """Keep the photo; the refusal, shown on the form, when it is not kept."""
    upload = form.cleaned_data["photo"]
    try:
        if upload.size > MAX_BYTES:  # refused before reading it into memory
            raise PhotoTooBig(limit=MAX_BYTES // (1024 * 1024))
        reading_photo_attach(
            reading_id=reading.pk, content=upload.read(), channel=Reading.Channel.WEB, uploaded_by=request.user
        )
    except DomainError as refusal:
        form.add_error("photo", refusal.message)
        return refusal
    return None


@login_required
@require_GET
def photo_file(request: HttpRequest, photo_id: int) -> FileResponse:
    photo = selectors.reading_photo_for(user=request.user, photo_id=photo_id)
    if photo is None:
        raise Http404(_("No such photo."))
    response = FileResponse(photo.file.open("rb"), content_type="image/jpeg")
    # A resident's photo: no shared cache may keep it, and no browser may read it as anything else.
    response["Cache-Control"] = "private, no-store"
    return response
