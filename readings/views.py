"""The cabinet's reading pages: the dashboard, an account, its history and the quick form.

A reading goes through reading_submit like the bot's and the API's, so the rules,
the messages and the confirmation of an unusual reading are the same everywhere.
"""

import csv
import itertools

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.errors import DomainError
from accounts.masking import mask_address
from accounts.views import own_link, refused
from botbridge.routes import reminder_routes
from portal.clientip import client_ip
from readings import charts, selectors
from readings.errors import ConfirmationRequired
from readings.forms import QuickSubmitForm, ReadingForm
from readings.labels import METER_KINDS, ZONE_NAMES, values_text
from readings.models import Reading
from readings.periods import consumption_heading, period_label
from readings.services import reading_submit, reading_submit_by_number

HISTORY_MONTHS = 24
QUICK_RECORDED = "quick_recorded"  # the session key of the reading the quick form just recorded


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    accounts = selectors.accounts_with_meters(user=request.user)
    for account in accounts:
        # Anyone who knows an account number and a meter serial can link it: show the address masked.
        account["address"] = mask_address(account["address"])
        for meter in account["meters"]:
            meter["kind"] = METER_KINDS[meter["zones"]]
            if meter["last_reading"]:
                meter["last_reading"]["values_text"] = values_text(meter["last_reading"]["values"])
    banner = window_banner()
    states = selectors.meters_current_states(
        meter_ids=[meter["id"] for account in accounts for meter in account["meters"]], current=banner["window"]
    )
    attention = []  # held or rejected readings of the window: shown before anything else
    for account in accounts:
        for meter in account["meters"]:
            meter["state"] = states.get(meter["id"])
            if meter["state"] and meter["state"].needs_attention:
                attention.append((account["number"], meter["state"]))
    context = {
        "accounts": accounts,
        "attention": attention,
        "reminders": reminder_routes(user=request.user),
        "nav": "dashboard",
        **banner,
    }
    return render(request, "cabinet/dashboard.html", context)


def window_banner() -> dict:
    """The open window and the days it has left, or the next window."""
    today = timezone.localdate()
    window = selectors.window_on(today)
    return {"window": window, "window_open": window.contains(today), "days_left": window.days_left(today)}


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest, number: str) -> HttpResponse:
    link = own_link(request.user, number)
    overview = selectors.account_overview(user=request.user, number=link.account.number)
    forms = {meter.pk: ReadingForm(meter) for meter, _last in overview.meters}
    context = {"overview": overview, "forms": forms, "question": None, "status": 200}
    if request.method == "POST":
        redirect_to = _submit(request, overview, forms, context)
        if redirect_to:
            return redirect_to
    elif request.GET.get("recorded", "").isdigit():
        reading = selectors.account_reading(account_id=link.account_id, reading_id=int(request.GET["recorded"]))
        context["outcome"] = selectors.reading_outcome(reading) if reading else None
    context["meters"] = [
        {
            "meter": meter,
            "last": last,
            "state": overview.states.get(meter.pk),
            "form": forms[meter.pk],
            "kind": METER_KINDS[meter.zones],
        }
        for meter, last in overview.meters
    ]
    # Just sent, the outcome says it all; otherwise a held or rejected reading comes first.
    if not context.get("outcome"):
        context["attention"] = [state for state in overview.states.values() if state.needs_attention]
    context.update(window_banner(), address=mask_address(overview.account.address))
    return render(request, "cabinet/account.html", context, status=context["status"])


def _submit(request: HttpRequest, overview, forms: dict, context: dict) -> HttpResponse | None:
    """Record the posted reading and redirect to its outcome, or fill `context` with what to show."""
    meter_id = request.POST.get("meter", "")
    meter = next((meter for meter, _last in overview.meters if str(meter.pk) == meter_id), None)
    if meter is None:
        context.update(status=400, error=_("Choose the meter again: the form did not say which one."))
        return None
    form = forms[meter.pk] = ReadingForm(meter, request.POST)
    if not form.is_valid():
        context["status"] = 400
        return None
    try:
        reading = reading_submit(
            meter=meter,
            channel=Reading.Channel.WEB,
            text=form.text(),
            confirm=form.cleaned_data["confirm"],
            submitted_by=request.user,
            ip_address=client_ip(request),
        )
    except ConfirmationRequired as question:
        context["question"] = {"meter": meter, "message": question.message}
        return None
    except DomainError as refusal:
        form.add_error(None, refusal.message)
        context["status"] = refusal.http_status
        return None
    url = reverse("account", kwargs={"number": overview.account.number})
    return redirect(f"{url}?recorded={reading.pk}#outcome")


@login_required
@require_GET
def history(request: HttpRequest, number: str) -> HttpResponse:
    link = own_link(request.user, number)
    last_period = selectors.history_last_period(timezone.localdate())
    months = selectors.account_monthly_use(account_id=link.account_id, last_period=last_period, months=HISTORY_MONTHS)
    chart = charts.stacked_chart([(month.period, month.consumption) for month in months])
    kwh = _("kWh")
    titles = [f"{consumption_heading(m.period)}: {' + '.join(map(str, m.consumption)) or '—'} {kwh}" for m in months]
    context = {
        "account": link.account,
        "chart": charts.svg(
            chart,
            titles=titles,
            labelled_by="chart-title",
            description=_("Bars stacked by zone; the table below lists the same numbers."),
        ),
        "zone_names": ZONE_NAMES[chart.zones],
        # Newest first; a month of fewer zones (a meter replaced by a zoned one) gets blank cells.
        "rows": [
            {
                "month": month,
                "name": consumption_heading(month.period),
                "zones": [
                    (capfirst(name), kwh)
                    for name, kwh in itertools.zip_longest(ZONE_NAMES[chart.zones], month.consumption, fillvalue="—")
                ],
            }
            for month in reversed(months)
            if month.consumption
        ],
        "groups": reading_groups(selectors.account_readings(account_id=link.account_id, since=months[0].period)),
        "labels": {
            "sent": _("Sent"),
            "meter": _("Meter"),
            "reading": _("Reading"),
            "status": _("Status"),
            "channel": _("Channel"),
        },
    }
    return render(request, "cabinet/history.html", context)


