//! Lesson 03, step 1 of 4: a plain HTTP request gets an answer.
//! A request that is not a WebSocket handshake (a browser's plain GET) gets
//! `426 Upgrade Required`, instead of a panic and no answer.
//!
//!     cargo run -p ws_echo_server_first --example ws_echo_server_step1
//!     curl -i http://127.0.0.1:5001/
//!
//! Page 03 shows this step as a diff against the one before (`scripts/diff-lessons 3
//! --steps`).

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

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
    let mut ws = match tokio_tungstenite::accept_async(&mut stream).await {
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
        if let Message::Text(text) = message.unwrap() {
            let reply = format!("Server received: {text}");
            ws.send(Message::text(reply)).await.unwrap();
        }
    }
}
