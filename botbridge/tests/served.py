"""An aiohttp application served on 127.0.0.1 in a thread of its own for a test's lifetime: what
every fake platform (Bot API, Viber, Graph API) runs on."""

import asyncio
import contextlib
import threading

from aiohttp import web


class ServedInThread:
    """Subclasses add their routes (`routes`) and say where their API lives under the server's
    origin (`base_path`); `base_url` is that address once started. Use as a context manager."""

    name = "fake"
    base_path = ""
    base_url = ""
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: asyncio.Event | None = None
    _startup_error: Exception | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def on_loop(self) -> None:
        """Called in the server's loop before it serves: make the loop's own objects here."""

    def on_stop(self) -> None:
        """Called in the server's loop when it is told to stop."""

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already started; make a new one per test")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve_in_thread, args=(ready,), name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError(f"{type(self).__name__} did not start within 10 s")
        if self._startup_error is not None:
            raise RuntimeError(f"{type(self).__name__} could not start") from self._startup_error

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed on its own
            loop.call_soon_threadsafe(self._shut_down)
        thread.join(timeout=10)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve_in_thread(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except Exception as error:  # noqa: BLE001 - reported to start(), which re-raises it in the test
            self._startup_error = error
            ready.set()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.on_loop()
        app = web.Application()
        self.routes(app)
        # A short shutdown timeout: a client's idle keep-alive connection must not hold up stop().
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.base_url = f"http://{host}:{port}{self.base_path}"
            ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    def _shut_down(self) -> None:
        self.on_stop()
        if self._stopping is not None:
            self._stopping.set()
