//! Lesson 03, step 2 of 4: limits, and close codes for bad messages.
//! A message above 64 KiB is closed with 1009, text that is not UTF-8 with 1007,
//! and a client that vanishes is one line in the log: no task panics.
//!
//!     cargo run -p ws_echo_server_first --example ws_echo_server_step2
//!     websocat ws://127.0.0.1:5001/
//!
//! Page 03 shows this step as a diff against the one before (`scripts/diff-lessons 3
//! --steps`).

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5001, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5001") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5001".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on ws://{}/", listener.local_addr().unwrap());
    loop {
        // Wait for the next connection, then serve it in a task of its own.
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(echo(stream));
    }
}

/// One client: each text message back, with "Server received: " before it.
async fn echo(mut stream: TcpStream) {
    // The opening handshake: read the client's HTTP request, answer 101. We lend
    // tungstenite the stream (`&mut`), so that we can still answer a request that
    // is not a handshake: a browser's plain GET, say.
    // Messages (and frames) up to 64 KiB: a client cannot make us hold more.
    let limit = Some(64 * 1024);
    let config = WebSocketConfig::default().max_message_size(limit).max_frame_size(limit);
    let accepting = tokio_tungstenite::accept_async_with_config(&mut stream, Some(config));
    let mut ws = match accepting.await {
        Ok(ws) => ws,
        Err(err) => {
            let body = format!("This is a WebSocket server: {err}\n");
            let answer = format!(
                "HTTP/1.1 426 Upgrade Required\r\nupgrade: websocket\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            return;
        }
    };
    // From here on, messages, until the client closes. tungstenite answers Pings
    // and Closes for us. A binary message gets no answer (the Python twin answers
    // it with the bytes written out, b'...').
    while let Some(message) = ws.next().await {
        // A bad message: tell the client why, with the close code that says it.
        let (code, reason) = match message {
            Ok(Message::Text(text)) => {
                let reply = format!("Server received: {text}");
                ws.send(Message::text(reply)).await.unwrap();
                continue;
            }
            Ok(_) => continue,
            Err(Error::Capacity(_)) => (CloseCode::Size, "message too big: the limit is 64 KiB"),
            Err(Error::Utf8(_)) => (CloseCode::Invalid, "text is not valid UTF-8"),
            // The connection broke: nobody to tell, one line for whoever watches.
            Err(err) => {
                eprintln!("a client vanished without a close frame: {err}");
                return;
            }
        };
        let _ = ws.close(Some(CloseFrame { code, reason: reason.into() })).await;
        return;
    }
}
