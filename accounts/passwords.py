"""Django's hook on every new password, used to end what the old one opened.

`AbstractBaseUser.save()` calls `password_validation.password_changed()` after any
`set_password()`, and that calls `password_changed(password, user)` on each validator
in AUTH_PASSWORD_VALIDATORS. Hooking there catches every path at once: the cabinet's
reset, admin's password change, `manage.py changepassword`, a shell, and any path
added later; signals or a call in each view would each miss one of them some day.
Hash upgrades at sign-in are not password changes, and Django does not call the hook
for them.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _


class PasswordChangedHook:
    """Not a rule on passwords: it refuses none, and after a change calls the service."""

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        return None

    def password_changed(self, password: str, user: AbstractBaseUser) -> None:
        from accounts.users import user_password_changed  # it imports the models; this loads with the settings

        user_password_changed(user=user)

    def get_help_text(self) -> str:
        # Shown under the password fields with the rules: it tells the user what a change does.
        return _("A new password revokes your API tokens.")
