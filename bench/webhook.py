"""Events per second through each messenger's webhook on the reading-submission path, and their latency.

    .venv/bin/python bench/webhook.py [--channels telegram,viber,messenger] [--requests N] [--warmup N]
                                      [--seconds S] [--clients C] [--workers W]

The portal is served as in production: uvicorn, `portal.asgi:application`, W worker
processes (default 2), DEBUG off, PostgreSQL, with every channel on at once. Each bot
replies to its platform's fake (botbridge/tests/fake_bot_api.py, fake_viber.py,
fake_graph.py) running in this process and told of every resident, so the real clients
send real HTTP requests, and any reply the platform would refuse is counted. Every body
posted to Viber's and Messenger's webhooks is signed as the platform signs it, by the
load generator, per request.

The channels are measured one after the other in the same run, against the same
/healthz baseline, each with residents of its own (a Telegram, Viber or Messenger user
each); what follows says "update" for each platform's event.

Every update measured is the one the issue asks about: a resident whose conversation
waits for a reading (they pressed their account's button) sends a text message like
"10234"; the bot records it through `reading_submit` and answers with the consumption
and the cost. Each resident sends exactly one reading, so every update takes the path
of a resident's first reading of the month (a second one would supersede the first:
one more UPDATE) and needs a resident of its own. The warm-up's residents are seeded
first; after the warm-up, as many more as the measured phase can use (1.5 x the
warm-up's rate x S, at most N), so a slow server is not seeded for minutes in vain.

Seeding goes through the real write paths: accounts and meters through
`master_data_import`, the channel's users through `channel_identity_resolve`, the
links through `account_link`. The conversation state after "press the account
button" is written as `ConversationState` rows keyed by (channel, the user's id
there); the first resident presses the button through the webhook instead, and the
row the bot writes for them must be the row this script writes for everyone else.

Readings must land *in* the submission window, the normal path: harness.open_window adds
staff's calendar overrides when today (Kyiv) is outside it. Every submission reads the
override rows anyway (a handful of rows).

The load generator (bench/harness.py) is a child process, C clients (default 64); it
measures each request from sending to the whole response read. GET /healthz (SELECT 1)
on the same server with the same clients is the baseline. CPU time of each part (uvicorn, PostgreSQL, the load
generator, this process with the fake Bot API, anything else running) is read from
/proc, and PostgreSQL's own counters from pg_stat_database: on 2 cores every part
competes with the server under test.

Afterwards the database must hold one accepted reading, of the value sent, for each
update answered 200, and the fake must have refused no reply; the rate of readings
recorded is counted from the database, not from the 200s. If they disagree the
figures are still printed, and the script exits with status 1.

It needs PostgreSQL: DATABASE_URL's server (postgresql://...), or
postgresql://127.0.0.1:5432/postgres when DATABASE_URL is unset. A scratch database,
pokaznyk_bench_webhook, is created there and dropped after; the database DATABASE_URL
names is left alone. REDIS_URL is not passed to the server (/healthz is then SELECT 1
only; the bot path does not use Redis). DJANGO_SETTINGS_MODULE, when set, replaces
portal.settings (harness.portal_environment); --server-log keeps uvicorn's output.
Not part of the test suite.
"""

import argparse
import contextlib
import json
import math
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SCRATCH_DATABASE = "pokaznyk_bench_webhook"
ACCOUNT_BASE = 700_000_000  # account numbers 700000000, 700000001, ...; 710000000, ... for the 2nd channel
CHANNEL_ACCOUNTS = 10_000_000
TELEGRAM_ID_BASE = 5_100_000_000  # residents' Telegram ids (ids above 2**32 are real too)
UPDATE_ID_BASE = 900_000_001
AIM_RATE = 1_000
AIM_P99_MS = 50.0


@dataclass(frozen=True)
class Resident:
    external_id: str  # the user's id on the channel
    account_number: str
    meter_id: int
    reading: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--channels", default=",".join(CHANNELS), help=f"webhooks to measure, in order (default {','.join(CHANNELS)})"
    )
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests per phase (default 10,000)")
    parser.add_argument("--warmup", type=int, default=1_000, help="warm-up requests per phase (default 1,000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit of each phase (default 30)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--server-log", type=Path, help="keep uvicorn's output in this file (default: not kept)")
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 1 or args.clients < 1 or args.workers < 1 or args.seconds <= 0:
        parser.error("--requests, --warmup, --clients and --workers: at least 1; --seconds: above 0")
    names = [name.strip() for name in args.channels.split(",") if name.strip()]
    if not names or set(names) - set(CHANNELS) or len(set(names)) != len(names):
        parser.error(f"--channels: some of {', '.join(CHANNELS)}, each once, comma-separated")

    with contextlib.ExitStack() as stack:
        channels = [stack.enter_context(CHANNELS[name](index)) for index, name in enumerate(names)]
        database_url, tmp = stack.enter_context(harness.workspace(SCRATCH_DATABASE))
        env = harness.portal_environment(database_url, **channels_env(channels), **harness.WINDOW_ENV)
        harness.migrate(env)
        harness.django_setup(env)  # this process seeds and checks through Django too
        try:
            report = benchmark(args, channels, env, tmp)
        finally:
            from django.db import connections

            connections.close_all()
    print_report(report)


