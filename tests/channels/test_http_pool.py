"""The channel adapters' pooled HTTP (one HttpPool per app): run_send leaves nothing running, and the app closes the loops it made."""

from __future__ import annotations

import asyncio
import threading

from channels.http_pool import HttpPool


def test_run_send_cancels_what_the_send_left_running() -> None:
    http_pool = HttpPool()
    started: list[asyncio.Task[None]] = []

    async def send() -> str:
        started.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
        return "sent"

    assert http_pool.run_send(send()) == "sent"
    assert started[0].cancelled()


def test_one_loop_and_client_per_thread_closed_when_idle() -> None:
    http_pool = HttpPool()

    async def pooled() -> tuple[asyncio.AbstractEventLoop, object]:
        return asyncio.get_running_loop(), http_pool.client()

    loop, first = http_pool.run_send(pooled())
    assert http_pool.run_send(pooled()) == (loop, first)  # the same loop and client on this thread
    elsewhere: list[tuple[asyncio.AbstractEventLoop, object]] = []
    thread = threading.Thread(target=lambda: elsewhere.append(http_pool.run_send(pooled())))
    thread.start()
    thread.join()
    assert elsewhere[0][0] is not loop and elsewhere[0][1] is not first
    http_pool.close_idle_loops()
    assert loop.is_closed() and elsewhere[0][0].is_closed()
    again, client = http_pool.run_send(pooled())  # a thread whose loop was closed gets a new one
    assert again is not loop and client is not first and not again.is_closed()


def test_two_pools_share_nothing() -> None:
    """Two apps in one process (tests, the evals CLI next to a server) each close only their own."""
    first, second = HttpPool(), HttpPool()

    async def pooled(pool: HttpPool) -> tuple[asyncio.AbstractEventLoop, object]:
        return asyncio.get_running_loop(), pool.client()

    loop, client = first.run_send(pooled(first))
    other_loop, other_client = second.run_send(pooled(second))
    assert other_loop is not loop and other_client is not client
    second.close_idle_loops()
    assert other_loop.is_closed() and not loop.is_closed()
    first.close_idle_loops()
    assert loop.is_closed()
