# Lesson 08, first version, in Python: websocket-client's WebSocketApp with its four
# handlers, reconnecting 5 s after each loss. Run it with
#   python3 scripts/interop/first/08_app_client.py hello
# (pip install websocket-client) beside either lesson 07. The Rust first version:
#   cargo run -p ws_reconnect_client_first -- hello
import json
import os
import sys

import websocket

url = f"ws://{os.environ.get('LESSON_ADDR', '127.0.0.1:5003')}/ws"
first = " ".join(sys.argv[1:])


def on_open(ws):
    print(f"on_open: {url}", flush=True)
    if first:
        ws.send(json.dumps({"type": "chat", "text": first}))


def on_message(ws, message):
    print(f"on_message: {message}", flush=True)


def on_error(ws, error):
    print(f"on_error: {error}", flush=True)


def on_close(ws, code, reason):
    print("on_close: the connection ended", flush=True)


app = websocket.WebSocketApp(
    url, on_open=on_open, on_message=on_message, on_error=on_error, on_close=on_close
)
app.run_forever(reconnect=5)
