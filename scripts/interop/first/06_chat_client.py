# Lesson 06, first version, in Python: the asyncio tutorial's client that types and
# receives at once. Run it with
#   python3 scripts/interop/first/06_chat_client.py
# (pip install websockets) beside either lesson 05. The Rust first version:
#   cargo run -p ws_chat_client_first
import asyncio
import os
import sys

from websockets.asyncio.client import connect


async def receive(websocket):
    async for message in websocket:
        print(message, flush=True)


async def main():
    addr = os.environ.get("LESSON_ADDR", "127.0.0.1:5002")
    async with connect(f"ws://{addr}/") as websocket:
        receiving = asyncio.create_task(receive(websocket))
        if sys.argv[1:]:
            await websocket.send(" ".join(sys.argv[1:]))
        loop = asyncio.get_running_loop()
        # input() blocks, so it runs on a thread; the messages keep coming meanwhile.
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            await websocket.send(line.rstrip("\n"))
        receiving.cancel()


asyncio.run(main())