def reading_groups(readings) -> list[dict]:
    """The readings by the month of use they close, newest first, under the period's label
    ("Показання на 01.12.2026 — споживання за листопад 2026"); each month's readings newest first."""
    groups: dict = {}
    for reading in readings:
        groups.setdefault(reading.period, []).append(reading)
    return [
        {"heading": capfirst(period_label(period)), "rows": reading_rows(groups[period])}
        for period in sorted(groups, reverse=True)
    ]


PHOTO_ANSWERS = (Reading.Status.NEEDS_REVIEW, Reading.Status.REJECTED)


def reading_rows(readings) -> list[dict[str, str]]:
    """The readings table's cells as text, so the template only places them."""
    channels = {value: str(label) for value, label in Reading.Channel.choices}
    return [
        {
            "sent": timezone.localtime(state.reading.submitted_at).strftime("%d.%m.%Y %H:%M"),
            "serial": state.reading.meter.serial,
            "values": state.reading.values_text,
            # What became of it (a rejected one says why, a replaced one by what) and its receipt.
            "status": f"{state.text} {state.receipt}.",
            "channel": channels[state.reading.channel],
            # Held or rejected: the resident may answer with a photo of the meter.
            "photo_id": state.reading.pk if state.reading.status in PHOTO_ANSWERS else None,
        }
        for state in selectors.reading_states(list(readings))
    ]


@login_required
@require_GET
def history_csv(request: HttpRequest, number: str) -> HttpResponse:
    """Every reading of the account, for a spreadsheet as Ukrainian Excel opens it: UTF-8 with a
    BOM (else Cyrillic is garbled), ";" between fields and a decimal comma (its list separator and
    decimal mark), so each field lands in its own column. The API's and billing's CSV stay as they are."""
    link = own_link(request.user, number)
    zones = max(link.account.meters.values_list("zones", flat=True), default=1)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="pokaznyk-{link.account.number}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    headings = [_("Period"), _("Consumption month"), _("Meter"), *_zone_headings(zones)]
    writer.writerow([*headings, _("Estimated cost, UAH"), _("Status"), _("Channel"), _("Sent")])
    for reading in selectors.account_readings(account_id=link.account_id).iterator(chunk_size=500):
        consumption = reading.consumption or ()
        cost = selectors.reading_cost(reading)
        writer.writerow(
            [
                f"{reading.period:%d.%m.%Y}",
                consumption_heading(reading.period),
                reading.meter.serial,
                *_padded(reading.values, zones),
                *_padded(consumption, zones),
                # One zone has no total beside it: it would repeat the zone's own column.
                *([sum(consumption) if consumption else ""] if zones > 1 else []),
                "" if cost is None else str(cost).replace(".", ","),
                reading.get_status_display(),
                reading.get_channel_display(),
                timezone.localtime(reading.submitted_at).strftime("%d.%m.%Y %H:%M"),
            ]
        )
    return response


def _zone_headings(zones: int) -> list[str]:
    """The readings and consumption columns: one each for a one-zone account, else one per zone
    named as on the bill (day, night…) and the total consumption."""
    if zones == 1:
        return [_("Reading"), _("Consumption, kWh")]
    names = [str(name) for name in ZONE_NAMES[zones]]
    return [
        *(_("Reading: {zone}").format(zone=name) for name in names),
        *(_("Consumption: {zone}, kWh").format(zone=name) for name in names),
        _("Consumption in total, kWh"),
    ]


def _padded(values, zones: int) -> list[int | str]:
    """A zone's column blank where the meter has fewer zones (a meter replaced by a zoned one)."""
    return [*values, *[""] * (zones - len(values))]


@require_http_methods(["GET", "POST"])
def quick_submit(request: HttpRequest) -> HttpResponse:
    """A reading without signing in: the account number and the meter serial prove the meter."""
    form = QuickSubmitForm(request.POST or None)
    context = {"form": form, "question": None, "outcome": None, "nav": "quick", **window_banner()}
    status, refusal = 200, None
    if form.is_valid():
        data = form.cleaned_data
        try:
            reading = reading_submit_by_number(
                account_number=data["account_number"],
                meter_serial=data["meter_serial"],
                text=data["reading"],
                confirm=data["confirm"],
                ip_address=client_ip(request),
            )
        except ConfirmationRequired as question:
            context["question"] = question.message
        except DomainError as error:
            refusal = error
            form.add_error(None, refusal.message)
        else:
            # Redirect after the POST, so reloading the page does not send the reading again.
            request.session[QUICK_RECORDED] = reading.pk
            return redirect(reverse("quick_submit") + "#outcome")
    elif form.is_bound:
        status = 400
    elif QUICK_RECORDED in request.session:
        reading = selectors.reading_by_id(reading_id=request.session.pop(QUICK_RECORDED))
        context["outcome"] = selectors.reading_outcome(reading) if reading else None
    return refused(render(request, "cabinet/quick.html", context, status=status), refusal)
