"""The real server (uvicorn + FastAPI + Gradio) on a free loopback port: in a thread of the
test process (``LiveServer``) or as its own ``rag serve`` process (``ServerProcess``), and a
tiny made-up corpus for tests that need an index of their own (``build_tiny_index``)."""

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


# --- a tiny corpus and the server as its own process ------------------------------------

# Four made-up towns, one statistics bulletin each; every figure differs between towns, so
# an answer shows whose document (and whose conversation) it came from.
TOWNS = [("临江市", 12, 8, 31), ("青川县", 7, 5, 17), ("白石镇", 3, 2, 6), ("云岭市", 15, 11, 40)]


def tiny_corpus(folder: Path) -> list[Path]:
    """One short bulletin per town in ``folder`` (libraries, middle schools, parks)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for town, libraries, schools, parks in TOWNS:
        f = folder / f"{town}统计公报.txt"
        f.write_text(
            f"{town}国民经济和社会发展统计公报\n\n一、文化\n\n全年{town}新建图书馆{libraries}个，图书馆全年免费开放。\n\n"
            f"二、教育\n\n{town}共有普通中学{schools}所，教师队伍稳定。\n\n"
            f"三、城市建设\n\n{town}建成城市公园{parks}座，绿道贯通城区。\n",
            encoding="utf-8",
        )
        files.append(f)
    return files


def build_tiny_index(root: Path, extra: list[Path] | None = None) -> Path:
    """``root/index`` built from ``tiny_corpus(root/'docs')`` (plus ``extra`` files)."""
    from rag.build import build_index
    from rag.settings import Settings

    files = tiny_corpus(root / "docs") + list(extra or [])
    build_index(files, root / "index", Settings(fusion_fit=False))
    return root / "index"


class ServerProcess:
    """``rag serve`` in its own process (as users run it), on a free loopback port.

    ``with ServerProcess(index, {"RAG_AUTH": "u:p"}) as srv: srv.url``
    """

    def __init__(self, index: Path, env: dict[str, str] | None = None, startup_seconds: float = 180):
        self.index = Path(index)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        self.startup_seconds = startup_seconds
        self.proc: Any = None
        self.log: list[str] = []

    def __enter__(self) -> ServerProcess:
        import os
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env.update({"RAG_PORT": str(self.port), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        env.update(self.env)
        code = "import sys; from rag.cli import main; sys.exit(main(sys.argv[1:]))"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--index", str(self.index)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.time() + self.startup_seconds
        assert self.proc.stdout is not None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            self.log.append(line)
            if line.startswith("rag: ready at"):
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.proc.kill()
        raise RuntimeError("rag serve did not start:\n" + "".join(self.log[-40:]))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except Exception:
                self.proc.kill()
