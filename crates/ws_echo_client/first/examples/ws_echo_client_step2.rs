//! Lesson 04, step 2 of 2: a deadline for the handshake.
//! A server that takes the connection and never answers is given up on after
//! 10 s, in one line, with status 1.
//!
//!     cargo run -p ws_echo_client_first --example ws_echo_client_step2
//!     cargo run -p ws_echo_client_first --example ws_echo_client_step2 -- hello
//!
//! Page 04 shows this step as a diff against the one before (`scripts/diff-lessons 4
//! --steps`).

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Error, Message};

#[tokio::main]
async fn main() -> ExitCode {
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
    // If it fails, say why in one line a person can act on, and end with status 1.
    let url = format!("ws://{addr}/");
    // And within 10 s: a server that takes the connection and never answers must not
    // keep us waiting for ever.
    let connecting =
        tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(&url));
    let Ok(connected) = connecting.await else {
        eprintln!("error: no answer from {url} within 10 s: is it a WebSocket server?");
        return ExitCode::FAILURE;
    };
    let mut ws = match connected {
        Ok((ws, _response)) => ws,
        Err(Error::Io(err)) => {
            eprintln!("error: could not connect to {url}: is the server running? ({err})");
            return ExitCode::FAILURE;
        }
        Err(Error::Http(response)) => {
            let status = response.status();
            eprintln!(
                "error: {url} answered {status}, not 101 Switching Protocols: is it a WebSocket server?"
            );
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("error: the handshake with {url} failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    ws.send(Message::text(text)).await.unwrap();
    // The next message that arrives is the answer (tungstenite answers Pings itself).
    let answer = ws.next().await.unwrap().unwrap();
    println!("{}", answer.into_text().unwrap());
    // Close, and wait for the server's Close: the close handshake.
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
    ExitCode::SUCCESS
}
