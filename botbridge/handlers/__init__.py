"""The bot's handlers, one module per feature, in the order they are tried."""

from aiogram import Router

from botbridge.handlers import accounts, cabinet, linking, menu, other, submission


def routers() -> list[Router]:
    # Elsewhere first (groups, channels), then the menu and the cabinet link, which work from any step.
    return [
        other.elsewhere,
        menu.router,
        cabinet.router,
        linking.router,
        accounts.router,
        submission.router,
        other.router,
    ]
