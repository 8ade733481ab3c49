"""A WebSocket chat server written with Python's `websockets` library (15.x): every
message goes to every client, the sender too. Lesson 06's client can chat through
it, as through lesson 05's server:

    python3 scripts/interop/chat_server.py [PORT]      (default 5002, lesson 05's)
"""
import asyncio
import sys

from websockets import broadcast
from websockets.asyncio.server import serve

CLIENTS = set()


async def chat(websocket):
    CLIENTS.add(websocket)
    try:
        async for message in websocket:
            broadcast(CLIENTS, message)
    finally:
        CLIENTS.discard(websocket)


async def main(port):
    async with serve(chat, "127.0.0.1", port) as server:
        print(f"Listening on ws://127.0.0.1:{port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5002))
    except KeyboardInterrupt:
        pass
