# Lesson 04, first version, in Python: the websockets tutorial's client. Run
#   python3 scripts/interop/first/04_client.py hello
# (pip install websockets) beside either lesson 03. The Rust first version:
#   cargo run -p ws_echo_client_first -- hello
import os
import sys

from websockets.sync.client import connect

addr = os.environ.get("LESSON_ADDR", "127.0.0.1:5001")
text = " ".join(sys.argv[1:]) or "hello"
with connect(f"ws://{addr}/") as websocket:
    websocket.send(text)
    print(websocket.recv())
