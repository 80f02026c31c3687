"""The chaos stack: real Celery workers and beat in their own processes, our own Redis, PostgreSQL behind
a TCP proxy we can cut, and a real SCIM target behind the fault proxy.

Nothing shared is ever stopped: the Redis drills restart a redis-server started here on a free port,
the PostgreSQL drill cuts the proxy (refusing new connections and resetting open ones), not the server.
Runs where CI runs it (PostgreSQL + Redis, see ``.ci/run``); elsewhere it skips and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

TIMINGS: list[dict] = []


def _skip_reason() -> str | None:
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return "chaos drills need a Redis broker (CELERY_BROKER_URL=redis://…, as in .ci/run)"
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "chaos drills need PostgreSQL (DATABASE_URL=postgres://…, as in .ci/run)"
    if not shutil.which("redis-server"):
        return "chaos drills start their own redis-server, which is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if "tests/chaos/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.chaos)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("chaos: time to converge")
        for t in TIMINGS:
            terminalreporter.write_line(
                f"{t['drill']:<28} fault {t['fault_s']:>5.1f} s   converged {t['converge_s']:>5.1f} s after the fault "
                f"began ({t['cycles']} cycle(s))"
            )


def record_timing(drill: str, fault_s: float, converge_s: float, cycles: int) -> None:
    entry = {
        "drill": drill,
        "fault_s": round(fault_s, 1),
        "converge_s": round(converge_s, 1),
        "cycles": cycles,
    }
    TIMINGS.append(entry)
    out = Path(settings.BASE_DIR) / "var" / "chaos-timings.jsonl"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as f:
        f.write(json.dumps(entry) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server without persistence: a restart loses every queued message."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class TcpProxy:
    """Forwards 127.0.0.1:port to an upstream; ``cut()`` refuses connections and resets the open ones."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = False

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut() or stop()
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._reset(source, sink)

    def _reset(self, *sockets: socket.socket) -> None:
        for s in sockets:
            with self._lock:
                self._sockets.discard(s)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            except OSError:
                pass

    def cut(self) -> None:
        """The database goes away: no new connection, every open one reset."""
        if self._listener is not None:
            with contextlib.suppress(OSError):  # shutdown wakes the blocked accept(): the port is free
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            open_sockets = list(self._sockets)
        self._reset(*open_sockets)

    def restore(self) -> None:
        self.start()

    def stop(self) -> None:
        self.cut()


