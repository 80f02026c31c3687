"""The embedded supervisor (manage.py start) restarts a process that was killed and keeps the others up.

It runs for real in its own process, with cheap stand-ins: a tiny HTTP server as "web", sleepers as
"worker" and "beat". A child is killed with SIGKILL; the supervisor must start it again (logged), the
web must keep answering, and SIGTERM must still stop everything.
"""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

SCRIPT = """
import sys
from portal.supervisor import Supervisor

port = sys.argv[1]
manager = Supervisor(first_delay=0.2, max_delay=1.0)
py = sys.executable
manager.add_process("web", f"{py} -m http.server {port} --bind 127.0.0.1")
manager.add_process("worker", f"{py} -c 'import time; time.sleep(600)'")
manager.add_process("beat", f"{py} -c 'import time; time.sleep(600)'")
manager.loop()
sys.exit(manager.returncode)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """The supervisor's output, read line by line in a thread; ``wait_for`` returns the first match."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in iter(stream.readline, ""):
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.seen)}")


def answers(port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                return response.status == 200
        except OSError:
            time.sleep(0.1)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def supervisor():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=Path(__file__).resolve().parents[2],  # where `portal` imports from
    )
    yield process, Output(process.stdout), port
    if process.poll() is None:
        process.kill()
        process.wait()


def started(output: Output, name: str) -> int:
    return int(output.wait_for(rf"{name} started \(pid=(\d+)\)").group(1))


def test_a_killed_worker_is_restarted_while_the_web_keeps_answering_and_sigterm_stops_all(supervisor):
    process, output, port = supervisor
    pids: dict[str, int] = {}
    for _ in range(3):
        match = output.wait_for(r"(web|worker|beat) started \(pid=(\d+)\)")
        pids[match.group(1)] = int(match.group(2))
    assert answers(port)

    os.kill(pids["worker"], signal.SIGKILL)

    output.wait_for(r"worker exited unexpectedly; restarting it in")
    new_worker = started(output, "worker")
    assert new_worker != pids["worker"] and alive(new_worker)
    assert process.poll() is None and alive(pids["web"]) and alive(pids["beat"])
    assert answers(port)

    os.kill(pids["web"], signal.SIGKILL)  # the web itself dies: it comes back on its port
    new_web = started(output, "web")
    assert new_web != pids["web"] and answers(port)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 143
    for pid in (new_web, new_worker, pids["beat"]):
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid)


def test_a_process_that_keeps_crashing_is_restarted_with_a_growing_back_off(supervisor):
    process, output, port = supervisor
    delays = []
    for _ in range(3):
        pid = started(output, "worker")
        os.kill(pid, signal.SIGKILL)
        delays.append(
            float(output.wait_for(r"worker exited unexpectedly; restarting it in ([\d.]+) s").group(1))
        )
    assert delays == [0.2, 0.4, 0.8]
    assert answers(port)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    assert process.wait(timeout=15) == 130