# --- The benchmark ------------------------------------------------------------------------------


@dataclass
class ChannelReport:
    channel: str
    seeding: str
    probe: str
    run: harness.Run
    verification: "Verification"


@dataclass
class Report:
    header: str
    window: str
    baseline: harness.Run
    channels: list[ChannelReport]


def benchmark(args: argparse.Namespace, channels: list, env: dict[str, str], tmp: Path) -> Report:
    window = harness.open_window("bench/webhook.py")
    print(window, flush=True)
    everyone = {}
    for channel in channels:
        everyone[channel.name] = residents = Residents(channel, tmp / f"{channel.name}.jsonl")
        residents.grow(args.warmup, waiting_from=1)  # the first one presses the button through the webhook
        print(residents.seeding[-1], flush=True)

    header = (
        f"{harness.server_versions()}, uvicorn {harness.uvicorn_flavour()} --workers {args.workers}, "
        f"{args.clients} clients, {os.cpu_count()} cores, DEBUG off, LOG_LEVEL {env.get('LOG_LEVEL') or 'info'}"
    )
    if env["DJANGO_SETTINGS_MODULE"] != "portal.settings":
        header += f", DJANGO_SETTINGS_MODULE={env['DJANGO_SETTINGS_MODULE']}"
    log = args.server_log or tmp / "uvicorn.log"
    load = harness.Load(warmup=args.warmup, requests=args.requests, seconds=args.seconds, clients=args.clients, tmp=tmp)

    reports = []
    # The sampler connects before the server starts: it has a connection when the server has taken them all.
    with (
        harness.ConnectionSampler(env["DATABASE_URL"]) as sampler,
        harness.uvicorn_server(env, args.workers, log) as (base_url, server_pids),
    ):
        healthz = harness.Target(harness.HEALTHZ, f"{base_url}/healthz")
        baseline = load.run(healthz, server_pids, sampler)
        for channel in channels:
            residents = everyone[channel.name]
            probe = press_account_button(base_url, channel, residents.all[0])
            print(probe, flush=True)

            def more_residents(warmup: harness.Phase, residents=residents) -> int:
                """As many residents as the measured phase can use: 1.5 x the warm-up's rate x the time limit."""
                rate = warmup.sent / warmup.seconds
                wanted = min(args.requests, math.ceil(rate * args.seconds * 1.5) + args.clients)
                residents.grow(args.warmup + wanted)
                print(residents.seeding[-1], flush=True)
                return wanted

            webhook = harness.Target(
                f"POST {channel.path} (a reading)",
                f"{base_url}{channel.path}",
                "POST",
                {**channel.headers(), "Content-Type": "application/json"},
                residents.updates,
                channel.signature(),
            )
            run = load.run(webhook, server_pids, sampler, more_residents)
            verification = verify(run, channel, residents.all, args.warmup, log)
            reports.append(ChannelReport(channel.name, "; ".join(residents.seeding), probe, run, verification))
    return Report(header, window, baseline, reports)


class Residents:
    """A channel's residents seeded so far, known to its fake, their readings' updates in a file."""

    def __init__(self, channel, updates: Path) -> None:
        self.channel = channel
        self.updates = updates
        self.all: list[Resident] = []
        self.seeding: list[str] = []

    def grow(self, total: int, *, waiting_from: int = 0) -> None:
        """Seed residents up to `total`, all but the first `waiting_from` of the new ones waiting for a reading."""
        first = len(self.all)
        if total <= first:
            return
        started = time.perf_counter()
        new = seed(self.channel, first, total)
        write_waiting_states(self.channel, new[waiting_from:])
        for resident in new:
            self.channel.add_recipient(resident)
        self.all += new
        harness.write_requests(
            self.updates,
            (
                {"body": json.dumps(self.channel.reading_event(r, n), ensure_ascii=False)}
                for n, r in enumerate(self.all)
            ),
        )
        self.seeding.append(
            f"{self.channel.name}: seeded {len(new):,} residents (account, meter, user, link, waiting state) "
            f"in {time.perf_counter() - started:.1f} s"
        )


