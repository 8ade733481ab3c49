//! Lesson 03, step 4 of 4: Ctrl-C says goodbye to every client.
//! On Ctrl-C each client is sent Close 1001, "server shutting down", instead of a
//! connection that just drops.
//!
//!     cargo run -p ws_echo_server_first --example ws_echo_server_step4
//!     websocat ws://127.0.0.1:5001/, then Ctrl-C in the server's terminal
//!
//! Page 03 shows this step as a diff against the one before (`scripts/diff-lessons 3
//! --steps`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
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
    // Ctrl-C, told to every connection: each holds a receiver of this channel.
    let (stop, stopping) = watch::channel(false);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        // The next connection, served in a task of its own, or Ctrl-C.
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => accepted.unwrap(),
            _ = &mut ctrl_c => break,
        };
        tokio::spawn(echo(stream, stopping.clone()));
    }
    // Tell every connection, and give them a second to say goodbye: `closed`
    // completes once every receiver is gone, each connection's with its task.
    drop(stopping);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(1), stop.closed()).await;
}

/// One client: each text message back, with "Server received: " before it.
async fn echo(mut stream: TcpStream, mut stopping: watch::Receiver<bool>) {
    // The opening handshake: read the client's HTTP request, answer 101. We lend
    // tungstenite the stream (`&mut`), so that we can still answer a request that
    // is not a handshake: a browser's plain GET, say.
    // Messages (and frames) up to 64 KiB: a client cannot make us hold more.
    let limit = Some(64 * 1024);
    let config = WebSocketConfig::default().max_message_size(limit).max_frame_size(limit);
    let accepting = tokio_tungstenite::accept_async_with_config(&mut stream, Some(config));
    // The whole handshake within 5 s, or the connection is dropped: a client that
    // never finishes its request must not hold it for ever.
    let Ok(accepted) = tokio::time::timeout(Duration::from_secs(5), accepting).await else {
        return;
    };
    let mut ws = match accepted {
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
    loop {
        // The next message, or Ctrl-C: then Close 1001, "going away".
        let message = tokio::select! {
            message = ws.next() => message,
            _ = stopping.changed() => None,
        };
        // A bad message: tell the client why, with the close code that says it.
        let (code, reason) = match message {
            Some(Ok(Message::Text(text))) => {
                let reply = format!("Server received: {text}");
                ws.send(Message::text(reply)).await.unwrap();
                continue;
            }
            Some(Ok(_)) => continue,
            None if *stopping.borrow() => (CloseCode::Away, "server shutting down"),
            None => return,
            Some(Err(Error::Capacity(_))) => {
                (CloseCode::Size, "message too big: the limit is 64 KiB")
            }
            Some(Err(Error::Utf8(_))) => (CloseCode::Invalid, "text is not valid UTF-8"),
            // The connection broke: nobody to tell, one line for whoever watches.
            Some(Err(err)) => {
                eprintln!("a client vanished without a close frame: {err}");
                return;
            }
        };
        let _ = ws.close(Some(CloseFrame { code, reason: reason.into() })).await;
        return;
    }
}
