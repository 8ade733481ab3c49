"""A WebSocket client written as the Python tutorials write one, with
`websocket-client`'s WebSocketApp (1.9) and its four event handlers, the shape of
lesson 08's `Handler`:

    python3 scripts/interop/app_client.py URL MESSAGE [UNTIL]

It sends MESSAGE once the socket is open, closes once an answer mentions UNTIL (the
message itself, unless given), and prints each event as it happens.
"""
import sys

import websocket

url, text = sys.argv[1], sys.argv[2]
until = sys.argv[3] if len(sys.argv) > 3 else text


def on_open(ws):
    print("on_open")
    ws.send(text)


def on_message(ws, message):
    print(f"on_message: {message}")
    if until in message:
        ws.close(status=1000, reason=b"done")


def on_error(ws, error):
    print(f"on_error: {error}")


def on_close(ws, code, reason):
    print(f"on_close: {code} {reason!r}")


app = websocket.WebSocketApp(
    url, on_open=on_open, on_message=on_message, on_error=on_error, on_close=on_close
)
app.run_forever()
