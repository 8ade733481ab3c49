//! Lesson 03, first version: the websockets tutorial's echo server, on
//! tokio-tungstenite. One idea: a WebSocket starts as an HTTP request that asks to
//! upgrade; after the 101 answer the connection carries messages both ways.
//!
//!     cargo run -p ws_echo_server_first
//!     websocat ws://127.0.0.1:5001/
//!
//! It `unwrap`s where the full lesson (`cargo run -p ws_echo_server`) answers: a
//! browser's plain HTTP request panics its connection's task here. The page shows
//! what else the full lesson adds, and what breaks without it.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5001, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5001") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5001".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on ws://{}/", listener.local_addr().unwrap());
    loop {
        // Wait for the next connection, then serve it in a task of its own.
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(echo(stream));
    }
}

/// One client: each text message back, with "Server received: " before it.
async fn echo(stream: TcpStream) {
    // The opening handshake: read the client's HTTP request, answer 101.
    let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    // From here on, messages, until the client closes. tungstenite answers Pings
    // and Closes for us. A binary message gets no answer (the Python twin answers
    // it with the bytes written out, b'...').
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message.unwrap() {
            let reply = format!("Server received: {text}");
            ws.send(Message::text(reply)).await.unwrap();
        }
    }
}
