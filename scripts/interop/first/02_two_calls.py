# Lesson 02, first version, in Python: the requests tutorial's two calls, on one
# kept-alive connection (a Session). Run it with
#   python3 scripts/interop/first/02_two_calls.py
# (pip install requests) beside either lesson 01. The Rust first version:
#   cargo run -p http_client_first
import os

import requests

addr = os.environ.get("LESSON_ADDR", "127.0.0.1:5000")
with requests.Session() as session:
    for _ in range(2):
        response = session.get(f"http://{addr}/")
        print(f"{response.status_code} {response.reason}: {response.text}", end="")
