"""The cabinet's reading forms: one field per zone; parsing and rules stay in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import LinkForm
from accounts.models import Meter
from readings.parsing import MAX_INPUT_LENGTH

ZONE_LABELS = {
    1: (_("Reading, kWh"),),
    2: (_("Day (T1), kWh"), _("Night (T2), kWh")),
    3: (_("Peak (T1), kWh"), _("Half-peak (T2), kWh"), _("Night (T3), kWh")),
}


class ReadingForm(forms.Form):
    """The reading of one meter: a field per zone, named t1…t3."""

    meter = forms.IntegerField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, meter: Meter, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"id_m{meter.pk}_%s")
        super().__init__(*args, **kwargs)
        self.meter_obj = meter
        self.fields["meter"].initial = meter.pk
        for zone, label in enumerate(ZONE_LABELS[meter.zones], start=1):
            self.fields[f"t{zone}"] = forms.CharField(
                label=label,
                max_length=MAX_INPUT_LENGTH,
                strip=True,
                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            )

    def text(self) -> str:
        """The zones as the one text format every channel parses: 1111/2222."""
        return "/".join(self.cleaned_data[f"t{zone}"] for zone in range(1, self.meter_obj.zones + 1))


class QuickSubmitForm(LinkForm):
    """A reading without an account in the cabinet: account number, meter serial and the reading."""

    reading = forms.CharField(
        label=_("Reading"),
        max_length=MAX_INPUT_LENGTH,
        help_text=_("Single-zone 12345; two-zone day/night 1111/2222; three-zone peak/half-peak/night 1111/2222/3333."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
