//! Lesson 05, first version: the websockets tutorial's broadcast chat server, on
//! tokio-tungstenite. One idea: many connections share state (who is here), and a
//! line from one goes to all.
//!
//!     cargo run -p ws_chat_server_first
//!     websocat ws://127.0.0.1:5002/         (in two or three more terminals)
//!
//! It keeps one unbounded queue per client, as tungstenite's own chat example does:
//! the page shows what a client that never reads then does to the server's memory,
//! and what else the full lesson (`cargo run -p ws_chat_server`) adds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Everyone in the room: each connection's number, and the queue its task sends from.
type Room = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>;

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5002, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5002") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5002".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on ws://{}/", listener.local_addr().unwrap());
    let room = Room::default();
    for conn in 1.. {
        // Wait for the next connection, then serve it in a task of its own.
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(chat(stream, conn, Arc::clone(&room)));
    }
}

/// One client: what it says goes to everyone's queue; what is in its queue goes to it.
async fn chat(stream: TcpStream, conn: u64, room: Room) {
    // The opening handshake: read the client's HTTP request, answer 101.
    let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    // Two halves, one to read and one to write, and a queue of our own in the room.
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().insert(conn, queue);
    let name = format!("guest-{conn}");
    // From here on, whichever comes first: a message from this client, or a line
    // for it in its queue.
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let line = Message::text(format!("{name}: {text}"));
                    for queue in room.lock().unwrap().values() {
                        let _ = queue.send(line.clone());
                    }
                }
                Some(Ok(_)) => {}
                // Closed, or the connection broke: leave the room.
                Some(Err(_)) | None => break,
            },
            Some(line) = lines.recv() => {
                if to_client.send(line).await.is_err() {
                    break;
                }
            }
        }
    }
    room.lock().unwrap().remove(&conn);
}
