//! Lesson 13, exercise 2: polling, on the first version. Fill in the `todo!()` in
//! `after`: `GET /api/messages?since=N` answers with the lines after line N only,
//! so that a client that polls gets each line once.
//!
//!     cargo run -p http_push_first --example http_push_exercise_since
//!     scripts/exercise http_push 2

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full};
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

/// The browser client (`page.html`, 12 lines): a list of lines that an
/// `EventSource` fills, and a box whose lines go out by `POST`.
const PAGE: &str = include_str!("../page.html");

/// What a client says, in JSON: `{"type":"chat","text":"hello"}` on the WebSocket,
/// `{"name":"Ann","text":"hello"}` by `POST`.
#[derive(Deserialize)]
struct Said {
    name: Option<String>,
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
/// An answer: all of it at once, or an event stream that goes on.
type Answer = Response<Either<Body, Channel<Bytes>>>;

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(mut req: Request<Incoming>, conn: u64, room: Shared) -> Result<Answer, Infallible> {
    let mut response = Response::new(Body::default());
    match req.uri().path() {
        "/api/events" => return Ok(events(conn, room).map(Either::Right)),
        "/api/messages" if req.method() == Method::POST => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let said: Said = serde_json::from_slice(&body).unwrap();
            say(&room, &said.name.unwrap(), said.text);
            *response.status_mut() = StatusCode::CREATED;
        }
        "/api/messages" if req.uri().query().is_some() => {
            let room = room.lock().unwrap();
            let json =
                serde_json::to_string(after(&room.said, req.uri().query().unwrap())).unwrap();
            response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().unwrap());
            *response.body_mut() = Body::from(json);
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
    Ok(response.map(Either::Left))
}

/// The lines of `said` after line N, where the query is `since=N`.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn after<'a>(said: &'a [Chat], query: &str) -> &'a [Chat] {
    todo!("read N from since=N, and return the lines after line N")
}

/// `GET /api/events`: a response whose body is a channel. The room puts each line
/// in this connection's queue, as for a WebSocket; a task of its own writes it into
/// the body as an event, and hyper sends it at once, as a chunk.
fn events(conn: u64, room: Shared) -> Response<Channel<Bytes>> {
    let (mut body, stream) = Channel::new(16);
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().queues.insert(conn, queue);
    println!("conn #{conn} hears the room as events");
    tokio::spawn(async move {
        while let Some(Message::Text(line)) = lines.recv().await {
            let event = format!("data: {}\n\n", line.as_str());
            if body.send_data(Bytes::from(event)).await.is_err() {
                break; // the client has gone: we learn it when we write
            }
        }
        room.lock().unwrap().queues.remove(&conn);
    });
    let mut response = Response::new(stream);
    response.headers_mut().insert(CONTENT_TYPE, "text/event-stream".parse().unwrap());
    response
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
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5007, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5007") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5007".to_string());
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
