//! Break it (lesson 06): a `select!` branch that is not cancel-safe loses input.
//!
//!     cargo run -p ws_chat_client --example lost_input
//!
//! A typist types `hel`, and a second later `lo` and Enter. Meanwhile a timer ticks
//! every 200 ms, as messages from the server would arrive. Each turn of a `select!`
//! loop makes its branches' futures afresh and drops the ones that did not win. So
//! a line read *inside* a branch, into a buffer that lives in that branch's future,
//! is dropped with it when a tick wins: `hel` is gone. The lesson's way, a channel
//! fed by a reader of its own (`keyboard.rs`), loses nothing: `recv` either takes a
//! whole line or leaves it in the channel.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

const TICK: Duration = Duration::from_millis(200);

/// Types `hel`, then a second later `lo` and Enter, then stops.
fn typist() -> DuplexStream {
    let (mut keys, screen) = tokio::io::duplex(64);
    tokio::spawn(async move {
        let _ = keys.write_all(b"hel").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = keys.write_all(b"lo\n").await;
    });
    screen
}

/// Reads one line, a byte at a time, into a buffer of its own. Not cancel-safe: if
/// this future is dropped halfway, the bytes in `line` go with it.
async fn next_line(input: &mut (impl AsyncRead + Unpin)) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while input.read(&mut byte).await.ok()? == 1 {
        if byte[0] == b'\n' {
            return Some(String::from_utf8_lossy(&line).into_owned());
        }
        line.push(byte[0]);
    }
    None
}

/// The first line typed, read in the `select!` branch itself.
async fn read_in_the_branch() -> String {
    let mut input = typist();
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            line = next_line(&mut input) => return line.unwrap_or_default(),
            _ = ticks.tick() => {}
        }
    }
}

/// The first line typed, read by a task of its own and passed through a channel,
/// as `keyboard.rs` does with a thread.
async fn read_through_a_channel() -> String {
    let mut input = typist();
    let (lines, mut typed) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(line) = next_line(&mut input).await {
            if lines.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            line = typed.recv() => return line.unwrap_or_default(),
            _ = ticks.tick() => {}
        }
    }
}

#[tokio::main]
async fn main() {
    println!("typed \"hel\", then 1 s later \"lo\" and Enter; a tick every 200 ms meanwhile");
    println!("a line read inside the branch: {:?}", read_in_the_branch().await);
    println!("a line from the keyboard's channel: {:?}", read_through_a_channel().await);
}
