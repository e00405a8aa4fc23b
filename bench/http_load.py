"""An open-loop HTTP/1.1 load generator light enough not to be the bottleneck.

httpx's connection pool scans every connection and waiting request on each send; once a few hundred
requests queue it spends more CPU than the server under test and the figures measure the client. This
sends prepared request bytes over a fixed set of keep-alive connections with asyncio streams. Latency
runs from the moment a request was due, not from when a connection took it, so a stalled server shows
up as latency instead of silently lowering the offered rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CONNECTIONS = 64


@dataclass
class Step:
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # request numbers answered 200
    acknowledged_at: dict[int, float] = field(default_factory=dict)  # number -> perf_counter() at the 200
    failed: int = 0


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, queue: asyncio.Queue[tuple[float, int, bytes, Step] | None]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    while (item := await queue.get()) is not None:
        due, number, request, step = item
        try:
            writer.write(request)
            status = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            step.failed += 1
            step.latencies_ms.append((time.perf_counter() - due) * 1000)
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        step.latencies_ms.append((time.perf_counter() - due) * 1000)
        if status == 200:
            step.acknowledged.append(number)
            step.acknowledged_at[number] = time.perf_counter()
    writer.close()


class Load:
    """Keep-alive connections to one server; `offer` sends requests at a fixed rate for a while."""

    def __init__(self, host: str, port: int, connections: int = CONNECTIONS) -> None:
        self._host, self._port, self._connections = host, port, connections
        self._queue: asyncio.Queue[tuple[float, int, bytes, Step] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Load:
        self._tasks = [
            asyncio.create_task(_connection(self._host, self._port, self._queue))
            for _ in range(self._connections)
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _ in self._tasks:
            self._queue.put_nowait(None)
        await asyncio.gather(*self._tasks)

    async def offer(self, rate: int, seconds: float, make: Callable[[int], bytes], first: int = 0) -> Step:
        """Send request `first + i` at start + i/rate; return once every response arrived."""
        step = Step()
        total = int(rate * seconds)
        begin = time.perf_counter()
        for i in range(total):
            due = begin + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self._queue.put_nowait((due, first + i, make(first + i), step))
        while len(step.latencies_ms) < total:
            await asyncio.sleep(0.01)
        return step
