# Lesson 13, first version, in Python: lesson 07's first chat, heard as Server-Sent
# Events too, with aiohttp (a StreamResponse is a response whose body goes on). Run
# it with
#   python3 scripts/interop/first/13_events.py
# (pip install aiohttp). The Rust first version:
#   cargo run -p http_push_first
import asyncio
import itertools
import json
import os
from contextlib import suppress
from pathlib import Path

from aiohttp import WSMsgType, web

# The page: the Rust first version's, read from its file.
PAGE = (Path(__file__).parents[3] / "crates/http_push/first/page.html").read_text()
SAID = []
ROOM = set()  # each WebSocket's and each event stream's queue
NUMBERS = itertools.count(1)


def to_json(value):
    return json.dumps(value, separators=(",", ":"))


async def page(request):
    return web.Response(text=PAGE, content_type="text/html")


async def messages(request):
    return web.Response(text=to_json(SAID), content_type="application/json")


async def post(request):
    said = json.loads(await request.read())
    say(said["name"], said["text"])
    return web.Response(status=201)


async def events(request):
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)  # the head goes out now; the body goes on
    queue = asyncio.Queue()
    ROOM.add(queue)
    print(f"conn #{next(NUMBERS)} hears the room as events", flush=True)
    try:
        while True:
            line = await queue.get()
            await response.write(f"data: {line}\n\n".encode())
    except ConnectionError:  # the client has gone: we learn it when we write
        pass
    finally:
        ROOM.discard(queue)
    return response


async def chat(request):
    name = f"guest-{next(NUMBERS)}"
    websocket = web.WebSocketResponse()
    await websocket.prepare(request)
    queue = asyncio.Queue()
    ROOM.add(queue)
    sending = asyncio.create_task(pass_on(queue, websocket))
    try:
        async for message in websocket:
            if message.type == WSMsgType.TEXT:
                say(name, json.loads(message.data)["text"])
    finally:
        ROOM.discard(queue)
        sending.cancel()
    return websocket


async def pass_on(queue, websocket):
    with suppress(ConnectionError):
        while True:
            await websocket.send_str(await queue.get())


def say(name, text):
    chat = {"type": "chat", "id": len(SAID) + 1, "from": name, "text": text}
    SAID.append(chat)
    for queue in ROOM:
        queue.put_nowait(to_json(chat))


app = web.Application()
app.add_routes([
    web.get("/", page),
    web.get("/api/messages", messages),
    web.post("/api/messages", post),
    web.get("/api/events", events),
    web.get("/ws", chat),
])


async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5007").rsplit(":", 1)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    port = runner.addresses[0][1]
    print(f"Listening on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()  # serve until Ctrl-C


asyncio.run(main())
