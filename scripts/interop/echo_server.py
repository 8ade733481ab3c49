"""A WebSocket echo server written with Python's `websockets` library (15.x), so
that lesson 04's client can be tried against a server we did not write:

    python3 scripts/interop/echo_server.py [PORT]      (default 5001, lesson 03's)
"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(f"Python received: {message}")


async def main(port):
    async with serve(echo, "127.0.0.1", port) as server:
        print(f"Listening on ws://127.0.0.1:{port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5001))
    except KeyboardInterrupt:
        pass
