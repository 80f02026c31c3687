"""A tiny HTTP/1.1 server for one ASGI application, on asyncio streams, with nothing to install.

Enough for a benchmark's loopback target: keep-alive, ``Content-Length`` bodies (and chunked ones),
one request at a time per connection. It is not a general web server: no TLS, no upgrades, no
streaming responses beyond what the application sends in its ``http.response.body`` messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

App = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


async def _read_body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get(b"content-length", b"0") or 0)
    return await reader.readexactly(length) if length else b""


async def _connection(app: App, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head[:-4].split(b"\r\n")
            method, target, version = request_line.split(b" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            body = await _read_body(reader, headers)
            path, _, query = target.partition(b"?")
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": version.decode()[5:],
                "method": method.decode(),
                "path": path.decode(),
                "raw_path": path,
                "query_string": query,
                "headers": list(headers.items()),
            }
            sent = {"body": False}

            async def receive(body: bytes = body, sent: dict = sent) -> dict[str, Any]:
                if sent["body"]:
                    return {"type": "http.disconnect"}
                sent["body"] = True
                return {"type": "http.request", "body": body, "more_body": False}

            response: dict[str, Any] = {"status": 500, "headers": [], "body": []}

            async def send(message: dict, response: dict = response) -> None:
                if message["type"] == "http.response.start":
                    response["status"], response["headers"] = message["status"], message.get("headers", [])
                elif message["type"] == "http.response.body":
                    response["body"].append(message.get("body", b""))

            await app(scope, receive, send)
            payload = b"".join(response["body"])
            status = response["status"]
            lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
            lines += [name + b": " + value for name, value in response["headers"]]
            lines.append(b"content-length: " + str(len(payload)).encode())
            close = headers.get(b"connection", b"").lower() == b"close"
            if close:
                lines.append(b"connection: close")
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def serve(app: App, host: str, port: int, *, on_ready: Callable[[int], None] | None = None) -> None:
    """Serve ``app`` until the process is stopped; ``on_ready(port)`` is called once it listens."""

    async def run() -> None:
        server = await asyncio.start_server(
            lambda r, w: _connection(app, r, w), host, port, backlog=512, limit=16 * 1024 * 1024
        )
        if on_ready:
            on_ready(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
