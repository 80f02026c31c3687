"""The embedded filesystem broker, with messages that appear whole.

kombu's filesystem transport creates a message file, then locks and writes it; a worker listing the
folder in between moves away an empty file and dies on it ("Unrecoverable error: JSONDecodeError").
Here a message is written under a name no reader looks at, then renamed into place (atomic).

kombu also keeps each exchange's bindings in a "control" folder that defaults to the working directory
(a checkout, when tests or `manage.py start` run there); here it defaults to a folder beside the queue
folder, where settings put it too.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    @property
    def control_folder(self) -> Path:
        folder = self.transport_options.get("control_folder")
        return Path(folder) if folder else Path(self.data_folder_in).parent / "control"

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Make ``filesystem://`` URLs use this transport (in every process that loads the Celery app)."""
    TRANSPORT_ALIASES["filesystem"] = "portal.broker:Transport"
