# Lesson 05, first version, in Python: the websockets tutorial's broadcast chat.
#   python3 scripts/interop/first/05_chat_server.py
# (pip install websockets). The Rust first version:
#   cargo run -p ws_chat_server_first
import asyncio
import itertools
import os

from websockets import broadcast
from websockets.asyncio.server import serve

ROOM = set()
NUMBERS = itertools.count(1)


async def chat(websocket):
    name = f"guest-{next(NUMBERS)}"
    ROOM.add(websocket)
    try:
        async for message in websocket:
            broadcast(ROOM, f"{name}: {message}")
    finally:
        ROOM.discard(websocket)


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5002").rsplit(":", 1)
    async with serve(chat, host, int(port)) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on ws://{host}:{port}/", flush=True)
        await server.serve_forever()


asyncio.run(main())
