# Lesson 11, first version, in Python: lesson 07's first chat behind a login, with
# aiohttp (one server for HTTP and WebSocket, as hyper is here). Run it with
#   python3 scripts/interop/first/11_login_chat.py
# (pip install aiohttp). The Rust first version:
#   cargo run -p http_ws_login_first
import asyncio
import json
import os
import secrets
from contextlib import suppress
from pathlib import Path

from aiohttp import WSMsgType, web

# The page: the Rust first version's, read from its file.
PAGE = (Path(__file__).parents[3] / "crates/http_ws_login/first/page.html").read_text()
SAID = []
ROOM = set()
SESSIONS = {}  # session id -> name


def to_json(value):
    return json.dumps(value, separators=(",", ":"))


async def page(request):
    return web.Response(text=PAGE, content_type="text/html")


async def messages(request):
    return web.Response(text=to_json(SAID), content_type="application/json")


async def login(request):
    said = json.loads(await request.read())
    session = secrets.token_hex(16)  # 128 bits from the operating system
    SESSIONS[session] = said["name"]
    response = web.Response()
    response.set_cookie("session", session, path="/", httponly=True, samesite="Strict")
    return response


async def logout(request):
    SESSIONS.pop(request.cookies.get("session"), None)
    return web.Response()


async def chat(request):
    name = SESSIONS.get(request.cookies.get("session"))
    if name is None:
        return web.Response(status=401)
    websocket = web.WebSocketResponse()
    await websocket.prepare(request)
    ROOM.add(websocket)
    try:
        async for message in websocket:
            if message.type == WSMsgType.TEXT:
                await say(name, json.loads(message.data)["text"])
    finally:
        ROOM.discard(websocket)
    return websocket


async def say(name, text):
    chat = {"type": "chat", "id": len(SAID) + 1, "from": name, "text": text}
    SAID.append(chat)
    for websocket in list(ROOM):
        with suppress(ConnectionError):  # it left while we sent
            await websocket.send_str(to_json(chat))


app = web.Application()
app.add_routes([
    web.get("/", page),
    web.get("/api/messages", messages),
    web.post("/api/login", login),
    web.post("/api/logout", logout),
    web.get("/ws", chat),
])



async def main():
    host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5006").rsplit(":", 1)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, int(port)).start()
    port = runner.addresses[0][1]
    print(f"Listening on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()  # serve until Ctrl-C


asyncio.run(main())
