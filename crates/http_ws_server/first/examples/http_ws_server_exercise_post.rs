//! Lesson 07, exercise 5, from the first version: say a line over HTTP, with
//! `POST /api/messages`, and every WebSocket client hears it.
//!
//!     cargo run -p http_ws_server_first --example http_ws_server_exercise_post
//!     open http://127.0.0.1:5003/; then, in a terminal:
//!     curl --json '{"text":"hi from curl"}' http://127.0.0.1:5003/api/messages
//!
//! `handle` now reads the body of `POST /api/messages` and answers with the status
//! that `post_message` returns. Write `post_message`: the body is a client's JSON,
//! `{"text":"..."}`, as a WebSocket client sends it; say it in the room from
//! `http` (with `say`, as `chat` does) and answer 201 Created, or 400 Bad Request
//! for a body that is not that JSON. Until you do, its `todo!()` panics. Check it
//! with `scripts/exercise http_ws_server 5`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Collected, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The browser client (`page.html`, 12 lines): a list of lines, a box to type in,
/// and a WebSocket that sends and receives lesson 07's JSON.
const PAGE: &str = include_str!("../page.html");

/// What a client says, in JSON: `{"type":"chat","text":"hello"}`.
#[derive(Deserialize)]
struct Said {
    text: String,
}

/// A line said, as everyone gets it and `GET /api/messages` keeps it:
/// `{"type":"chat","id":1,"from":"guest-1","text":"hello"}`. Each has the next id.
#[derive(Serialize)]
#[serde(tag = "type", rename = "chat")]
struct Chat {
    id: usize,
    from: String,
    text: String,
}

/// Lesson 05's room: each connection's number and the queue its task sends from,
/// and now every line said, for the API.
#[derive(Default)]
struct Room {
    queues: HashMap<u64, mpsc::UnboundedSender<Message>>,
    said: Vec<Chat>,
}

type Shared = Arc<Mutex<Room>>;
type Body = Full<Bytes>;

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(
    mut req: Request<Incoming>,
    conn: u64,
    room: Shared,
) -> Result<Response<Body>, Infallible> {
    let mut response = Response::new(Body::default());
    match req.uri().path() {
        "/api/messages" if req.method() == Method::POST => {
            // The whole body (a client that breaks off mid-body sends an empty one).
            let body = req.into_body().collect().await.map(Collected::to_bytes).unwrap_or_default();
            *response.status_mut() = post_message(&room, &body);
        }
        "/" => *response.body_mut() = Body::from(PAGE),
        "/api/messages" => {
            let json = serde_json::to_string(&room.lock().unwrap().said).unwrap();
            response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().unwrap());
            *response.body_mut() = Body::from(json);
        }
        "/ws" => {
            // The upgrade: prove we read the key (RFC 6455), answer 101, and hyper
            // hands the connection over once the 101 is sent.
            let key = req.headers().get(SEC_WEBSOCKET_KEY).unwrap().as_bytes();
            let accept = derive_accept_key(key).parse().unwrap();
            let upgrading = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let connection = TokioIo::new(upgrading.await.unwrap());
                let ws = WebSocketStream::from_raw_socket(connection, Role::Server, None).await;
                chat(ws, conn, room).await;
            });
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let headers = response.headers_mut();
            headers.insert(UPGRADE, "websocket".parse().unwrap());
            headers.insert(CONNECTION, "Upgrade".parse().unwrap());
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        _ => *response.status_mut() = StatusCode::NOT_FOUND,
    }
    Ok(response)
}

/// `POST /api/messages` with `{"text":"hi"}`: the line is said in the room from
/// `http`, and the answer is 201 Created; a body that is not that JSON is answered
/// 400 Bad Request, and nothing is said. `Said` reads the JSON.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn post_message(room: &Shared, body: &[u8]) -> StatusCode {
    todo!("say the line and answer 201, or answer 400")
}

/// Lesson 05's chat: what a client says is kept and goes to everyone's queue; what
/// is in its queue goes to it.
async fn chat(ws: WebSocketStream<TokioIo<Upgraded>>, conn: u64, room: Shared) {
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().queues.insert(conn, queue);
    let name = format!("guest-{conn}");
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let said: Said = serde_json::from_str(&text).unwrap();
                    say(&room, &name, said.text);
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
    room.lock().unwrap().queues.remove(&conn);
}

/// A line said: kept, with the next id, and passed to everyone's queue.
fn say(room: &Shared, from: &str, text: String) {
    let mut room = room.lock().unwrap();
    let chat = Chat { id: room.said.len() + 1, from: from.to_string(), text };
    let line = Message::text(serde_json::to_string(&chat).unwrap());
    for queue in room.queues.values() {
        let _ = queue.send(line.clone());
    }
    room.said.push(chat);
}

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5003, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5003") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5003".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on http://{}", listener.local_addr().unwrap());
    let room = Shared::default();
    for conn in 1.. {
        // Wait for the next connection, then serve it in a task of its own; hyper
        // calls `handle` for each request on it, and lets `/ws` take it over.
        let (stream, _peer) = listener.accept().await.unwrap();
        let room = Arc::clone(&room);
        let service = service_fn(move |req| handle(req, conn, Arc::clone(&room)));
        tokio::spawn(
            http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades(),
        );
    }
}
