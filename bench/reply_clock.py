"""A fake Meta Graph API on loopback that notes when the first reply to each recipient arrives.

tests/channels/fake_graph.py records what was sent but not when; the reply-time bench needs the moment
each reply reached the platform, on the same clock (time.perf_counter) as the load generator's
acknowledgements in this process. A standard-library threaded server: a thread per keep-alive connection,
so a slow bench process does not hold one reply behind another.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ReplyClock:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}  # recipient -> perf_counter() when its first reply came in
        self.sends = 0  # every text send, repeats included (a count above len(arrived): answered twice)
        self._lock = threading.Lock()
        clock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Parley's pooled client expects

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                to = str(json.loads(body or b"{}").get("to", ""))
                if to:  # a text to a customer (read receipts and typing indicators name no recipient)
                    with clock._lock:
                        clock.sends += 1
                        clock.arrived.setdefault(to, now)
                        number = clock.sends
                else:
                    number = 0
                answer = json.dumps(
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": f"wamid.out{number}"}],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
                pass  # one line per reply would swamp the bench's own output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v21.0"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
