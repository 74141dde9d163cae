"""The cabinet's pages for signing in, linking accounts and settings.

Views check shape with a form, call one service and render; the rules and their
messages come from the services, the same words the bot and the API use.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from accounts import emails, linking, selectors, signin_links, users
from accounts.errors import DomainError, EmailPasswordWrong, NotLinked, SignUpThrottled
from accounts.forms import EmailForm, LinkForm, SignInForm, SignUpForm
from accounts.models import AccountLink, ChannelIdentity, User
from accounts.reminder_channels import EMAIL
from accounts.reminder_channels import reminder_channel_set as reminder_channel_set_service
from accounts.telegram_login import telegram_login_redeem, telegram_login_verify
from accounts.throttles import signup_throttle_check
from accounts.tokens import api_token_revoke, api_tokens_revoke
from botbridge.routes import reminder_routes
from portal.clientip import client_ip

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        try:
            signup_throttle_check(request)
        except SignUpThrottled as refusal:
            form.is_valid()  # keeps what was typed on the page, with the refusal above it
            form.add_error(None, refusal.message)
            response = render(request, "cabinet/auth/signup.html", {"form": form, "nav": "signup"})
            return refused(response, refusal)
    if form.is_valid():
        try:
            user = users.user_register(email=form.cleaned_data["email"], password=form.cleaned_data["password1"])
        except DomainError as refusal:
            form.add_error("email", refusal.message)
        else:
            login(request, user, backend=MODEL_BACKEND)
            emails.user_language_set(user=user, language=request.LANGUAGE_CODE)
            messages.success(request, _("Welcome! Now add your personal account."))
            confirmation_send(request, user)
            return redirect("account_link")
    return render(request, "cabinet/auth/signup.html", {"form": form, "nav": "signup"})


class SignInView(auth_views.LoginView):
    template_name = "cabinet/auth/signin.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(telegram_widget=telegram_widget(self.request), nav="signin", **kwargs)


def telegram_widget(request: HttpRequest) -> str:
    """Telegram's Login Widget: the one outside script, only when a bot is configured."""
    if not (settings.TELEGRAM_BOT_USERNAME and settings.TELEGRAM_BOT_TOKEN):
        return ""
    callback = request.build_absolute_uri(reverse("signin_telegram"))
    context = {"bot_username": settings.TELEGRAM_BOT_USERNAME, "callback": callback}
    return render_to_string("cabinet/auth/telegram_widget.html", context)


@require_GET
def signin_telegram(request: HttpRequest) -> HttpResponse:
    """Where Telegram's widget sends the resident back, with its signed answer in the query."""
    return _sign_in(request, lambda: telegram_login_redeem(proof=telegram_login_verify(request.GET)))


@require_http_methods(["GET", "POST"])
def signin_link(request: HttpRequest, token: str) -> HttpResponse:
    """The bot's one-time link. GET only asks to press a button: link previews must not use it up."""
    if request.method == "GET":
        return render(request, "cabinet/auth/signin_link.html")
    return _sign_in(request, lambda: signin_links.signin_link_redeem(token=token))


def _sign_in(request: HttpRequest, redeem: Callable[[], User]) -> HttpResponse:
    """Sign in the user a one-time proof names (`redeem` checks and uses it up), or say why not."""
    try:
        user = redeem()
    except DomainError as refusal:
        return refused(render(request, "cabinet/auth/signin_refused.html", {"refusal": refusal}), refusal)
    login(request, user, backend=MODEL_BACKEND)
    return redirect("dashboard")


@login_required
@require_http_methods(["GET", "POST"])
def account_link(request: HttpRequest) -> HttpResponse:
    form = LinkForm(request.POST or None)
    status, refusal = 200, None
    if form.is_valid():
        try:
            link = linking.account_link(user=request.user, ip_address=client_ip(request), **form.cleaned_data)
        except DomainError as error:
            refusal = error
            form.add_error(None, refusal.message)
        else:
            messages.success(request, _("Account {number} is added.").format(number=link.account.number))
            return redirect("account", number=link.account.number)
    elif form.is_bound:
        status = 400
    response = render(request, "cabinet/link.html", {"form": form, "nav": "link"}, status=status)
    return refused(response, refusal)


def refused(response: HttpResponse, refusal: DomainError | None) -> HttpResponse:
    """The page that shows a refusal, with the status and headers the API gives the same refusal."""
    if refusal is not None:
        response.status_code = refusal.http_status
        for name, value in refusal.http_headers.items():
            response[name] = value
    return response


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return _settings(request, EmailForm(), status=200)


