//! Lesson 04, first version: the websockets tutorial's client, on tokio-tungstenite.
//! One idea: connect (the handshake), send a message, read the answer, close.
//!
//!     cargo run -p ws_echo_server_first               (in one terminal)
//!     cargo run -p ws_echo_client_first -- hello      (in another)
//!
//! It `unwrap`s where the full lesson (`cargo run -p ws_echo_client`) answers: no
//! server, or a server that never answers, panics or hangs here.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5001, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5001") reads it. The other words are
    // the message.
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    let addr = match words.iter().position(|word| word == "--addr") {
        Some(at) => words.drain(at..at + 2).nth(1).unwrap(),
        None => std::env::var("LESSON_ADDR").unwrap_or("127.0.0.1:5001".to_string()),
    };
    let text = if words.is_empty() { "hello".to_string() } else { words.join(" ") };
    // The handshake: a GET that asks to upgrade, answered by 101 Switching Protocols.
    let (mut ws, _response) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.unwrap();
    ws.send(Message::text(text)).await.unwrap();
    // The next message that arrives is the answer (tungstenite answers Pings itself).
    let answer = ws.next().await.unwrap().unwrap();
    println!("{}", answer.into_text().unwrap());
    // Close, and wait for the server's Close: the close handshake.
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
}
