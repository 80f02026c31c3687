"""A honcho process manager that restarts a process that died instead of stopping all of them.

Honcho ends every process as soon as one exits: under ``manage.py start`` a crashed worker took the web
server down with it. Here a process that exits on its own is started again after a back-off (doubling
from ``first_delay`` up to ``max_delay``, back to the start once it has run ``stable_after`` seconds), and
each restart is logged. SIGINT/SIGTERM still stop everything: SIGTERM to each process group, SIGKILL to
whatever is left after honcho's KILL_WAIT seconds.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time

from honcho.manager import KILL_WAIT, SIGNALS, Manager
from honcho.process import Process


class SupervisedProcess(Process):
    """Honcho's process, plus: once the command's own process is gone, what it left in its group goes too.

    (A killed gunicorn master leaves workers that hold the port and the output pipe; the restart needs both.)
    """

    def run(self, events=None, ignore_signals=False) -> None:
        original = self._child_ctor

        def spawn(*args, **kwargs):
            child = original(*args, **kwargs)
            threading.Thread(target=self._reap_group, args=(child,), daemon=True).start()
            return child

        self._child_ctor = spawn
        try:
            super().run(events, ignore_signals)
        finally:
            self._child_ctor = original

    @staticmethod
    def _reap_group(child) -> None:
        child.wait()
        with contextlib.suppress(OSError):  # OSError: nothing left in the group
            os.killpg(child.pid, signal.SIGKILL)


class Supervisor(Manager):
    def __init__(
        self, printer=None, *, first_delay: float = 1.0, max_delay: float = 30.0, stable_after: float = 60.0
    ) -> None:
        super().__init__(printer)
        self._process_ctor = SupervisedProcess
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self._delay: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}

    def loop(self) -> None:
        """Run until SIGINT/SIGTERM; restart any process that exits in the meantime."""

        def _terminate(signum, frame):
            self._system_print(f"{SIGNALS[signum]['name']} received\n")
            self.returncode = SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        for name in self._processes:
            self._start_one(name)
        stopping_since = None
        while True:
            try:
                msg = self.events.get(timeout=0.1)
            except queue.Empty:
                msg = None
            if msg is not None:
                self._handle(msg)
            if not self._terminating:
                now = time.monotonic()
                for name, at in list(self._restart_at.items()):
                    if at <= now:
                        del self._restart_at[name]
                        self._system_print(f"restarting {name}\n")
                        self._start_one(name)
                continue
            if all("returncode" in p for p in self._processes.values()):
                break
            stopping_since = stopping_since or time.monotonic()
            if time.monotonic() - stopping_since > KILL_WAIT:
                self.kill()
        if self.returncode is None:
            self.returncode = 0

    def _handle(self, msg) -> None:
        entry = self._processes[msg.name]
        if msg.type == "line":
            self._printer.write(msg)
        elif msg.type == "start":
            entry["pid"] = msg.data["pid"]
            self._system_print(f"{msg.name} started (pid={entry['pid']})\n")
            if self._terminating:  # started while everything is being stopped
                self._procmgr.terminate(entry["pid"])
        elif msg.type == "stop":
            entry["returncode"] = msg.data["returncode"]
            entry["process"].join(timeout=1)
            self._system_print(f"{msg.name} stopped (rc={entry['returncode']})\n")
            if not self._terminating:
                delay = self._next_delay(msg.name)
                self._restart_at[msg.name] = time.monotonic() + delay
                self._system_print(f"{msg.name} exited unexpectedly; restarting it in {delay:g} s\n")

    def _next_delay(self, name: str) -> float:
        ran = time.monotonic() - self._started_at.get(name, 0)
        previous = self._delay.get(name)
        delay = self.first_delay if previous is None or ran >= self.stable_after else previous * 2
        self._delay[name] = min(delay, self.max_delay)
        return self._delay[name]

    def _start_one(self, name: str) -> None:
        entry = self._processes[name]
        entry.pop("pid", None)
        entry.pop("returncode", None)
        entry["process"] = multiprocessing.Process(
            name=name, target=entry["obj"].run, args=(self.events, True)
        )
        self._started_at[name] = time.monotonic()
        entry["process"].start()

    def _killall(self, force: bool = False) -> None:
        """Signal every running process group (one still starting is signalled when its start arrives)."""
        for name, entry in self._processes.items():
            if "returncode" in entry or "pid" not in entry:
                continue
            self._system_print(
                f"sending {'SIGKILL' if force else 'SIGTERM'} to {name} (pid {entry['pid']})\n"
            )
            with contextlib.suppress(OSError):  # it exited meanwhile
                (self._procmgr.kill if force else self._procmgr.terminate)(entry["pid"])
