//! Lesson 06, exercise 4, from the first version: typing `/quit` ends the chat with
//! a Close frame that says why (code 1000, reason `bye`), without Ctrl-D.
//!
//!     cargo run -p ws_chat_server                                     (one terminal)
//!     cargo run -p ws_chat_client_first --example ws_chat_client_exercise_quit
//!
//! Each typed line now goes through `to_send`, and a Close it returns ends the loop.
//! Write `to_send`: a text message, or for `/quit` a `Message::Close` with a
//! `CloseFrame`. Lesson 05's full server logs the code and reason it gets:
//! `closed by the client: 1000 "bye"`. Until you do, its `todo!()` panics. Check it
//! with `scripts/exercise ws_chat_client 4`.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// What to send for a typed line: the line as a text message, or for `/quit` a
/// Close with code 1000 (`CloseCode::Normal`, in
/// `tungstenite::protocol::frame::coding`) and reason `bye`.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn to_send(line: String) -> Message {
    todo!("a text message, or a Close for `/quit`")
}

#[tokio::main]
async fn main() {
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    let addr = match words.iter().position(|word| word == "--addr") {
        Some(at) => words.drain(at..at + 2).nth(1).unwrap(),
        None => std::env::var("LESSON_ADDR").unwrap_or("127.0.0.1:5002".to_string()),
    };
    let (ws, _response) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.unwrap();
    let (mut to_server, mut from_server) = ws.split();
    let mut keyboard = BufReader::new(tokio::io::stdin()).lines();
    if !words.is_empty() {
        to_server.send(Message::text(words.join(" "))).await.unwrap();
    }
    // Our Close: the one `to_send` made for `/quit`, or one without a code when the
    // keyboard's input ends (Ctrl-D), as in the first version.
    let close = loop {
        tokio::select! {
            line = keyboard.next_line() => match line.unwrap() {
                Some(line) => match to_send(line) {
                    close @ Message::Close(_) => break close,
                    message => to_server.send(message).await.unwrap(),
                },
                None => break Message::Close(None),
            },
            message = from_server.next() => match message {
                Some(Ok(Message::Text(text))) => println!("{text}"),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    };
    to_server.send(close).await.unwrap();
    while let Some(Ok(message)) = from_server.next().await {
        if let Message::Text(text) = message {
            println!("{text}");
        }
    }
}