def _settings(request: HttpRequest, email_form: EmailForm, *, status: int) -> HttpResponse:
    context = {
        "links": selectors.account_links(user=request.user),
        "reminders": reminder_routes(user=request.user),
        "email_form": email_form,
        "email_is_login": emails.email_is_login(request.user),
        "nav": "settings",
    }
    return render(request, "cabinet/settings.html", context, status=status)


@login_required
@require_POST
def email_set(request: HttpRequest) -> HttpResponse:
    """Add an address, or change it; a new address gets its confirmation link at once."""
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _settings(request, form, status=400)
    try:
        emails.user_email_set(user=request.user, language=request.LANGUAGE_CODE, **form.cleaned_data)
    except DomainError as refusal:
        form.add_error("password" if isinstance(refusal, EmailPasswordWrong) else "email", refusal.message)
        return _settings(request, form, status=400)
    if request.user.email_verified_at is None:
        confirmation_send(request, request.user)
    return redirect(reverse("settings") + "#reminders")


@login_required
@require_POST
def email_resend(request: HttpRequest) -> HttpResponse:
    """Send the confirmation link again (from Settings or the dashboard), a minute apart at most."""
    confirmation_send(request, request.user)
    back = "dashboard" if request.POST.get("next") == "dashboard" else "settings"
    return redirect(reverse(back) + ("#reminders" if back == "settings" else ""))


def confirmation_send(request: HttpRequest, user: User) -> None:
    """Send the link that confirms the user's address, and say on the next page what happened."""
    try:
        emails.email_confirmation_send(user=user)
    except DomainError as refusal:
        messages.warning(request, refusal.message)
    else:
        messages.info(
            request,
            _(
                "We sent a link to {email}. Open it to confirm the address: window reminders come by email "
                "only to a confirmed address."
            ).format(email=user.email),
        )


@require_GET
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the confirmation email: it works in any browser, signed in or not."""
    try:
        user = emails.email_confirm(token=token)
    except DomainError as refusal:
        return render(request, "cabinet/email_confirm.html", {"refusal": refusal}, status=400)
    context = {"confirmed": user, "signed_in": request.user.is_authenticated and request.user.pk == user.pk}
    return render(request, "cabinet/email_confirm.html", context)


@login_required
@require_POST
def reminder_channel_set(request: HttpRequest, channel: str) -> HttpResponse:
    enabled = request.POST.get("enabled") == "1"
    try:
        reminder_channel_set_service(user=request.user, channel=channel, enabled=enabled)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        label = _("email") if channel == EMAIL else ChannelIdentity.Channel(channel).label
        if enabled:
            messages.success(request, _("Reminders ({channel}): on.").format(channel=label))
        else:
            messages.success(request, _("Reminders ({channel}): off.").format(channel=label))
    return redirect(reverse("settings") + "#reminders")


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch, and for a signed-in resident a note of the choice: their emails
    are written in it."""
    response = set_language(request)
    if request.user.is_authenticated:
        emails.user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The resident's API tokens: when made, until when, their first characters; revoke one or all."""
    if request.method == "POST":
        if request.POST.get("all") == "1":
            api_tokens_revoke(user=request.user)
            messages.success(request, _("All your API tokens are revoked."))
        elif api_token_revoke(user=request.user, digest=request.POST.get("token", "")):
            messages.success(request, _("The token is revoked: programs that used it are signed out."))
        return redirect("api_tokens")
    tokens = selectors.api_tokens(user=request.user)
    return render(request, "cabinet/api_tokens.html", {"tokens": tokens, "nav": "settings"})


@login_required
@require_POST
def reminders_set(request: HttpRequest, number: str) -> HttpResponse:
    enabled = request.POST.get("enabled") == "1"
    try:
        linking.account_link_reminders_set(user=request.user, account_number=number, enabled=enabled)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        if enabled:
            messages.success(request, _("Reminders for account {number} are on.").format(number=number))
        else:
            messages.success(request, _("Reminders for account {number} are off.").format(number=number))
    return redirect("settings")


@login_required
@require_http_methods(["GET", "POST"])
def account_unlink(request: HttpRequest, number: str) -> HttpResponse:
    link = own_link(request.user, number)
    if request.method == "GET":
        return render(request, "cabinet/unlink.html", {"account": link.account})
    linking.account_unlink(user=request.user, account_number=number)
    messages.success(request, _("Account {number} is removed from your list.").format(number=number))
    return redirect("dashboard")


def own_link(user: User, number: str) -> AccountLink:
    """The user's link to account `number`; anyone else's account is a plain 404."""
    try:
        return selectors.account_link_get(user=user, number=number)
    except NotLinked:
        raise Http404(_("You have no account {number} in your list.").format(number=number[:20])) from None
