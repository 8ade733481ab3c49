//! Lesson 04, exercise 4, from the first version: send a Ping before the message,
//! and show the Pong that comes back, as well as the answer.
//!
//!     cargo run -p ws_echo_server_first                                       (one terminal)
//!     cargo run -p ws_echo_client_first --example ws_echo_client_exercise_ping -- hello
//!
//! It prints `pong: are you there?` and then `Server received: hello`: a server
//! answers a Ping with a Pong by itself (tungstenite does it for lesson 03), with
//! the Ping's payload. Write `show`, which turns each message into the line to
//! print. Until you do, its `todo!()` panics. Check it with
//! `scripts/exercise ws_echo_client 4`.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// The line to print for a message: its text for a text message, `pong: ` and the
/// payload (bytes, here text) for a Pong, and `{message:?}` for anything else.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn show(message: &Message) -> String {
    todo!("the text, or `pong: ` and the Pong's payload")
}

#[tokio::main]
async fn main() {
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    let addr = match words.iter().position(|word| word == "--addr") {
        Some(at) => words.drain(at..at + 2).nth(1).unwrap(),
        None => std::env::var("LESSON_ADDR").unwrap_or("127.0.0.1:5001".to_string()),
    };
    let text = if words.is_empty() { "hello".to_string() } else { words.join(" ") };
    let (mut ws, _response) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.unwrap();
    ws.send(Message::Ping("are you there?".into())).await.unwrap();
    ws.send(Message::text(text)).await.unwrap();
    // Everything that comes, up to and with the answer to our message.
    loop {
        let message = ws.next().await.unwrap().unwrap();
        println!("{}", show(&message));
        if message.is_text() {
            break;
        }
    }
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
}
