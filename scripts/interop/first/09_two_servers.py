# Lesson 09, first version, in Python: lesson 05's first chat with Redis in the
# middle. Run Redis, then two of these:
#   python3 scripts/interop/first/09_two_servers.py
#   LESSON_ADDR=127.0.0.1:5005 python3 scripts/interop/first/09_two_servers.py
# (pip install websockets redis). The Rust first version:
#   cargo run -p http_ws_cluster_first
import asyncio
import itertools
import os

import redis.asyncio as redis
from websockets.asyncio.server import broadcast, serve

CHANNEL = "chat:first"
ROOM = set()
NUMBERS = itertools.count(1)


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5004").rsplit(":", 1)
    store = redis.Redis.from_url(os.environ.get("LESSON_REDIS", "redis://127.0.0.1:6379"))
    subscription = store.pubsub()
    await subscription.subscribe(CHANNEL)

    async def from_redis():
        async for message in subscription.listen():
            if message["type"] == "message":
                broadcast(ROOM, message["data"].decode())

    async def chat(websocket):
        name = f"guest-{next(NUMBERS)}"
        ROOM.add(websocket)
        try:
            async for message in websocket:
                await store.publish(CHANNEL, f"{name}: {message}")
        finally:
            ROOM.discard(websocket)

    async with serve(chat, host, int(port)) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on ws://{host}:{port}/", flush=True)
        listening = asyncio.create_task(from_redis())
        await server.serve_forever()
        listening.cancel()


asyncio.run(main())
