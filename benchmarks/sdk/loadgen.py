"""A small asyncio HTTP/1.1 keep-alive load generator (no third-party dependency)."""

from __future__ import annotations

import asyncio
import time

REQUEST = b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n"


async def _read_response(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)


async def closed_loop(port: int, *, connections: int, seconds: float) -> float:
    """Requests per second with ``connections`` clients sending back to back."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            writer.write(REQUEST)
            await _read_response(reader)
            done += 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return done / (time.perf_counter() - start)


async def paced(port: int, *, rate: float, seconds: float, connections: int = 32
                ) -> list[tuple[float, float]]:
    """Open-loop load at ``rate`` req/s; returns (scheduled time, latency s) per request.

    Latency is measured from the scheduled send time, so a stalled server is not hidden
    by the generator waiting for it (no coordinated omission).
    """
    results: list[tuple[float, float]] = []
    interval = connections / rate
    start = time.perf_counter() + 0.2

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = 0
        while True:
            due = start + (offset / connections + i) * interval
            if due - start > seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(REQUEST)
            await _read_response(reader)
            results.append((due - start, time.perf_counter() - due))
            i += 1
        writer.close()

    await asyncio.gather(*(client(k) for k in range(connections)))
    return results


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]
