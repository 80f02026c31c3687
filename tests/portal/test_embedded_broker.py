"""The embedded filesystem broker never shows a worker a half-written message."""

import json

from kombu import Connection
from kombu.transport import filesystem

import portal.celery  # noqa: F401  (installs the transport for filesystem:// URLs)


def test_a_message_is_never_visible_half_written(tmp_path, monkeypatch):
    folder = tmp_path / "queue"
    folder.mkdir()
    visible_while_writing: list[str] = []

    def spying_dumps(payload):
        # kombu's transport created the .msg file before writing it: a worker could read it empty
        visible_while_writing.extend(p.name for p in folder.iterdir() if p.name.endswith(".msg"))
        return json.dumps(payload)

    monkeypatch.setattr(filesystem, "dumps", spying_dumps)
    monkeypatch.setattr("portal.broker.dumps", spying_dumps)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue("pages")
        queue.put({"page": 1})
        assert queue.get(timeout=2).payload == {"page": 1}
        queue.close()

    assert visible_while_writing == []


def test_the_exchange_tables_stay_in_the_broker_folder_not_the_working_directory(tmp_path, monkeypatch):
    # kombu keeps each exchange's bindings in <control_folder>/<exchange>.exchange, and its default
    # control folder is "control" in the working directory: a checkout, for tests and `manage.py start`.
    broker, cwd = tmp_path / "broker", tmp_path / "cwd"
    (broker / "queue").mkdir(parents=True)
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    options = {"data_folder_in": str(broker / "queue"), "data_folder_out": str(broker / "queue")}
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue("tables")  # kombu remembers bindings per process: a fresh name
        queue.put({"page": 1})
        assert queue.get(timeout=2).payload == {"page": 1}
        queue.close()

    assert list(cwd.iterdir()) == []
    assert (broker / "control" / "tables.exchange").is_file()
