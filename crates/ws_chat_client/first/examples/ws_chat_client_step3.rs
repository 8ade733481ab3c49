//! Lesson 06, step 3 of 3: Ctrl-C says goodbye.
//! Ctrl-C sends the server Close 1001, "Ctrl-C", and waits for its answer, instead
//! of a connection that just drops.
//!
//!     cargo run -p ws_chat_client_first --example ws_chat_client_step3
//!     cargo run -p ws_chat_client_first --example ws_chat_client_step3      (then Ctrl-C)
//!
//! Page 06 shows this step as a diff against the one before (`scripts/diff-lessons 6
//! --steps`).

use std::io::Write;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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
    // Ctrl-C, waited for beside the keyboard and the socket (lesson 01's step 5).
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let goodbye = loop {
        tokio::select! {
            // In this order, Ctrl-C first: tokio listens for it from the branch's first
            // poll, and in select!'s random order a waiting message could go first.
            biased;
            // Ctrl-C: leave, and tell the server why (1001, "going away").
            _ = &mut ctrl_c => {
                break Some(CloseFrame { code: CloseCode::Away, reason: "Ctrl-C".into() });
            }
            // A line typed (or piped in): send it. The end of input: leave.
            line = keyboard.next_line() => match line.unwrap() {
                Some(line) => to_server.send(Message::text(line)).await.unwrap(),
                None => break None,
            },
            // A message from the server: print it. Its Close, or an error: leave.
            message = from_server.next() => match message {
                Some(Ok(Message::Text(text))) => show(&text),
                // The server says goodbye (Ctrl-C on its side sends 1001): say why in
                // one line, and end with status 1. `exit`, because tokio reads the
                // keyboard on a thread of its own, and would wait for Enter first.
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map_or("no reason given".to_string(), |frame| {
                        format!("{} \"{}\"", u16::from(frame.code), frame.reason)
                    });
                    eprintln!("error: the server closed the connection: {why}");
                    std::process::exit(1);
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    eprintln!("error: the connection broke: {err}");
                    std::process::exit(1);
                }
                None => {
                    eprintln!("error: the server went away without a close frame");
                    std::process::exit(1);
                }
            },
        }
    };
    // Close, and wait for the server's Close: the close handshake (printing what
    // comes before it). Then end, without waiting for the keyboard's read.
    to_server.send(Message::Close(goodbye)).await.unwrap();
    while let Some(Ok(message)) = from_server.next().await {
        if let Message::Text(text) = message {
            show(&text);
        }
    }
    std::process::exit(0);
}

/// Prints a line. `println!` panics when nobody reads our output any more
/// (`| head -1` took what it wanted and left): end quietly then, as a Unix tool does.
fn show(text: &str) {
    if writeln!(std::io::stdout(), "{text}").is_err() {
        std::process::exit(0);
    }
}