class Stack:
    """Workers and beat in subprocesses, wired to our Redis, the PostgreSQL proxy and fast settings."""

    def __init__(self, tmp: Path, redis: RedisServer, pg: TcpProxy, database: str):
        self.tmp = tmp
        self.redis = redis
        self.pg = pg
        self.mail_dir = tmp / "mail"
        self.mail_dir.mkdir()
        self.database = database
        self.workers: dict[str, subprocess.Popen] = {}
        self.beat: subprocess.Popen | None = None
        self.killed: set[str] = set()
        self.restarts: list[str] = []
        self._stopping = threading.Event()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg.port}/{self.database}",
            "CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.redis.url,
            "CACHE_URL": "locmemcache://",
            "EMAIL_URL": f"filemail:///{self.mail_dir}",  # the path after the third slash
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "PORTAL_VAR_DIR": str(self.tmp / "var"),
            "PROVISIONING_PAGE_SIZE": "5",
            "PROVISIONING_CONCURRENCY": "1",
            "PROVISIONING_PAGES_IN_FLIGHT": "2",
            "PROVISIONING_USE_BULK": "false",  # one POST per userName: the proxy counts them
            "PROVISIONING_REQUEST_TIMEOUT": "2",
            "PROVISIONING_RETRY_BASE_DELAY": "0.05",
            "PROVISIONING_PAGE_STALE_SECONDS": "4",
            "PROVISIONING_REAPER_INTERVAL": "1",
            "PROVISIONING_PAGE_RETRY_DELAY": "1",
            "PROVISIONING_PAGE_MAX_ATTEMPTS": "6",
            "PROVISIONING_TARGET_FAILURE_THRESHOLD": "3",
            "PROVISIONING_TARGET_BACKOFF": "1",
            "PROVISIONING_TARGET_MAX_PAUSES": "8",
            # a page stuck past these fails and is retried, as in production (where they are minutes)
            "PROVISIONING_PAGE_SOFT_TIME_LIMIT": "30",
            "PROVISIONING_PAGE_TIME_LIMIT": "35",
            "CELERY_VISIBILITY_TIMEOUT": "6",
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("a")
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "portal", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            start_new_session=True,  # its own process group: kill -9 takes the pool processes too
        )

    def start_worker(self, name: str) -> None:
        self.workers[name] = self._spawn(
            name,
            [
                # prefork, as in production (the threads pool dies on a broker restart: a Celery bug)
                *("worker", "-P", "prefork", "-c", "2", "-n", f"{name}@%h", "-Q", "realtime,celery,pages"),
                *("-l", "INFO", "--without-mingle", "--without-gossip"),
            ],
        )

    def start(self) -> None:
        for name in ("w1", "w2"):
            self.start_worker(name)
        self.beat = self._spawn(
            "beat",
            [
                *("beat", "-S", "celery.beat:PersistentScheduler", "-s", str(self.tmp / "beat-schedule")),
                *("--pidfile", str(self.tmp / "beat.pid"), "-l", "INFO"),
            ],
        )
        self.wait_ready(*self.workers)
        threading.Thread(target=self._supervise, daemon=True).start()

    def _supervise(self) -> None:
        """Restart a worker that died on its own, as the production stack's restart policy does.

        (Celery's worker exits on a Redis restart: kombu fails to ack on the closed connection,
        "Unrecoverable error: AttributeError". The drill shows that work survives it.)
        """
        while not self._stopping.wait(0.5):
            for name, process in list(self.workers.items()):
                if process.poll() is not None and name not in self.killed:
                    self.restarts.append(name)
                    self.start_worker(name)

    def wait_ready(self, *names: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while " ready." not in (self.tmp / f"{name}.log").read_text():
                if time.monotonic() > deadline or self.workers[name].poll() is not None:
                    raise RuntimeError(f"worker {name} did not start:\n{self.log(name)[-3000:]}")
                time.sleep(0.1)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def kill9(self, name: str) -> None:
        """The worker's machine dies: its main process and every pool process, at once."""
        self.killed.add(name)  # stays dead: the other worker, the broker and the reaper recover its pages
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait(timeout=10)

    def send(self, task, *args) -> None:
        """Queue a task on our Redis (the test process's own broker is another one)."""
        from portal.celery import app

        with app.connection_for_write(self.redis.url) as connection:
            task.apply_async(args, connection=connection)

    def emails(self) -> list[str]:
        return [p.read_text() for p in sorted(self.mail_dir.glob("*"))]

    def stop(self) -> None:
        self._stopping.set()
        processes = [p for p in [*self.workers.values(), self.beat] if p is not None]
        for p in processes:
            if p.poll() is None:
                p.terminate()
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _wait_for_sessions_to_end(database: str, timeout: float = 5) -> None:
    """The killed worker's sessions end when PostgreSQL notices the reset: before the database is dropped."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
        # sessions of the killed worker that PostgreSQL has not noticed yet: ours (the test database)
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )


@pytest.fixture(scope="module")
def chaos_stack(django_db_setup, django_db_blocker):
    """One stack for the drills of a module: starting worker processes costs seconds each."""
    from django.db import connection

    with django_db_blocker.unblock():
        db = connection.settings_dict
        tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
        redis = RedisServer(tmp)
        redis.start()
        pg = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)).start()
        stack = Stack(tmp, redis, pg, db["NAME"])
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()
            pg.stop()
            redis.stop()
            _wait_for_sessions_to_end(db["NAME"])
            if os.environ.get("CHAOS_KEEP_LOGS"):
                print(f"chaos logs kept in {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def chaos(chaos_stack, transactional_db):
    """The module's stack, with an empty database for this drill."""
    yield chaos_stack
