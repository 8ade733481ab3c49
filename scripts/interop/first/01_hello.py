# Lesson 01, first version, in Python: Flask's hello world. Run it with
#   python3 scripts/interop/first/01_hello.py
# (pip install flask). The Rust first version does the same:
#   cargo run -p http_server_first
import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!\n"


host, port = os.environ.get("LESSON_ADDR", "127.0.0.1:5000").rsplit(":", 1)
app.run(host=host, port=int(port))
