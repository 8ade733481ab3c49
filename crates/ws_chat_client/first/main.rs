//! Lesson 06, first version: the asyncio tutorial's client that types and receives
//! at once, on tokio-tungstenite. One idea: `tokio::select!` waits for the keyboard
//! and the socket together, and handles whichever has something first.
//!
//!     cargo run -p ws_chat_server_first      (in one terminal)
//!     cargo run -p ws_chat_client_first      (in two more, and type)
//!
//! It `unwrap`s where the full lesson (`cargo run -p ws_chat_client`) answers: a
//! server that goes away panics here. The page shows what else the full lesson adds.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5002, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5002") reads it. The other words are
    // a first message.
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    let addr = match words.iter().position(|word| word == "--addr") {
        Some(at) => words.drain(at..at + 2).nth(1).unwrap(),
        None => std::env::var("LESSON_ADDR").unwrap_or("127.0.0.1:5002".to_string()),
    };
    // The handshake: a GET that asks to upgrade, answered by 101 Switching Protocols.
    let (ws, _response) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.unwrap();
    // Two halves, one to send and one to receive, and the keyboard, line by line.
    let (mut to_server, mut from_server) = ws.split();
    let mut keyboard = BufReader::new(tokio::io::stdin()).lines();
    if !words.is_empty() {
        to_server.send(Message::text(words.join(" "))).await.unwrap();
    }
    loop {
        tokio::select! {
            // A line typed (or piped in): send it. The end of input: leave.
            line = keyboard.next_line() => match line.unwrap() {
                Some(line) => to_server.send(Message::text(line)).await.unwrap(),
                None => break,
            },
            // A message from the server: print it. Its Close, or an error: leave.
            message = from_server.next() => match message {
                Some(Ok(Message::Text(text))) => println!("{text}"),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
    // Close, and wait for the server's Close: the close handshake (printing what
    // comes before it).
    to_server.send(Message::Close(None)).await.unwrap();
    while let Some(Ok(message)) = from_server.next().await {
        if let Message::Text(text) = message {
            println!("{text}");
        }
    }
}
