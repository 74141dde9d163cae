# The two set-up commands: `make run` and `make test` (README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Development defaults; production sets these in its environment.
export DJANGO_DEBUG ?= 1
# Python keeps the project's compiled bytecode (__pycache__/, ignored by git) even where the shell
# says PYTHONDONTWRITEBYTECODE: otherwise every process (each test worker, each server a test
# starts, each reload of `make run`) compiles the project and pytest rewrites every test module again.
unexport PYTHONDONTWRITEBYTECODE
# Where `make run` serves: PORT=8001 make run beside another checkout's.
PORT ?= 8000

.PHONY: run test bench messages lint

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pokaznyk needs Python 3.11 or newer: set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet -r requirements.txt
	touch $@

# The tests and lint on top (requirements-dev.txt): `make run` does without them.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	touch $@

# One process migrates (when a migration is unapplied), seeds an empty database and serves
# (readings/management/commands/devserver.py): each start of Django costs seconds.
run: $(VENV)/.installed
	@[ -n "$$TELEGRAM_BOT_TOKEN" ] || echo "TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off."
	@[ -n "$$VIBER_AUTH_TOKEN" ] || echo "VIBER_AUTH_TOKEN is not set: the Viber bot is off."
	@[ -n "$$MESSENGER_PAGE_ACCESS_TOKEN" ] || echo "MESSENGER_PAGE_ACCESS_TOKEN is not set: the Messenger bot is off."
	@[ -n "$$EMAIL_HOST" ] || echo "EMAIL_HOST is not set: emails (address confirmations, reminders, review decisions) are printed here."
	@# The schedule always runs: in development email is a reminder channel too (printed here). It
	@# starts beside the portal, which migrates; the bot waits for the migrations.
	@trap 'kill 0' INT TERM EXIT; \
	  if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then \
	    $(PY) manage.py devserver --prepare-only || exit 1; \
	    $(PY) manage.py runbot & \
	  fi; \
	  $(VENV)/bin/celery -A portal beat --loglevel=info --schedule .celerybeat-schedule & \
	  if [ -n "$$REDIS_URL" ]; then $(VENV)/bin/celery -A portal worker --loglevel=info & fi; \
	  $(PY) manage.py devserver 127.0.0.1:$(PORT)

# Two test processes, one a core (pytest-xdist); TEST_WORKERS=0 runs the suite in this one. Not
# --dist worksteal: a stolen transactional test empties the database (the staff groups the
# migrations made) before the other worker's remaining tests, which need them.
TEST_WORKERS ?= 2

test: $(VENV)/.installed-dev
	scripts/setup-browser
	scripts/setup-voice
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The hot paths side by side in one run (bench/hotpaths.py, about 15 minutes; BENCH_ARGS=--quick for a
# short check). The other scripts in bench/ run alone: .venv/bin/python bench/<name>.py --help.
bench: $(VENV)/.installed-dev
	$(PY) bench/hotpaths.py $(BENCH_ARGS)

messages: $(VENV)/.installed
	$(PY) manage.py makemessages --locale uk --locale en --ignore '.venv/*' --ignore 'bench/*' --ignore '*/tests/*' --ignore 'scripts/*' --no-obsolete
	$(PY) manage.py compilemessages --ignore '.venv/*'
