"""A fake platform API on loopback (Meta Graph API and Telegram Bot API): records every send and can
answer with the platforms' error codes."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


class FakeGraph:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.errors: list[int] = []  # error codes to answer with, one per call, before succeeding
        self.tokens: list[str] = []
        self.peers: list[tuple[str, int]] = []  # the sender's address per send: a reused connection repeats
        self.cookies: list[str | None] = []  # the Cookie header of each send (answers set a cookie)
        # "no_id": a send is taken and answered 2xx without the message's id; "empty": with an empty body
        self.bare = ""
        app = FastAPI()

        @app.post("/v21.0/{phone_number_id}/messages")
        async def send(phone_number_id: str, request: Request) -> Response:
            body = await request.json()
            self.tokens.append(request.headers.get("authorization", ""))
            if request.client:
                self.peers.append((request.client.host, request.client.port))
            self.cookies.append(request.headers.get("cookie"))
            if self.errors:
                code = self.errors.pop(0)
                return JSONResponse(
                    {
                        "error": {
                            "message": f"error {code}",
                            "type": "OAuthException",
                            "code": code,
                            "error_data": {"messaging_product": "whatsapp", "details": "fake"},
                            "fbtrace_id": "AbCdEf",
                        }
                    },
                    status_code=400,
                )
            body["phone_number_id"] = phone_number_id
            self.sent.append(body)
            if self.bare:
                return self._bare(
                    {"recipient_id": "1"} if "recipient" in body else {"messaging_product": "x"}
                )
            if "recipient" in body:  # Messenger/Instagram Send API
                return JSONResponse(
                    {"recipient_id": body["recipient"]["id"], "message_id": f"m_out{len(self.sent)}"}
                )
            wamid = f"wamid.out{len(self.sent)}"
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": wamid}],
                },
                headers={"Set-Cookie": "lb=node-7; Path=/"},  # as a load balancer might
            )

        @app.post("/bot{token}/sendMessage")
        async def telegram_send(token: str, request: Request) -> Response:
            body = await request.json()
            self.tokens.append(token)
            if self.errors:
                code = self.errors.pop(0)
                description = {
                    429: "Too Many Requests: retry after 1",
                    403: "Forbidden: bot was blocked by the user",
                }
                return JSONResponse(
                    {
                        "ok": False,
                        "error_code": code,
                        "description": description.get(code, "Bad Request"),
                        **({"parameters": {"retry_after": 1}} if code == 429 else {}),
                    },
                    status_code=code,
                )
            self.sent.append(body)
            if self.bare:
                return self._bare({"ok": True, "result": {"date": 1764000000}})
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "message_id": 1000 + len(self.sent),
                        "date": 1764000000,
                        "chat": {"id": body["chat_id"], "type": "private"},
                        "text": body["text"],
                    },
                }
            )

        @app.post("/v2/bot/message/{mode}")
        async def line_send(mode: str, request: Request) -> Response:
            body = await request.json()
            self.tokens.append(request.headers.get("authorization", ""))
            if request.client:
                self.peers.append((request.client.host, request.client.port))
            self.cookies.append(request.headers.get("cookie"))
            self.sent.append({"api": f"line-{mode}", **body})
            if self.bare:
                return self._bare({})
            return JSONResponse({"sentMessages": [{"id": f"line{len(self.sent)}", "quoteToken": "q"}]})

        @app.post("/pa/send_message")
        async def viber_send(request: Request) -> Response:
            body = await request.json()
            self.tokens.append(request.headers.get("x-viber-auth-token", ""))
            if self.errors:
                code = self.errors.pop(0)
                return JSONResponse({"status": code, "status_message": "notSubscribed"})
            self.sent.append({"api": "viber", **body})
            if self.bare:
                return self._bare({"status": 0, "status_message": "ok"})
            return JSONResponse({"status": 0, "status_message": "ok", "message_token": 5000 + len(self.sent)})

        @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
        async def twilio_send(sid: str, request: Request) -> Response:
            form = dict(await request.form())
            self.tokens.append(request.headers.get("authorization", ""))
            if self.errors:
                code = self.errors.pop(0)
                return JSONResponse(
                    {"code": code, "message": "Attempt to send to unsubscribed recipient", "status": 400},
                    status_code=400,
                )
            self.sent.append({"api": "twilio", **form})
            if self.bare:
                return self._bare({"status": "queued"})
            return JSONResponse(
                {"sid": f"SM{len(self.sent):032d}", "status": "queued", "to": form.get("To")}, status_code=201
            )

        @app.get("/cgi-bin/token")
        async def wechat_token(appid: str, secret: str) -> JSONResponse:
            self.tokens.append(f"{appid}:{secret}")
            return JSONResponse({"access_token": f"wx-token-{len(self.tokens)}", "expires_in": 7200})

        @app.post("/cgi-bin/message/custom/send")
        async def wechat_send(access_token: str, request: Request) -> JSONResponse:
            body = await request.json()
            if self.errors:
                code = self.errors.pop(0)
                return JSONResponse({"errcode": code, "errmsg": "fake error"})
            self.sent.append({"api": "wechat", "access_token": access_token, **body})
            return JSONResponse({"errcode": 0, "errmsg": "ok"})

        @app.get("/v21.0/{media_id}")
        async def media_info(media_id: str) -> JSONResponse:
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.base}/media-download/{media_id}",
                    "mime_type": "image/jpeg",
                    "sha256": "abc",
                    "file_size": 3,
                    "id": media_id,
                }
            )

        @app.get("/media-download/{media_id}")
        async def media_bytes(media_id: str) -> Response:
            return Response(b"\xff\xd8\xff", media_type="image/jpeg")

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", timeout_keep_alive=60)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/v21.0"

    def _bare(self, without_id: dict[str, Any]) -> Response:
        if self.bare == "empty":
            return Response(b"", status_code=200)
        return JSONResponse(without_id)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.sent) < count:
            time.sleep(0.05)
        return self.sent
