//! Lesson 08, first version: websocket-client's `WebSocketApp`, with its four event
//! handlers and `run_forever(reconnect=5)`, on tokio-tungstenite. One idea: a
//! client that loses its server says so and connects again.
//!
//!     cargo run -p http_ws_server_first                     (in one terminal)
//!     cargo run -p ws_reconnect_client_first -- hello       (in another)
//!
//! Stop the server and start it again: the client notices and comes back. It waits
//! 5 s each time, misses what was said meanwhile, and never notices a server that
//! is frozen rather than gone: the page shows what the full lesson
//! (`cargo run -p ws_reconnect_client`) does about each.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn on_open(url: &str) {
    println!("on_open: {url}");
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
    // ws://127.0.0.1:5003/ws, or --addr / LESSON_ADDR, as in the full lesson.
    let addr = common::first_addr(common::HTTP_WS_ADDR, common::ws_address).unwrap();
    let url = addr.ws_url("/ws");
    let first = common::first_words().join(" ");
    loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok((mut ws, _response)) => {
                on_open(&url);
                if !first.is_empty() {
                    ws.send(Message::text(first.as_str())).await.unwrap();
                }
                // Every event, until the connection ends.
                while let Some(message) = ws.next().await {
                    match message {
                        Ok(Message::Text(text)) => on_message(&text),
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
