# Lesson 03, first version, in Python: the websockets tutorial's echo server. Run
#   python3 scripts/interop/first/03_echo_server.py
# (pip install websockets). The Rust first version:
#   cargo run -p ws_echo_server_first
import asyncio
import os

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(f"Server received: {message}")


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5001").rsplit(":", 1)
    async with serve(echo, host, int(port)) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on ws://{host}:{port}/", flush=True)
        await server.serve_forever()


asyncio.run(main())
