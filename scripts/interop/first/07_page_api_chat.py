# Lesson 07, first version, in Python: a page, a JSON API and lesson 05's chat on
# one port, in JSON, with websockets' process_request. Run it with
#   python3 scripts/interop/first/07_page_api_chat.py
# (pip install websockets). The Rust first version:
#   cargo run -p http_ws_server_first
import asyncio
import itertools
import json
import os
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

# The page: the Rust first version's, read from its file.
PAGE = (Path(__file__).parents[3] / "crates/http_ws_server/first/page.html").read_text()
SAID = []
ROOM = set()
NUMBERS = itertools.count(1)


def to_json(value):
    return json.dumps(value, separators=(",", ":"))


def answer(content_type, body):
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return Response(HTTPStatus.OK, "OK", headers, body)


def process_request(connection, request):
    if request.path == "/":
        return answer("text/html; charset=utf-8", PAGE.encode())
    if request.path == "/api/messages":
        return answer("application/json", to_json(SAID).encode())
    if request.path != "/ws":
        return connection.respond(HTTPStatus.NOT_FOUND, "")
    return None  # /ws: go on with the WebSocket handshake


async def chat(websocket):
    name = f"guest-{next(NUMBERS)}"
    ROOM.add(websocket)
    try:
        async for message in websocket:
            said = json.loads(message)
            say(name, said["text"])
    finally:
        ROOM.discard(websocket)


def say(name, text):
    chat = {"type": "chat", "id": len(SAID) + 1, "from": name, "text": text}
    SAID.append(chat)
    broadcast(ROOM, to_json(chat))


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5003").rsplit(":", 1)
    async with serve(chat, host, int(port), process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on http://{host}:{port}", flush=True)
        await server.serve_forever()


asyncio.run(main())
