"""core/deps.py `provided` and core/services.py `ServiceSet`: a route asks for one service by its class;
one the composition root did not build is a clear error, not an AttributeError deep in a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient

from core.deps import provided
from core.services import MissingService, ServiceSet


class Clock:
    def now(self) -> str:
        return "noon"


class Calendar:
    pass


class Pager:
    pass


@dataclass(frozen=True)
class Built(ServiceSet):
    clock: Clock
    pager: Pager | None  # a service this process may not run


def app_with(services: Built | None) -> FastAPI:
    app = FastAPI()
    if services is not None:
        app.state.services = services

    @app.get("/time")
    async def time(clock: Annotated[Clock, provided(Clock)]) -> str:
        return clock.now()

    @app.get("/calendar")
    async def calendar(calendar: Annotated[Calendar, provided(Calendar)]) -> str:
        return "never"

    @app.get("/page")
    async def page(pager: Annotated[Pager, provided(Pager)]) -> str:
        return "paged"

    @app.websocket("/ws")
    async def socket(ws: WebSocket, clock: Annotated[Clock, provided(Clock)]) -> None:
        await ws.accept()
        await ws.send_text(clock.now())
        await ws.close()

    return app


def test_a_route_gets_the_service_of_the_class_it_names() -> None:
    client = TestClient(app_with(Built(Clock(), Pager())))
    assert client.get("/time").json() == "noon"
    assert client.get("/page").json() == "paged"
    with client.websocket_connect("/ws") as ws:  # the same dependency serves WebSockets
        assert ws.receive_text() == "noon"


def test_a_service_nobody_built_is_named_in_the_error() -> None:
    client = TestClient(app_with(Built(Clock(), None)))
    with pytest.raises(
        MissingService, match=r"Built has no service of class tests\.core\.test_provided\.Calendar"
    ):
        client.get("/calendar")
    with pytest.raises(MissingService, match=r"Built\.pager is not running in this process"):
        client.get("/page")


def test_an_app_whose_lifespan_did_not_run_says_so() -> None:
    with pytest.raises(MissingService, match="built by its lifespan, which has not run"):
        TestClient(app_with(None)).get("/time")


def test_a_service_set_refuses_what_get_could_not_tell_apart() -> None:
    @dataclass(frozen=True)
    class Twice(ServiceSet):
        first: Clock
        second: Clock

    with pytest.raises(TypeError, match="first and second are both Clock"):
        Twice(Clock(), Clock())

    @dataclass(frozen=True)
    class Named(ServiceSet):
        key: str | int

    with pytest.raises(TypeError, match="declare a service by its class"):
        Named("secret")