def seed(channel, first: int, end: int) -> list[Resident]:
    """Residents first..end-1, each with an account and a one-zone meter, linked, through the write paths."""
    from django.db import transaction

    from accounts.identities import channel_identity_resolve
    from accounts.linking import account_link
    from accounts.masterdata import MasterDataRow, master_data_import
    from accounts.models import Meter

    starts = {i: 10_000 + (i * 37) % 50_000 for i in range(first, end)}
    rows = {
        i: MasterDataRow(
            account_number=str(ACCOUNT_BASE + channel.index * CHANNEL_ACCOUNTS + i),
            meter_serial=f"BW{channel.index}{i:07d}",
            zones=1,
            digits=6,
            address=f"м. Житомир, вул. Соборна, {1 + i % 200}",
            holder_name="Іваненко Марія Петрівна",
            initial_values=(starts[i],),
        )
        for i in range(first, end)
    }
    master_data_import(rows=rows.values())
    for batch in range(first, end, 1000):
        with transaction.atomic():  # one commit per thousand, not four per resident
            for i in range(batch, min(end, batch + 1000)):
                # The same profile the updates carry, as after the resident's first message.
                user = channel_identity_resolve(
                    channel=channel.name,
                    external_id=channel.external_id(i),
                    display_name="Марія",
                    username="",
                    language_code="uk",
                )
                account_link(user=user, account_number=rows[i].account_number, meter_serial=rows[i].meter_serial)
    numbers = [row.account_number for row in rows.values()]
    meters = dict(Meter.objects.filter(account__number__in=numbers).values_list("account__number", "id"))
    # 100 to 199 kWh since the meter's initial reading: an ordinary month, accepted without questions.
    return [
        Resident(channel.external_id(i), row.account_number, meters[row.account_number], starts[i] + 100 + i % 100)
        for i, row in rows.items()
    ]


def press_account_button(base_url: str, channel, resident: Resident) -> str:
    """One resident presses their account's button through the webhook: the bot's state row must be ours."""
    from botbridge.models import ConversationState

    status, _body = channel.press_account(base_url, resident)
    if status != 200:
        sys.exit(f"{channel.name}: pressing the account button through the webhook answered {status}")
    expected = waiting_state(channel, resident)
    actual = (
        ConversationState.objects.filter(channel=expected.channel, user_key=expected.user_key)
        .values_list("state", "data")
        .first()
    )
    if actual != (expected.state, expected.data):
        rows = list(ConversationState.objects.values_list("channel", "user_key", "state", "data"))
        sys.exit(f"the bot's state after the button is not what this script writes: expected {expected}, got {rows}")
    return (
        f"{channel.name} probe: pressing the account button through the webhook wrote {expected} = "
        f"{expected.state} {json.dumps(expected.data)}, the row seeded for everyone else; "
        f"replies {channel.reply_calls()}"
    )


def waiting_state(channel, resident: Resident):
    """The ConversationState row the bot keeps after "press the account button" for a one-meter account."""
    from botbridge.conversation import READING
    from botbridge.models import ConversationState

    return ConversationState(
        channel=channel.name,
        user_key=resident.external_id,
        state=READING,
        data={"meter_id": resident.meter_id, "zones": 1},
    )


def write_waiting_states(channel, residents: list[Resident]) -> None:
    from botbridge.models import ConversationState

    ConversationState.objects.bulk_create((waiting_state(channel, r) for r in residents), batch_size=2000)


@dataclass
class Verification:
    recorded: int  # readings recorded for the updates of the measured phase
    lines: list[str]
    failed: bool


