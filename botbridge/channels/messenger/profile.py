"""The Page's Messenger profile: the Get Started button, the greeting and the persistent menu.

Locales (https://developers.facebook.com/docs/messenger-platform/messenger-profile/supported-locales):
`default` is shown to everyone whose locale has no entry of its own, and must be present; the
portal's default language (Ukrainian) goes there, English under Messenger's English locales.
Menu items are postbacks whose payloads are the engine's commands.
"""

from django.utils import translation

from botbridge import texts

GET_STARTED = "start"
MAX_MENU_TITLE = 30
MAX_GREETING = 160
# Messenger's locales that read English; everyone else gets the default (Ukrainian).
ENGLISH_LOCALES = ("en_US", "en_GB")
MENU = (
    (texts.MENU_ADD, "add"),
    (texts.MENU_ACCOUNTS, "accounts"),
    (texts.MENU_HELP, "help"),
    (texts.MENU_SIGNIN, "login"),
)


def _menu(locale: str) -> dict:
    return {
        "locale": locale,
        "composer_input_disabled": False,  # readings are typed
        "call_to_actions": [{"type": "postback", "title": str(label), "payload": command} for label, command in MENU],
    }


def profile() -> dict:
    """The body of `POST me/messenger_profile`."""
    locales = [("default", "uk"), *((locale, "en") for locale in ENGLISH_LOCALES)]
    greeting, menu = [], []
    for locale, language in locales:
        with translation.override(language):
            greeting.append({"locale": locale, "text": texts.messenger_greeting()})
            menu.append(_menu(locale))
    return {"get_started": {"payload": GET_STARTED}, "greeting": greeting, "persistent_menu": menu}


def too_long(body: dict) -> list[str]:
    """What in the profile exceeds Messenger's limits (none, unless a translation grows)."""
    problems = [
        f"greeting ({item['locale']}) has {len(item['text'])} characters, more than {MAX_GREETING}"
        for item in body["greeting"]
        if len(item["text"]) > MAX_GREETING
    ]
    problems += [
        f"menu item {button['title']!r} ({menu['locale']}) is longer than {MAX_MENU_TITLE} characters"
        for menu in body["persistent_menu"]
        for button in menu["call_to_actions"]
        if len(button["title"]) > MAX_MENU_TITLE
    ]
    return problems
