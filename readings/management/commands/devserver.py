"""python manage.py devserver [ADDRPORT] [--noreload] [--prepare-only] [--accounts N]

What `make run` starts: migrates when a migration is unapplied, adds the demo data to an empty
database (seed_demo --if-empty), then serves with runserver, all in one process. It used to be
three (migrate, seed_demo, runserver), and every start of Django with its system checks costs
seconds. runserver's autoreloader starts this command again in a child process that serves and
restarts on code changes: the child only serves (the reloader marks it with RUN_MAIN).
"""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV


class Command(BaseCommand):
    help = "Migrate if needed, seed the demo data into an empty database, then run the development server."
    # runserver runs the checks in the process that serves; here they would import every URLconf
    # and view once more only to migrate.
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="address and port to serve on")
        parser.add_argument(
            "--noreload", action="store_false", dest="use_reloader", help="do not restart on code changes"
        )
        parser.add_argument(
            "--prepare-only", action="store_true", help="migrate and seed, then exit (make run with the bots on)"
        )
        parser.add_argument("--accounts", type=int, default=50, help="demo accounts for an empty database (default 50)")

    def handle(self, *args, addrport: str, use_reloader: bool, prepare_only: bool, accounts: int, **options) -> None:
        if os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            self._migrate()
            call_command("seed_demo", if_empty=True, accounts=accounts)
            # The reloader's parent only waits for its child from here on: it holds no connection.
            connections.close_all()
        if not prepare_only:
            call_command("runserver", addrport, use_reloader=use_reloader)

    def _migrate(self) -> None:
        """migrate when it has work; when it has none, reading the migration files is all it costs."""
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            call_command("migrate", interactive=False)
        else:
            self.stdout.write("Migrations: all applied.")
