"""Celery tasks of accounts; the schedule is in portal/celery.py."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts import linking, signin_links, telegram_login, tokens


@shared_task
def accounts_prune() -> dict[str, int]:
    now = timezone.now()
    return {
        "signin_links": signin_links.signin_links_prune(before=now - dt.timedelta(days=1)),
        # The attempt limit looks back LINK_ATTEMPTS_PERIOD_SECONDS; nothing older counts.
        "link_attempts": linking.link_attempts_prune(
            before=now - dt.timedelta(seconds=settings.LINK_ATTEMPTS_PERIOD_SECONDS, days=1)
        ),
        # A widget answer older than TELEGRAM_LOGIN_MAX_AGE_SECONDS is refused as stale before
        # its use is looked up; the day's margin covers a clock that is a little behind.
        "telegram_logins": telegram_login.telegram_logins_prune(
            before=now - dt.timedelta(seconds=settings.TELEGRAM_LOGIN_MAX_AGE_SECONDS, days=1)
        ),
        "api_tokens": tokens.api_tokens_prune(now=now),
    }
