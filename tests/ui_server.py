"""The real server (uvicorn + FastAPI + Gradio) on a free loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``with LiveServer(index, settings=..., service=...) as srv: srv.url``"""

    def __init__(self, index: Path, settings: Any = None, service: Any = None):
        from rag.settings import Settings

        self.index = Path(index)
        self.port = free_port()
        self.settings = (settings or Settings()).replace(port=self.port)
        self.service = service
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LiveServer:
        import uvicorn

        from ui.server import create_app
        from ui.service import Service

        if self.service is None:
            self.service = Service(self.index, self.settings)
        app = create_app(self.index, self.settings, service=self.service)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 60
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
