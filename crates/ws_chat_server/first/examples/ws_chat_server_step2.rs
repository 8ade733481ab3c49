//! Lesson 05, step 2 of 4: a limit on a message.
//! A message above 64 KiB closes its sender's connection with 1009, instead of
//! going to everyone.
//!
//!     cargo run -p ws_chat_server_first --example ws_chat_server_step2
//!     websocat ws://127.0.0.1:5002/
//!
//! Page 05 shows this step as a diff against the one before (`scripts/diff-lessons 5
//! --steps`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};

/// Everyone in the room: each connection's number, and the queue its task sends from.
type Room = Arc<Mutex<HashMap<u64, mpsc::Sender<Message>>>>;

/// The most lines that wait for one client, and how long a speaker waits for room in
/// a full queue before that client is put out of the room.
const QUEUE_LENGTH: usize = 256;
const STALL_LIMIT: Duration = Duration::from_secs(2);

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
    // Messages (and frames) up to 64 KiB: nobody makes everyone's queues hold more.
    let limit = Some(64 * 1024);
    let config = WebSocketConfig::default().max_message_size(limit).max_frame_size(limit);
    let ws = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await.unwrap();
    // Two halves, one to read and one to write, and a queue of our own in the room.
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::channel(QUEUE_LENGTH);
    room.lock().unwrap().insert(conn, queue);
    let name = format!("guest-{conn}");
    // From here on, whichever comes first: a message from this client, or a line
    // for it in its queue.
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let line = Message::text(format!("{name}: {text}"));
                    say(&room, conn, &line).await;
                    // Our own line straight back: queued, it could wait for our own
                    // full queue, which only this task empties.
                    if to_client.send(line).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                // Too big: say so with 1009, and leave the room.
                Some(Err(Error::Capacity(_))) => {
                    let _ = to_client.send(close(CloseCode::Size, "message too big: the limit is 64 KiB")).await;
                    break;
                }
                // Closed, or the connection broke: leave the room.
                Some(Err(_)) | None => break,
            },
            line = lines.recv() => match line {
                Some(line) => {
                    if to_client.send(line).await.is_err() {
                        break;
                    }
                }
                // Put out of the room for not reading: Close 1008, "policy violation".
                None => {
                    let _ = to_client.send(close(CloseCode::Policy, "too slow: you stopped reading")).await;
                    break;
                }
            },
        }
    }
    room.lock().unwrap().remove(&conn);
}

/// A line for everyone but its speaker (`conn`): a full queue is waited for, out of
/// the lock, 2 s at most; then its client is put out (its task sees its queue end,
/// and says why).
async fn say(room: &Room, conn: u64, line: &Message) {
    let queues: Vec<_> = room.lock().unwrap().iter().map(|(c, q)| (*c, q.clone())).collect();
    for (other, queue) in queues.into_iter().filter(|(other, _)| *other != conn) {
        if tokio::time::timeout(STALL_LIMIT, queue.send(line.clone())).await.is_err() {
            room.lock().unwrap().remove(&other);
        }
    }
}

/// A Close frame: its code says why, in a number a program can act on, and its
/// reason in words a person can read.
fn close(code: CloseCode, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}
