"""The periodic tasks: every schedule names a real task, and the pruning keeps what is still needed."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import LinkAttempt, SignInLink, TelegramLoginUse
from accounts.signin_links import signin_link_issue
from accounts.tasks import accounts_prune
from accounts.tests.factories import UserFactory
from botbridge.models import ProcessedEvent
from botbridge.services import event_claim
from botbridge.tasks import processed_events_prune
from conftest import kyiv
from portal.celery import app
from readings.models import IdempotencyKey
from readings.tasks import idempotency_keys_prune

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", sorted(app.conf.beat_schedule))
def test_every_scheduled_task_exists(name):
    app.loader.import_default_modules()
    assert app.conf.beat_schedule[name]["task"] in app.tasks


def test_pruning_forgets_old_bookkeeping_and_keeps_recent(settings):
    user = UserFactory()
    with time_machine.travel(kyiv(2026, 11, 1), tick=False):
        event_claim(channel="telegram", key="1:1")
        IdempotencyKey.objects.create(user=user, key="old", request_hash="x")
        signin_link_issue(user=user)
        LinkAttempt.objects.create(user=user, account_number="1", attempted_at=timezone.now())
        TelegramLoginUse.objects.create(hash="1" * 64, signed_at=timezone.now())
        AuthToken.objects.create(user=user, expiry=dt.timedelta(days=1))
    with time_machine.travel(kyiv(2026, 11, 24), tick=False):
        event_claim(channel="viber", key="5491124584214")
        IdempotencyKey.objects.create(user=user, key="new", request_hash="x")
        signin_link_issue(user=user)
        LinkAttempt.objects.create(user=user, account_number="2", attempted_at=timezone.now())
        TelegramLoginUse.objects.create(hash="2" * 64, signed_at=timezone.now())
        AuthToken.objects.create(user=user, expiry=dt.timedelta(days=1))
        assert processed_events_prune.apply().get() == 1
        assert idempotency_keys_prune.apply().get() == 1
        assert accounts_prune.apply().get() == {
            "signin_links": 1,
            "link_attempts": 1,
            "telegram_logins": 1,
            "api_tokens": 1,
        }
    assert list(ProcessedEvent.objects.values_list("key", flat=True)) == ["5491124584214"]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert SignInLink.objects.count() == 1
    assert list(LinkAttempt.objects.values_list("account_number", flat=True)) == ["2"]
    assert list(TelegramLoginUse.objects.values_list("hash", flat=True)) == ["2" * 64]
    assert AuthToken.objects.count() == 1
