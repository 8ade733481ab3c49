//! Lesson 08, step 3 of 3: Ctrl-C says goodbye.
//! Ctrl-C sends the server Close 1001, "Ctrl-C", waits for its answer, and ends,
//! instead of a connection that just drops.
//!
//!     cargo run -p ws_reconnect_client_first --example ws_reconnect_client_step3
//!     cargo run -p ws_reconnect_client_first --example ws_reconnect_client_step3, then Ctrl-C
//!
//! Page 08 shows this step as a diff against the one before (`scripts/diff-lessons 8
//! --steps`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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

// One function, as the first version is, so that each step's diff is its defence
// alone; the full lesson gives each part a function of its own.
#[allow(clippy::too_many_lines)]
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
    // --heartbeat SECONDS: how often to ping the server (15 s unless told).
    let heartbeat = words.iter().position(|word| word == "--heartbeat");
    let heartbeat = heartbeat.map(|at| words.drain(at..at + 2).nth(1).unwrap().parse().unwrap());
    let heartbeat = Duration::from_secs_f64(heartbeat.unwrap_or(15.0));
    let url = format!("ws://{addr}/ws");
    let first = words.join(" ");
    // Said in lesson 07's JSON, as its page does: {"type":"chat","text":"hello"}.
    let said = serde_json::json!({ "type": "chat", "text": first }).to_string();
    // How long to wait before the next try: 0.25 s after a loss, doubled after each
    // failed try up to 8 s, each time a little less at random (jitter), so that a
    // thousand clients of a restarted server do not all come back in the same instant.
    let mut backoff = Duration::from_millis(500);
    // Ctrl-C, waited for beside everything else (lesson 06's step 3).
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok((mut ws, _response)) => {
                on_open(&url);
                backoff = Duration::from_millis(500);
                if !first.is_empty() {
                    ws.send(Message::text(said.as_str())).await.unwrap();
                }
                // Every event, until the connection ends, or the server has said
                // nothing (not even a Pong) for two heartbeats: frozen, or cut off.
                let mut pings = tokio::time::interval(heartbeat);
                let mut last_heard = tokio::time::Instant::now();
                let why = loop {
                    tokio::select! {
                        // In this order, Ctrl-C first: tokio listens for it from the
                        // branch's first poll, and in select!'s random order a waiting
                        // message could go first, every time.
                        biased;
                        // Ctrl-C: say goodbye (1001, "going away"), wait 2 s at most
                        // for the server's answering Close, and end.
                        _ = &mut ctrl_c => {
                            let frame = CloseFrame { code: CloseCode::Away, reason: "Ctrl-C".into() };
                            let _ = ws.close(Some(frame)).await;
                            let answer = async { while let Some(Ok(_)) = ws.next().await {} };
                            let _ = tokio::time::timeout(Duration::from_secs(2), answer).await;
                            on_close("Ctrl-C");
                            return;
                        }
                        message = ws.next() => match message {
                            Some(Ok(message)) => {
                                last_heard = tokio::time::Instant::now();
                                if let Message::Text(text) = message {
                                    on_message(&text);
                                }
                            }
                            Some(Err(err)) => on_error(&err.to_string()),
                            None => break "the connection ended".to_string(),
                        },
                        _ = pings.tick() => {
                            let silent = last_heard.elapsed();
                            if silent > 2 * heartbeat {
                                break format!("no answer to pings for {} s", silent.as_secs());
                            }
                            let _ = ws.send(Message::Ping(Default::default())).await;
                        }
                    }
                };
                on_close(&why);
            }
            Err(err) => on_error(&err.to_string()),
        }
        // Between half the backoff and all of it, then twice as long next time.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        let jitter = f64::from(nanos.subsec_nanos() % 1000) / 1000.0;
        tokio::select! {
            () = tokio::time::sleep(backoff.mul_f64(0.5 + jitter / 2.0)) => {}
            _ = &mut ctrl_c => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(8));
    }
}
