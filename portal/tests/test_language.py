import string

import pytest
from django.utils import translation

from accounts import errors as account_errors
from botbridge import errors as bot_errors
from readings import errors as reading_errors
from readings.models import Reading


def domain_errors() -> list[type[account_errors.DomainError]]:
    found = []
    for module in (account_errors, reading_errors, bot_errors):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, account_errors.DomainError):
                found.append(value)
    return found


@pytest.mark.parametrize("error", domain_errors(), ids=lambda error: error.__name__)
def test_every_refusal_has_a_ukrainian_and_an_english_text(error):
    with translation.override("en"):
        english = str(error.template)
    with translation.override("uk"):
        ukrainian = str(error.template)
    assert ukrainian != english
    assert any("а" <= ch <= "я" or ch in "іїєґ" for ch in ukrainian.lower())
    # Every placeholder of the English text is filled in the Ukrainian one too.
    assert sorted(_placeholders(ukrainian)) == sorted(_placeholders(english))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_ukrainian_is_the_default_language():
    assert translation.get_language() == "uk"
    assert str(Reading.Status.CONTROL.label) == "контрольні показання поза вікном"