def verify(run: harness.Run, channel, residents: list[Resident], warmup: int, log: Path) -> Verification:
    """The database and the channel's fake against what the clients were told."""
    from django.db.models import Count

    from botbridge.models import ConversationState, ProcessedEvent
    from readings.models import Reading

    ok = run.warmup.ok + run.measured.ok
    readings = Reading.objects.filter(channel=channel.name)
    statuses = dict(readings.values_list("status").annotate(n=Count("id")))
    created = sum(statuses.values())
    sent_values = {resident.meter_id: resident.reading for resident in residents}
    wrong_values = sum(
        1 for meter_id, value in readings.values_list("meter_id", "value1") if value != sent_values.get(meter_id)
    )
    measured = [resident.meter_id for resident in residents[warmup : warmup + run.measured.sent]]
    recorded = readings.filter(meter_id__in=measured).count()
    waiting = ConversationState.objects.filter(channel=channel.name, state="Submitting:reading").count()
    processed = ProcessedEvent.objects.filter(channel=channel.name).count() - 1  # the probe's button
    sent, refused = channel.replies()
    failed = created != ok or wrong_values or refused or set(statuses) - {"accepted"} or processed != ok
    shown = ", ".join(f"{n:,} {status}" for status, n in sorted(statuses.items())) or "none"
    lines = [
        f"database: {created:,} readings for {ok:,} updates answered 200 ({shown}); "
        f"{wrong_values} with a value other than the one sent; {processed:,} update ids claimed; "
        f"{waiting:,} of {len(residents):,} residents still wait for their reading — "
        + ("OK" if not failed else f"MISMATCH: {ok - created:,} readings lost though the webhook answered 200"),
        f"{channel.fake_name}: {sent:,} replies sent (1 to the probe), {len(refused)} refused"
        + (f": {Counter(refused).most_common(3)}" if refused else ""),
        f"server log: {harness.log_summary(log)}",
    ]
    return Verification(recorded, lines, bool(failed))


def print_report(report: Report) -> None:
    runs = [report.baseline, *(channel.run for channel in report.channels)]
    print()
    print(f"== webhook bench: {report.header}")
    print(report.window)
    for channel in report.channels:
        print(channel.seeding)
        print(channel.probe)
    harness.print_runs(runs)
    base_rate = report.baseline.measured.ok / report.baseline.measured.seconds
    failed = []
    for channel in report.channels:
        bot, verification = channel.run, channel.verification
        recorded = verification.recorded / bot.measured.seconds
        versus = f" = {recorded / base_rate * 100:.0f}% of the /healthz rate" if base_rate else ""
        p99 = bot.measured.percentile(99)
        met = recorded >= AIM_RATE and p99 < AIM_P99_MS and not bot.measured.errors and not verification.failed
        print(
            f"{channel.channel}: readings recorded in the measured phase: {verification.recorded:,} of "
            f"{bot.measured.ok:,} updates answered 200 = {recorded:,.0f} readings/s{versus}; "
            f"aim (>= {AIM_RATE:,}/s with p99 < {AIM_P99_MS:.0f} ms, none lost) {'met' if met else 'NOT met'} "
            f"(p99 {p99:.1f} ms)"
        )
        for line in verification.lines:
            print(f"  {line}")
        if verification.failed:
            failed.append(channel.channel)
    if failed:
        sys.exit(f"the database or the fake disagrees with the responses for {', '.join(failed)}: see above")


# --- The channels -------------------------------------------------------------------------------------


class TelegramBench:
    """Telegram: its fake Bot API, a secret token in a header, updates as botbridge/tests/updates.py builds them."""

    name, path, fake_name = "telegram", "/telegram/webhook/", "fake Bot API"

    def __init__(self, index: int) -> None:
        self.index = index
        self.secret = secrets.token_urlsafe(24)  # 32 characters

    def __enter__(self) -> "TelegramBench":
        from botbridge.tests.fake_bot_api import FakeBotAPI

        self.fake = FakeBotAPI().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fake.__exit__(*exc_info)

    def env(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.fake.token,
            "TELEGRAM_API_BASE": self.fake.base_url,
            "TELEGRAM_WEBHOOK_SECRET": self.secret,
        }

    def external_id(self, i: int) -> str:
        return str(TELEGRAM_ID_BASE + i)

    def add_recipient(self, resident: Resident) -> None:
        self.fake.add_chat(int(resident.external_id))

    def headers(self) -> dict[str, str]:
        return {"X-Telegram-Bot-Api-Secret-Token": self.secret}

    def signature(self) -> None:
        return None

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import updates

        return updates.message(str(resident.reading), user_id=int(resident.external_id), update_id=UPDATE_ID_BASE + n)

    def press_account(self, base_url: str, resident: Resident) -> tuple[int, bytes]:
        from botbridge.channels.telegram.keyboards import AccountAction
        from botbridge.tests import updates

        update = updates.callback(
            AccountAction(action="open", number=resident.account_number).pack(),
            user_id=int(resident.external_id),
            message_id=1,
            message_text="Оберіть особовий рахунок:",
            update_id=UPDATE_ID_BASE - 1,
        )
        self.fake.register_update(update)  # Telegram knows the bot's message the button is under
        return harness.post_json(f"{base_url}{self.path}", update, self.headers())

    def reply_calls(self) -> list[str]:
        return [call.method for call in self.fake.calls]

    def replies(self) -> tuple[int, list[str]]:
        """Replies sent, and the refused calls' (method, reason)."""
        calls = self.fake.calls
        refused = [f"{call.method}: {call.response.get('description')}" for call in calls if call.status != 200]
        return len(self.fake.calls_to("sendMessage")), refused


