"""Shapes of what the API takes and gives. Domain rules are not here: the services hold them."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.masking import mask_address
from readings.selectors import reading_state
from readings.states import ReadingState, State


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error instead of a silent default."""

    def validate(self, attrs: dict) -> dict:
        if not isinstance(self.initial_data, dict):
            raise serializers.ValidationError(_("Send a JSON object."))
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return attrs


class WholeNumber(serializers.IntegerField):
    """A JSON number without a fraction: "1250", 1250.0 and true are not kWh readings."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class TokenIn(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenOut(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: only its hash is kept.")
    expiry = serializers.DateTimeField(help_text="When the token stops working.")


class LinkIn(StrictSerializer):
    account_number = serializers.CharField(max_length=64)
    meter_serial = serializers.CharField(max_length=64)


class ReadingIn(StrictSerializer):
    value = serializers.CharField(max_length=64, required=False, help_text='As typed: "12345", "1111/2222".')
    values = serializers.ListField(
        child=WholeNumber(min_value=0, max_value=99_999_999), min_length=1, max_length=3, required=False
    )
    confirm = serializers.BooleanField(default=False, help_text="Confirm a rollover or an unusual jump.")
    meter = serializers.CharField(
        max_length=64, required=False, help_text="The meter's serial, when the account has several meters."
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if ("value" in attrs) == ("values" in attrs):
            raise serializers.ValidationError(
                {"value": [_("Send either “value” or “values”, not both and not neither.")]}
            )
        return attrs


class LastReadingOut(serializers.Serializer):
    values = serializers.ListField(child=serializers.IntegerField())
    period = serializers.DateField()
    submitted_at = serializers.DateTimeField()


class MeterOut(serializers.Serializer):
    serial = serializers.CharField()
    zones = serializers.IntegerField()
    digits = serializers.IntegerField()
    last_reading = LastReadingOut(allow_null=True)


class AccountOut(serializers.Serializer):
    number = serializers.CharField()
    address = serializers.SerializerMethodField(help_text="Masked: enough to recognise the home.")
    meters = MeterOut(many=True)

    def get_address(self, account: dict) -> str:
        return mask_address(account["address"])


class WindowOut(serializers.Serializer):
    date = serializers.DateField()
    period = serializers.DateField()
    opens = serializers.DateField()
    closes = serializers.DateField()
    is_open = serializers.BooleanField()


class ReadingOut(serializers.Serializer):
    """A reading. Its `state` comes from the context's "states" (reading id → ReadingState, so a
    page of readings costs one window query per period), or is worked out for this reading."""

    id = serializers.IntegerField()
    receipt = serializers.CharField(source="receipt_display", help_text="What to quote to the contact centre.")
    meter = serializers.CharField(source="meter.serial")
    period = serializers.DateField()
    values = serializers.ListField(child=serializers.IntegerField())
    consumption = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    status = serializers.CharField()
    state = serializers.SerializerMethodField(help_text="What became of it, for the resident.")
    state_text = serializers.SerializerMethodField(help_text="The state in the resident's words, with the reason.")
    next_step = serializers.SerializerMethodField(help_text="What to do now (held or rejected readings); or empty.")
    replaces = serializers.SerializerMethodField(help_text="The receipt of the earlier reading this one replaced.")
    replaced_by = serializers.SerializerMethodField(help_text="The receipt of the reading that replaced this one.")
    channel = serializers.CharField()
    submitted_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=[state.value for state in State]))
    def get_state(self, reading) -> str:
        return self._state(reading).state.value

    def get_state_text(self, reading) -> str:
        return self._state(reading).text

    def get_next_step(self, reading) -> str:
        return self._state(reading).next_step

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_replaces(self, reading) -> str | None:
        return reading.replaces.receipt_display if reading.replaces_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_replaced_by(self, reading) -> str | None:
        later = self._state(reading).replaced_by
        return later.receipt_display if later is not None else None

    def _state(self, reading) -> ReadingState:
        states = self.context.setdefault("states", {})
        if reading.pk not in states:
            states[reading.pk] = reading_state(reading)
        return states[reading.pk]


class ReadingCreatedOut(ReadingOut):
    next_window = WindowOut(allow_null=True, required=False, help_text="For a control reading: when to send.")


class ErrorOut(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    reason = serializers.CharField(required=False)
