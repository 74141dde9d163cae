"""The phone menu end to end: a fake Asterisk dials in to the FastAGI server over TCP and
presses a caller's keys; what the caller hears is the prompts asked for, what is kept is in
the database (and the cabinet)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection
from django.utils import translation

from accounts.models import AccountLink, LinkAttempt
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge import phone_texts as say
from botbridge.tests.fake_asterisk import settle
from readings.models import Reading

IN_WINDOW = "2026-11-28 10:00 +02:00"
BEFORE_WINDOW = "2026-11-24 10:00 +02:00"  # December's window opens on 27.11
P = "pokaznyk/"
CALLER = "0671234567"


def heard(transcript) -> list[str]:
    """The prompts in order, without the prefix: what the caller heard."""
    return [prompt.removeprefix(P) for prompt in transcript.prompts]


def finished(transcript):
    """A call that went as Asterisk would have it: every prompt found, nothing refused."""
    assert not transcript.missing_prompts
    assert not transcript.refused and not transcript.problems
    return transcript


def digits(number: str) -> list[str]:
    return [f"digit-{char}" for char in number]


def receipt_said(code: str) -> list[str]:
    return ["receipt", *digits(code), "receipt-again", *digits(code)]


def test_a_one_zone_reading_from_greeting_to_goodbye_shows_in_the_cabinet(asterisk, client):
    meter = MeterFactory(account__number="123456789", serial="AB-0123", digits=5, initial_values=[1000])
    resident = UserFactory()
    AccountLink.objects.create(user=resident, account=meter.account)
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(caller=CALLER, keys=["123456789#", "0123#", "1100#", "1", None]))
    assert heard(call) == [
        "greeting",
        "ask-account",
        "ask-serial",  # the prompt says: digits only, letters skipped
        "ask-zone-total",
        "you-entered",
        *digits("1100"),
        "ask-confirm",
        "accepted-consumption",
        "month-11",  # the reading of 01.12 closes November's use, as the bills say
        *receipt_said(Reading.objects.get().receipt),  # said twice: the caller is writing it down
        "ask-another",
        "goodbye",
    ]
    with translation.override("uk"):
        accepted = heard(call).index("accepted-consumption")
        said = " ".join(say.prompt_text(name) for name in heard(call)[accepted : accepted + 2])
    assert said == "Показник прийнято: це споживання за листопад"
    assert call.hung_up_by_server and call.ended == "server hung up"
    reading = Reading.objects.get()
    assert (reading.values, reading.status, reading.channel) == ((1100,), "accepted", "phone")
    assert reading.channel_user_key == CALLER and reading.submitted_by is None
    client.force_login(resident)
    export = client.get(f"/accounts/{meter.account.number}/history.csv").content.decode()
    assert "1100" in export and "телефон" in export


def test_a_two_zone_meter_is_asked_day_then_night_and_read_back_by_zone(asterisk):
    MeterFactory(account__number="123456789", serial="7001", zones=2, digits=6, initial_values=[1000, 500])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "7001#", "1200#", "600#", "1", "9"]))
    assert [p for p in heard(call) if p.startswith("ask-")] == [
        "ask-account",
        "ask-serial",
        "ask-zone-day",
        "ask-zone-night",
        "ask-confirm",
        "ask-another",
    ]
    confirm = heard(call).index("ask-confirm")
    assert heard(call)[confirm - 10 : confirm] == [
        "you-entered",
        "zone-day",
        *digits("1200"),
        "zone-night",
        *digits("600"),
    ]
    assert heard(call)[-1] == "goodbye"  # anything but 1 ends the call
    assert Reading.objects.get().values == (1200, 600)


def test_a_three_zone_meter_chosen_by_key_among_the_accounts_meters(asterisk):
    first = MeterFactory(account__number="123456789", serial="AB11112222", initial_values=[1000])
    MeterFactory(account=first.account, serial="CD33334444", zones=3, digits=6, initial_values=[100, 200, 300])
    with time_machine.travel(IN_WINDOW, tick=True):
        # The first meter's serial proves the account; the reading is for the second.
        call = finished(asterisk.call(keys=["123456789#", "11112222#", "2", "150#", "260#", "370#", "1", None]))
    choice = heard(call).index("ask-meter")
    assert heard(call)[choice - 14 : choice] == [
        "meter-ending", *digits("2222"), "press", "digit-1",
        "meter-ending", *digits("4444"), "press", "digit-2",
    ]  # fmt: skip
    asked = [p for p in heard(call) if p.startswith("ask-zone")]
    assert asked == ["ask-zone-peak", "ask-zone-half-peak", "ask-zone-night"]
    reading = Reading.objects.get()
    assert (reading.meter.serial, reading.values) == ("CD33334444", (150, 260, 370))


def test_a_wrong_pair_is_told_and_both_numbers_asked_again_counting_against_the_caller(asterisk, settings):
    settings.LINK_ATTEMPTS_PER_ADDRESS = 3  # the quick form's per-address limit is the caller's too
    MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "999#", "123456789#", "123#", "1100#", "1"]))
        assert heard(call)[2:7] == [
            "ask-serial",
            "refusal-account_meter_mismatch",
            "attempts-left",
            "digit-2",
            "ask-account",
        ]
        assert Reading.objects.get().values == (1100,)
        # Two more failures spend the caller's budget: the call ends, and the next call too.
        call = finished(asterisk.call(keys=["123456789#", "1#", "123456789#", "2#"]))
        assert "last-attempt" in heard(call)
        refused = finished(asterisk.call(keys=["123456789#", "123#"]))
        assert heard(refused)[-2:] == ["refusal-too_many_attempts", "goodbye"]
        assert refused.hung_up_by_server
        # Another caller has a budget of their own.
        other = finished(asterisk.call(caller="+380501112233", keys=["123456789#", "123#", "1200#", "1"]))
        assert "accepted-consumption" in heard(other)
    assert set(LinkAttempt.objects.values_list("caller", flat=True)) == {CALLER}
    assert LinkAttempt.objects.count() == 3
    assert Reading.objects.filter(channel_user_key="+380501112233").exists()


def test_callers_who_hide_their_number_share_one_budget(asterisk, settings):
    settings.LINK_ATTEMPTS_PER_ADDRESS = 1
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        first = finished(asterisk.call(caller="", keys=["123456789#", "9#"]))
        second = finished(asterisk.call(caller="", keys=["123456789#", "123#"]))
    assert "last-attempt" in heard(first)
    assert heard(second)[-2:] == ["refusal-too_many_attempts", "goodbye"] and second.hung_up_by_server
    assert list(LinkAttempt.objects.values_list("caller", flat=True)) == ["unknown"]
    assert Reading.objects.count() == 0


def test_a_decrease_is_explained_and_the_reading_asked_again(asterisk):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "123#", "900#", "1", "1100#", "1"]))
    after = heard(call)[heard(call).index("ask-confirm") + 1 :]
    assert after[:2] == ["refusal-reading_decrease", "ask-zone-total"]
    assert Reading.objects.get().values == (1100,)


def test_an_unusual_jump_is_explained_and_sent_with_one_more_1(asterisk):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "123#", "9000#", "1", "1", None]))
    reading = Reading.objects.get()
    assert heard(call)[-24:] == [
        "confirm-unusual-jump",
        "ask-send-anyway",
        "needs-review-consumption",
        "month-11",
        *receipt_said(reading.receipt),
        "ask-another",
        "goodbye",
    ]
    assert (reading.values, reading.status, reading.review_reason) == ((9000,), "needs_review", "unusual_jump")


def test_an_unusual_jump_declined_with_2_is_typed_again(asterisk):
    MeterFactory(account__number="123456789", serial="123", digits=5, initial_values=[99950])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "123#", "30#", "1", "2", "99990#", "1"]))
    assert "confirm-rollover" in heard(call)
    assert Reading.objects.get().values == (99990,)


def test_outside_the_window_the_reading_is_a_control_one_and_the_next_window_is_said(asterisk):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(BEFORE_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "123#", "1050#", "1"]))
    reading = Reading.objects.get()
    assert heard(call)[-23:] == [
        "control",
        "date-27",
        "of-month-11",
        *receipt_said(reading.receipt),
        "ask-another",
        "goodbye",
    ]
    assert reading.status == "control"


def test_another_reading_starts_again_at_the_account_number(asterisk):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    MeterFactory(account__number="987654321", serial="456", initial_values=[2000])
    with time_machine.travel(IN_WINDOW, tick=True):
        keys = ["123456789#", "123#", "1100#", "1", "1", "987654321#", "456#", "2100#", "1"]
        finished(asterisk.call(keys=keys))
    assert sorted(Reading.objects.values_list("value1", flat=True)) == [1100, 2100]


def test_star_repeats_the_question_with_what_it_reads_back(asterisk):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["*", "123456789#", "123#", "1100#", "*", "1"]))
    assert heard(call)[:3] == ["greeting", "ask-account", "ask-account"]
    readback = ["you-entered", *digits("1100"), "ask-confirm"]
    start = heard(call).index("you-entered")
    assert heard(call)[start : start + 2 * len(readback)] == readback * 2
    assert Reading.objects.count() == 1


def test_zero_goes_to_the_operator_when_there_is_one(asterisk, settings):
    settings.IVR_OPERATOR_EXTENSION = "100"
    call = finished(asterisk.call(keys=["0"]))
    assert heard(call) == ["greeting", "hint-operator", "ask-account", "transfer"]
    assert call.set_variables == {"POKAZNYK_TRANSFER": "100"}
    # Back to the dialplan, which acts on the variable: no HANGUP from the menu.
    assert not call.hung_up_by_server and call.ended == "server closed"


def test_zero_without_an_operator_says_so_and_asks_again(asterisk):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["0", "123456789#", "123#", "1100#", "1"]))
    assert heard(call)[:4] == ["greeting", "ask-account", "no-operator", "ask-account"]
    assert "hint-operator" not in heard(call) and not call.set_variables
    assert Reading.objects.count() == 1


def test_three_wrong_or_empty_answers_end_the_call_politely(asterisk):
    call = finished(asterisk.call(keys=[None, "#", "12#"]))
    assert heard(call) == [
        "greeting",
        "ask-account",
        "no-input",
        "ask-account",
        "no-input",
        "ask-account",
        "refusal-account_number_invalid",
        "giving-up",
    ]
    assert call.hung_up_by_server and not call.set_variables


def test_three_wrong_answers_go_to_the_operator_when_there_is_one(asterisk, settings):
    settings.IVR_OPERATOR_EXTENSION = "operator"
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        call = finished(asterisk.call(keys=["123456789#", "123#", "1100#", "5", "9", "7"]))
    assert heard(call).count("invalid-input") == 3 and heard(call)[-1] == "transfer"
    assert call.set_variables == {"POKAZNYK_TRANSFER": "operator"} and not call.hung_up_by_server
    assert Reading.objects.count() == 0


def test_a_caller_hanging_up_at_any_step_leaves_nothing_half_written(asterisk, caplog):
    MeterFactory(account__number="123456789", serial="123", initial_values=[1000])
    keys = ["123456789#", "1#", "123456789#", "123#", "9000#", "1", "1", None]
    with time_machine.travel(IN_WINDOW, tick=True):
        whole = finished(asterisk.call(keys=keys, caller="0500000000"))
        steps = len(whole.exchanges)
        sent_at = heard(whole).index("needs-review-consumption")  # the reading is written just before this prompt
        for after in range(steps):
            Reading.objects.all().delete()
            LinkAttempt.objects.all().delete()
            call = asterisk.call(keys=keys, hang_up_after=after)
            assert call.caller_hung_up and call.ended in ("server closed", "server hung up")
            assert len(call.exchanges) == after + 1  # nothing sent after the hang-up was seen
            assert LinkAttempt.objects.count() == (1 if after >= 3 else 0)  # the wrong pair is answered by the 3rd
            written = list(Reading.objects.values_list("value1", "status"))
            assert written == ([(9000, "needs_review")] if after >= sent_at else [])
        for after in (1, 5, 9):  # the link drops instead
            finished(asterisk.call(keys=keys, close_after=after))
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]
    settle(asterisk.server)  # no call's thread is left either


def test_fifty_callers_at_once_each_send_their_reading(asterisk):
    if connection.vendor != "postgresql":
        # The test database in SQLite's shared memory refuses a second writer at once ("table is
        # locked") instead of waiting as a database file does: this load is PostgreSQL's.
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://… (CI does)")
    meters = [MeterFactory(account__number=f"{500000000 + n}", serial=f"M{100 + n}") for n in range(50)]

    def dial(n: int):
        keys = [f"{500000000 + n}#", f"{100 + n}#", f"{1100 + n}#", "1", None]
        return asterisk.call(caller=f"06700000{n:02}", keys=keys)

    with time_machine.travel(IN_WINDOW, tick=True), ThreadPoolExecutor(max_workers=50) as pool:
        calls = list(pool.map(dial, range(50)))
    for call in calls:
        assert heard(finished(call))[-1] == "goodbye"
    sent = dict(Reading.objects.filter(channel="phone").values_list("meter__serial", "value1"))
    assert sent == {meter.serial: 1100 + n for n, meter in enumerate(meters)}
    settle(asterisk.server)


def test_a_resend_in_the_window_says_which_reading_it_replaced_and_its_receipt(asterisk):
    MeterFactory(account__number="123456789", serial="123", zones=2, initial_values=[1000, 500])
    with time_machine.travel(IN_WINDOW, tick=True):
        finished(asterisk.call(keys=["123456789#", "123#", "1100#", "600#", "1", None]))
        call = finished(asterisk.call(keys=["123456789#", "123#", "1150#", "620#", "1", None]))
    first, second = Reading.objects.order_by("submitted_at")
    assert (first.status, second.replaces) == ("superseded", first)
    after = heard(call)[heard(call).index("accepted-consumption") :]
    assert after == [
        "accepted-consumption",
        "month-11",
        "replaces",
        "zone-day",
        *digits("1100"),
        "zone-night",
        *digits("600"),
        "replaces-receipt",
        *digits(first.receipt),
        *receipt_said(second.receipt),
        "ask-another",
        "goodbye",
    ]
