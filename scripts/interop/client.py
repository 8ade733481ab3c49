"""A WebSocket client written with Python's `websockets` library (15.x): sends one
message, prints what comes back until an answer mentions UNTIL (the message
itself, unless given), then closes with 1000 and prints how the server answered:

    python3 scripts/interop/client.py URL MESSAGE [UNTIL]
"""
import sys

from websockets.sync.client import connect

url, text = sys.argv[1], sys.argv[2]
until = sys.argv[3] if len(sys.argv) > 3 else text
with connect(url) as websocket:
    websocket.send(text)
    while True:
        message = websocket.recv(timeout=10)
        print(f"< {message}")
        if until in message:
            break
    websocket.close(1000, "done")
print(f"closed: {websocket.close_code} {websocket.close_reason!r}")
