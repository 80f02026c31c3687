"""The embedded filesystem broker never shows a worker a half-written message."""

import json

from kombu import Connection
from kombu.transport import filesystem

import portal.celery  # noqa: F401  (installs the transport for filesystem:// URLs)


def test_a_message_is_never_visible_half_written(tmp_path, monkeypatch):
    visible_while_writing: list[str] = []

    def spying_dumps(payload):
        # kombu's transport created the .msg file before writing it: a worker could read it empty
        visible_while_writing.extend(p.name for p in tmp_path.iterdir() if p.name.endswith(".msg"))
        return json.dumps(payload)

    monkeypatch.setattr(filesystem, "dumps", spying_dumps)
    monkeypatch.setattr("portal.broker.dumps", spying_dumps)
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue("pages")
        queue.put({"page": 1})
        assert queue.get(timeout=2).payload == {"page": 1}
        queue.close()

    assert visible_while_writing == []
