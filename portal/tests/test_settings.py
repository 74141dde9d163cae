"""Settings come from the environment and fail loudly: checked in a child process, as deployment runs them."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k7#Vq2!pR9zL0x$Wm4&Tn8^Bc6*Hd1(Jf5)Gs3@Ya0%Ue7+Io2=Ka9~Lb4-Mc8",
    "DJANGO_ALLOWED_HOSTS": "pokaznyk.example.ua",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "READINGS_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": f"sqlite:///{Path(tempfile.gettempdir()) / 'pokaznyk-settings.sqlite3'}", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_debug_off_and_secrets_set():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_a_secret_key_refuses_to_start():
    result = manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="pokaznyk.example.ua")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG='maybe'"),
        ("READINGS_WINDOW_DAYS", "weekly", "expected one of working, calendar"),
        ("READINGS_WINDOW_BEFORE", "two", "READINGS_WINDOW_BEFORE='two': expected a whole number"),
        ("READINGS_WINDOW_AFTER", "40", "expected a number from 0 to 10"),
        ("ACCOUNT_NUMBER_LENGTH", "12-6", "expected MIN-MAX"),
        ("DATABASE_URL", "mysq://nowhere", "DATABASE_URL is not a usable database URL"),
        ("REDIS_URL", "127.0.0.1:6379", "expected redis://host:port/db"),
        ("TARIFF_UAH_PER_KWH", "four", "TARIFF_UAH_PER_KWH='four'"),
        ("DJANGO_SECRET_KEY", "x", "DJANGO_SECRET_KEY is too weak"),
        ("DJANGO_SECRET_KEY", "a" * 60, "DJANGO_SECRET_KEY is too weak"),
        ("TRUSTED_PROXIES", "the load balancer", "TRUSTED_PROXIES='the load balancer': expected a count"),
        ("TRUSTED_PROXIES", "11", "expected a number from 0 to 10"),
        ("EMAIL_HOST", "smtp.example.ua", "EMAIL_HOST is set: set PORTAL_URL too"),
        ("EMAIL_RATE", "0", "EMAIL_RATE=0: expected a number from 1 to 1000"),
        ("EMAIL_CONFIRM_MAX_AGE_DAYS", "a week", "EMAIL_CONFIRM_MAX_AGE_DAYS='a week': expected a whole number"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value, says):
    result = manage("check", **{**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert "Pokaznyk is not configured" in result.stderr
    assert says in result.stderr


def test_migrations_match_the_models():
    result = manage("makemigrations", "--check", "--dry-run", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
