# Lesson 07, first version, in Python: a page, a JSON API and a WebSocket chat on
# one port, with websockets' process_request. Run it with
#   python3 scripts/interop/first/07_page_api_chat.py
# (pip install websockets). The Rust first version:
#   cargo run -p http_ws_server_first
import asyncio
import json
import os
from http import HTTPStatus

from websockets.asyncio.server import broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

PAGE = """<!doctype html><meta charset="utf-8"><title>Chat</title>
<ul id="lines"></ul><input id="say" aria-label="Say" placeholder="Type, then Enter">
<script>
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = (event) => lines.append(Object.assign(document.createElement("li"), { textContent: event.data }));
say.onkeydown = (event) => { if (event.key === "Enter") { ws.send(say.value); say.value = ""; } };
</script>
"""
HISTORY = []
ROOM = set()


def answer(content_type, body):
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return Response(HTTPStatus.OK, "OK", headers, body)


def process_request(connection, request):
    if request.path == "/":
        return answer("text/html; charset=utf-8", PAGE.encode())
    if request.path == "/api/messages":
        return answer("application/json", json.dumps(HISTORY).encode())
    if request.path != "/ws":
        return connection.respond(HTTPStatus.NOT_FOUND, "")
    return None  # /ws: go on with the WebSocket handshake


async def chat(websocket):
    ROOM.add(websocket)
    try:
        async for message in websocket:
            HISTORY.append(message)
            broadcast(ROOM, message)
    finally:
        ROOM.discard(websocket)


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5003").rsplit(":", 1)
    async with serve(chat, host, int(port), process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on http://{host}:{port}", flush=True)
        await server.serve_forever()


asyncio.run(main())