class ViberBench:
    """Viber: the fake Viber, bodies signed with the auth token, a tap on the account's button as Viber sends it."""

    name, path, fake_name = "viber", "/viber/webhook/", "fake Viber"

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> "ViberBench":
        from botbridge.tests.fake_viber import FakeViber

        self.fake = FakeViber().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fake.__exit__(*exc_info)

    def env(self) -> dict[str, str]:
        return {"VIBER_AUTH_TOKEN": self.fake.token, "VIBER_API_BASE": self.fake.base_url}

    def external_id(self, i: int) -> str:
        return f"BenchViber{i:08d}Resident=="  # Viber's ids are opaque base64-like strings

    def add_recipient(self, resident: Resident) -> None:
        self.fake.add_user(resident.external_id)

    def headers(self) -> dict[str, str]:
        return {}

    def signature(self) -> harness.Signature:
        return harness.Signature("X-Viber-Content-Signature", self.fake.token)

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import fake_viber

        return fake_viber.message_callback(resident.external_id, str(resident.reading), token=UPDATE_ID_BASE + n)

    def press_account(self, base_url: str, resident: Resident) -> tuple[int, bytes]:
        from botbridge.channels.viber.keyboards import action_body
        from botbridge.conversation import Option, menus
        from botbridge.tests import fake_viber

        tap = action_body(Option(resident.account_number, menus.OPEN, resident.account_number))
        callback = fake_viber.message_callback(resident.external_id, tap, token=UPDATE_ID_BASE - 1)
        return harness.post_json(f"{base_url}{self.path}", callback, self.signature().of(json.dumps(callback).encode()))

    def reply_calls(self) -> list[str]:
        return [call.method for call in self.fake.calls]

    def replies(self) -> tuple[int, list[str]]:
        refused = [f"{call.method}: {call.response.get('status_message')}" for call in self.fake.calls if call.status]
        return len(self.fake.calls_to("send_message")), refused


class MessengerBench:
    """Messenger: the fake Graph API, bodies signed with the app secret, a quick-reply tap on the account."""

    name, path, fake_name = "messenger", "/messenger/webhook/", "fake Graph API"

    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> "MessengerBench":
        from botbridge.tests.fake_graph import FakeGraphAPI

        self.fake = FakeGraphAPI().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.fake.__exit__(*exc_info)

    def env(self) -> dict[str, str]:
        from botbridge.tests import fake_graph

        return {
            "MESSENGER_PAGE_ACCESS_TOKEN": self.fake.token,
            "MESSENGER_APP_SECRET": fake_graph.APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": fake_graph.VERIFY_TOKEN,
            "MESSENGER_API_BASE": self.fake.base_url,
        }

    def external_id(self, i: int) -> str:
        return str(7_100_000_000_000_000 + i)  # a page-scoped id (PSID)

    def add_recipient(self, resident: Resident) -> None:
        self.fake.wrote(resident.external_id)  # inside Messenger's 24 hours: replies are allowed

    def headers(self) -> dict[str, str]:
        return {}

    def signature(self) -> harness.Signature:
        from botbridge.tests import fake_graph

        return harness.Signature("X-Hub-Signature-256", fake_graph.APP_SECRET, "sha256=")

    def reading_event(self, resident: Resident, n: int) -> dict:
        from botbridge.tests import fake_graph

        return fake_graph.body([fake_graph.message(resident.external_id, str(resident.reading))])

    def press_account(self, base_url: str, resident: Resident) -> tuple[int, bytes]:
        from botbridge.channels.messenger.intake import option_payload
        from botbridge.conversation import menus
        from botbridge.tests import fake_graph

        payload = option_payload(menus.OPEN, resident.account_number)
        tap = fake_graph.message(resident.external_id, resident.account_number, quick_reply=payload)
        callback = fake_graph.body([tap])
        return harness.post_json(f"{base_url}{self.path}", callback, self.signature().of(json.dumps(callback).encode()))

    def reply_calls(self) -> list[str]:
        return [call.edge for call in self.fake.calls]

    def replies(self) -> tuple[int, list[str]]:
        refused = [f"{call.edge}: {call.response.get('error', {}).get('message')}" for call in self.fake.refused()]
        return len(self.fake.sent()), refused


CHANNELS = {"telegram": TelegramBench, "viber": ViberBench, "messenger": MessengerBench}


def channels_env(channels: list) -> dict[str, str]:
    env: dict[str, str] = {}
    for channel in channels:
        env |= channel.env()
    return env


if __name__ == "__main__":
    main()
