# Lesson 09, first version, in Python: lesson 07's first version with Redis in the
# middle. Run Redis, then two of these:
#   python3 scripts/interop/first/09_two_servers.py
#   LESSON_ADDR=127.0.0.1:5005 python3 scripts/interop/first/09_two_servers.py
# (pip install websockets redis). The Rust first version:
#   cargo run -p http_ws_cluster_first
import asyncio
import itertools
import json
import os
from http import HTTPStatus
from pathlib import Path

import redis.asyncio as redis

from websockets.asyncio.server import broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

# The page: the Rust first version's, read from its file.
PAGE = (Path(__file__).parents[3] / "crates/http_ws_server/first/page.html").read_text()
CHANNEL = "chat:first"
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


async def chat(websocket, store):
    name = f"guest-{next(NUMBERS)}"
    ROOM.add(websocket)
    try:
        async for message in websocket:
            said = json.loads(message)
            await store.publish(CHANNEL, to_json({"from": name, "text": said["text"]}))
    finally:
        ROOM.discard(websocket)


async def from_redis(subscription):
    async for message in subscription.listen():
        if message["type"] == "message":
            published = json.loads(message["data"])
            say(published["from"], published["text"])


def say(name, text):
    chat = {"type": "chat", "id": len(SAID) + 1, "from": name, "text": text}
    SAID.append(chat)
    broadcast(ROOM, to_json(chat))


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5004").rsplit(":", 1)
    store = redis.Redis.from_url(os.environ.get("LESSON_REDIS", "redis://127.0.0.1:6379"))
    subscription = store.pubsub()
    await subscription.subscribe(CHANNEL)
    listening = asyncio.create_task(from_redis(subscription))

    async def handler(websocket):
        await chat(websocket, store)

    async with serve(handler, host, int(port), process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on http://{host}:{port}", flush=True)
        await server.serve_forever()
    listening.cancel()


asyncio.run(main())
