import re

from django.conf import settings
from django.http import HttpRequest


def company(request: HttpRequest) -> dict:
    """The contact centre's numbers, shown at the foot of every cabinet page, with their tel: links."""
    return {"contacts": [(phone, "tel:" + re.sub(r"[^0-9+]", "", phone)) for phone in settings.COMPANY_CONTACTS]}
