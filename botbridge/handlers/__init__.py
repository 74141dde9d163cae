"""The bot's handlers, one module per feature, in the order they are tried."""

from aiogram import Router

from botbridge.handlers import accounts, linking, menu, other, submission


def routers() -> list[Router]:
    # Elsewhere first (groups, channels), then the menu, which works from any step.
    return [other.elsewhere, menu.router, linking.router, accounts.router, submission.router, other.router]
