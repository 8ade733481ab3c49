//! Lesson 05, exercise 5, from the first version: `/who` answers the one who asked,
//! and nobody else, with who is in the room.
//!
//!     cargo run -p ws_chat_server_first --example ws_chat_server_exercise_who
//!     websocat ws://127.0.0.1:5002/        (in two terminals; type /who in one)
//!
//! `chat` now puts the answer to `/who` in the asker's own queue instead of
//! everyone's. Write `who`, which makes that answer from the room:
//! `Online: guest-1, guest-2`, in the order they came. Until you do, its `todo!()`
//! panics while the room is locked, and the next lock of the room panics too (a
//! poisoned `Mutex`: try it with two clients). Check it with
//! `scripts/exercise ws_chat_server 5`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Queues = HashMap<u64, mpsc::UnboundedSender<Message>>;
type Room = Arc<Mutex<Queues>>;

/// `Online: guest-1, guest-2`: each member's name (`guest-` and its number), lowest
/// number first. A `HashMap` keeps no order: sort the numbers.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn who(queues: &Queues) -> String {
    todo!("`Online: ` and the names, lowest number first")
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5002".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on ws://{}/", listener.local_addr().unwrap());
    let room = Room::default();
    for conn in 1.. {
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(chat(stream, conn, Arc::clone(&room)));
    }
}

async fn chat(stream: TcpStream, conn: u64, room: Room) {
    let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().insert(conn, queue);
    let name = format!("guest-{conn}");
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "/who" => {
                    let queues = room.lock().unwrap();
                    let _ = queues[&conn].send(Message::text(who(&queues)));
                }
                Some(Ok(Message::Text(text))) => {
                    let line = Message::text(format!("{name}: {text}"));
                    for queue in room.lock().unwrap().values() {
                        let _ = queue.send(line.clone());
                    }
                }
                Some(Ok(_)) => {}
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
