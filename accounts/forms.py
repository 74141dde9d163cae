"""The cabinet's account forms: shape checks only; the services own the rules."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.login_attempts import signin_locked
from accounts.models import User
from accounts.numbers import MAX_SERIAL_LENGTH


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ. Type the same password twice."))
        elif first:
            email = data.get("email", "")
            try:
                password_validation.validate_password(first, User(username=email, email=email))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class LockOutMessage:
    """For a sign-in form: a locked-out attempt says so, and when to try again, instead of
    "wrong password" (axes refused it before the password was even checked)."""

    def get_invalid_login_error(self) -> forms.ValidationError:
        if getattr(self.request, "axes_locked_out", False):
            refusal = signin_locked(self.request, self.cleaned_data.get("username"))
            return forms.ValidationError(refusal.message, code=refusal.code)
        return super().get_invalid_login_error()


class StaffSignInForm(LockOutMessage, AdminAuthenticationForm):
    """Admin's login form, with the lock-out message."""


class SignInForm(LockOutMessage, AuthenticationForm):
    """Django's sign-in, with the email as the login."""

    username = forms.CharField(
        label=_("Email"), max_length=254, widget=forms.TextInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def clean_username(self) -> str:
        login = self.cleaned_data["username"].strip()
        # Residents sign up with their email, stored in lower case; staff usernames stay as typed.
        return login.lower() if "@" in login else login


class LinkForm(forms.Form):
    account_number = forms.CharField(
        label=_("Personal account number"),
        max_length=64,
        help_text=_("The digits from your electricity bill."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    meter_serial = forms.CharField(
        label=_("Meter serial number"),
        max_length=MAX_SERIAL_LENGTH + 16,  # room for the spaces a phone keyboard adds
        help_text=_("Printed on the meter itself (the factory number)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class EmailForm(forms.Form):
    """An address to add or change (Settings); the password only when it is the login."""

    email = forms.EmailField(
        label=_("Email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Current password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("You sign in with your address: a new one needs your password."),
    )
