"""README.md's commands work as written: every `manage.py` command it names exists and takes the
options written there, its shell lines run manage.py the documented way, and every file, make
target, script and benchmark option it points to is in this repository."""

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import CommandError, get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGES = ("accounts", "readings", "botbridge", "portal")
# Placeholders the README writes in synopses, and a value of the kind each stands for.
PLACEHOLDERS = {
    "YYYY-MM-DD": "2026-11-24",
    "FILE.csv": "docs/master-data-example.csv",
    "N": "5",
    "NAME=DOTTED.PATH": "readings=botbridge.conversation.phone.call",
    "…": None,  # "manage.py …": any command, not one to check
}
# How README runs manage.py on a shell line, after any VAR=value of its own: the project's python.
SHELL_FORM = re.compile(r"\s*(?:[A-Z_]+=(?:\$\((?:'[^']*'|[^()'])*\)|\S+)\s+)*\.venv/bin/python manage\.py ")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def inline_code() -> list[str]:
    prose = re.sub(r"^```.*?^```", "", README, flags=re.DOTALL | re.MULTILINE)
    return re.findall(r"`([^`\n]+)`", prose)


def manage_py_uses() -> list[str]:
    """Every `manage.py ARGS` the README writes, in code blocks and inline, up to a comment or the line's end,
    and every inline synopsis of a command (`window [YYYY-MM-DD] [--json]`)."""
    texts = [line for block in code_blocks(r"\w*") for line in block.splitlines()] + inline_code()
    uses = []
    for text in texts:
        for match in re.finditer(r"manage\.py ([^#`;|&)]*)", text):
            uses.append(match.group(1).strip())
    commands = get_commands()
    uses += [code for code in inline_code() if code.split()[0] in commands and " " in code]
    return uses


def parsed(use: str) -> tuple[str, list[str]]:
    name, *words = shlex.split(use.replace("[", " ").replace("]", " "))
    return name, [PLACEHOLDERS.get(word, word) for word in words]


def test_the_readme_names_the_commands_a_reader_runs():
    names = {parsed(use)[0] for use in manage_py_uses()}
    assert {"window", "import_accounts", "seed_demo", "set_webhook", "runagi", "ivr_prompts"} <= names


@pytest.mark.parametrize("use", sorted(set(manage_py_uses())))
def test_every_manage_py_command_in_the_readme_exists_and_takes_its_options(use):
    name, args = parsed(use)
    if name == "…" or None in args:
        return
    commands = get_commands()
    assert name in commands, f"README runs `manage.py {name}`, which is no command of this project"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(args)
    except (CommandError, SystemExit):  # how a command's parser says no
        pytest.fail(f"`manage.py {use}` in README: {name} does not accept {args}")


def test_every_shell_line_runs_manage_py_with_the_projects_python():
    # A command continued with a backslash is one command: join it before looking.
    commands = [line for block in code_blocks("sh") for line in block.replace("\\\n", " ").splitlines()]
    commands = [line for line in commands if "manage.py " in line.split("#")[0]]
    commands += [code for code in inline_code() if re.match(r"\S*python\S* manage\.py", code)]
    assert len(commands) > 5
    for command in commands:
        assert SHELL_FORM.match(command), (
            f"README runs {command!r}: write `DJANGO_DEBUG=1 .venv/bin/python manage.py …` (development) "
            "or `.venv/bin/python manage.py …` (a server, in the portal's environment)"
        )


def test_every_make_target_in_the_readme_is_in_the_makefile():
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    code = "\n".join(code_blocks("sh") + inline_code())
    named = set(re.findall(r"\bmake (\w+)", code))
    assert named and named <= targets, f"README names make targets the Makefile lacks: {named - targets}"


def test_every_file_the_readme_points_to_is_in_the_repository():
    linked = [target for target in re.findall(r"\]\(([^)#\s]+)", README) if not re.match(r"\w+:", target)]
    spans = [
        code
        for code in inline_code()
        if re.fullmatch(r"\.?[a-z][\w.-]*/[\w./*-]*", code) and not code.startswith(("artifacts/", "pokaznyk/"))
    ]
    assert "docs/domain.md" in linked
    for path in linked + spans:
        places = [ROOT, *(ROOT / package for package in PACKAGES)]
        found = any(list(place.glob(path.rstrip("/"))) for place in places)
        assert found, f"README points to {path}, which is not in the repository"


def test_every_script_and_benchmark_option_in_the_readme_exists():
    runs = re.findall(r"((?:bench|scripts)/[\w-]+(?:\.py)?)((?: --[\w-]+(?: \d+)?)*)", README)
    assert runs
    for script, options in runs:
        source = (ROOT / script).read_text()
        for option in re.findall(r"--[\w-]+", options):
            assert f'"{option}"' in source, f"README runs {script} {option}, which it does not take"
