# Lesson 12, first version, in Python: lesson 08's WebSocketApp that logs in first,
# with requests, and sends the session's cookie on its handshake. Run it with
#   python3 scripts/interop/first/12_login_client.py Ada hello
# (pip install websocket-client requests) beside lesson 11. The Rust first version:
#   cargo run -p ws_login_client_first -- --name Ada hello
import json
import os
import sys

import requests
import websocket

addr = os.environ.get("LESSON_ADDR", "127.0.0.1:5006")
url = f"ws://{addr}/ws"
name, first = sys.argv[1], " ".join(sys.argv[2:])

# Log in, and keep the cookie: requests reads Set-Cookie for us.
login = requests.post(f"http://{addr}/api/login", json={"name": name})
cookie = f"session={login.cookies['session']}"


def on_open(ws):
    print(f"on_open: {url}", flush=True)
    if first:
        ws.send(json.dumps({"type": "chat", "text": first}))


def on_message(ws, message):
    print(f"on_message: {message}", flush=True)


def on_error(ws, error):
    print(f"on_error: {error}", flush=True)


def on_close(ws, code, reason):
    print(f"on_close: {code} {reason}", flush=True)


app = websocket.WebSocketApp(
    url, cookie=cookie,
    on_open=on_open, on_message=on_message, on_error=on_error, on_close=on_close,
)
app.run_forever(reconnect=5)
