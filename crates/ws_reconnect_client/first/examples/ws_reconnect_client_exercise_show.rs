//! Lesson 08, exercise 5, from the first version: `on_message` shows a chat line
//! as a person reads it, `guest-1: hello`, not as the JSON it came in.
//!
//!     cargo run -p http_ws_server_first                                         (one terminal)
//!     cargo run -p ws_reconnect_client_first --example ws_reconnect_client_exercise_show -- hello
//!
//! Each message now goes through `show` before `on_message` prints it. Write `show`:
//! for `{"type":"chat","id":1,"from":"guest-1","text":"hello"}` it returns
//! `guest-1: hello`; anything else (another type, or not JSON at all) it returns as
//! it came, so that nothing is lost. Until you do, its `todo!()` panics. Check it
//! with `scripts/exercise ws_reconnect_client 5`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn on_open(url: &str) {
    println!("on_open: {url}");
}

/// A chat line as `FROM: TEXT`; anything else unchanged. `serde_json::Value` reads
/// any JSON (`value["type"]`, `.as_str()`), or a `#[derive(Deserialize)]` struct
/// reads just the fields you name.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn show(json: &str) -> String {
    todo!("`from: text` for a chat line, the rest as it came")
}

fn on_message(text: &str) {
    println!("on_message: {text}");
}

fn on_error(error: &str) {
    println!("on_error: {error}");
}

fn on_close(why: &str) {
    println!("on_close: {why}");
}

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5003, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5003") reads it. The other words are
    // a first message.
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    let addr = match words.iter().position(|word| word == "--addr") {
        Some(at) => words.drain(at..at + 2).nth(1).unwrap(),
        None => std::env::var("LESSON_ADDR").unwrap_or("127.0.0.1:5003".to_string()),
    };
    let url = format!("ws://{addr}/ws");
    let first = words.join(" ");
    // Said in lesson 07's JSON, as its page does: {"type":"chat","text":"hello"}.
    let said = serde_json::json!({ "type": "chat", "text": first }).to_string();
    loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok((mut ws, _response)) => {
                on_open(&url);
                if !first.is_empty() {
                    ws.send(Message::text(said.as_str())).await.unwrap();
                }
                // Every event, until the connection ends.
                while let Some(message) = ws.next().await {
                    match message {
                        Ok(Message::Text(text)) => on_message(&show(&text)),
                        Ok(_) => {}
                        Err(err) => on_error(&err.to_string()),
                    }
                }
                on_close("the connection ended");
            }
            Err(err) => on_error(&err.to_string()),
        }
        // As run_forever(reconnect=5): wait 5 s, then try again.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
