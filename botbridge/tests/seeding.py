"""Many bot users at once, for the reminder tests that need a thousand and the bench's hundred thousand."""

from collections.abc import Sequence

from django.contrib.auth.hashers import make_password

from accounts.models import AccountLink, ChannelIdentity, Meter, PersonalAccount, User


def bot_users_create(chat_ids: Sequence[int], *, english_every: int = 0) -> None:
    """Bot users with one linked single-zone account each (reminders on), in five bulk inserts.

    `english_every=10` makes every tenth user's Telegram English; 0 keeps all Ukrainian.
    """
    password = make_password(None)
    users = User.objects.bulk_create(User(username=f"tg{chat_id}", password=password) for chat_id in chat_ids)
    ChannelIdentity.objects.bulk_create(
        ChannelIdentity(
            user=user,
            channel="telegram",
            external_id=str(chat_id),
            language_code="en" if english_every and chat_id % english_every == 0 else "uk",
        )
        for user, chat_id in zip(users, chat_ids, strict=True)
    )
    accounts = PersonalAccount.objects.bulk_create(PersonalAccount(number=f"{100000000 + c}") for c in chat_ids)
    Meter.objects.bulk_create(
        Meter(account=account, serial=f"SN{account.number}", zones=1, digits=6, initial_values=[1000])
        for account in accounts
    )
    AccountLink.objects.bulk_create(
        AccountLink(user=user, account=account) for user, account in zip(users, accounts, strict=True)
    )
