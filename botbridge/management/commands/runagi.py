"""python manage.py runagi: the phone voice menu, served to Asterisk over FastAGI."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from botbridge.channels.phone.server import AgiServer


class Command(BaseCommand):
    help = "Serve the phone voice menu to Asterisk over FastAGI (dialplan: AGI(agi://HOST:PORT/readings))."
    # The system checks would import every URLconf and view (the bots, aiogram) into a process
    # that serves calls only; `manage.py check` runs them at deployment.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=4573, help="port to listen on (default 4573; 0: any free)")
        parser.add_argument(
            "--script",
            action="append",
            default=[],
            metavar="NAME=DOTTED.PATH",
            help="serve agi://…/NAME with this function besides settings.IVR_SCRIPTS (tests, benchmarks)",
        )

    def handle(self, *args, host: str, port: int, script: list[str], **options) -> None:
        scripts = dict(settings.IVR_SCRIPTS)
        for item in script:
            name, equals, path = item.partition("=")
            if not (name and equals and path):
                raise CommandError(f"--script {item!r}: expected NAME=DOTTED.PATH")
            scripts[name] = path
        try:
            server = AgiServer(host, port, scripts=scripts)
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error}") from error
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: server.stop())
        listening_host, listening_port = server.address
        self.stdout.write(
            f"FastAGI listening on agi://{listening_host}:{listening_port}/ "
            f"(scripts: {', '.join(sorted(scripts))}; at most {server.max_calls} calls at once)"
        )
        self.stdout.flush()
        server.serve_forever()
        self.stdout.write("FastAGI stopped")
