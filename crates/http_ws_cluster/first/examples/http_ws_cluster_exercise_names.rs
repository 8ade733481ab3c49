//! Lesson 09, exercise 3, from the first version: two instances each have a
//! `guest-1`, so the room cannot tell them apart. Here a name says where its client
//! is connected: `guest-1@5004` and `guest-1@5005`.
//!
//!     redis-server --port 6379 --bind 127.0.0.1
//!     cargo run -p http_ws_cluster_first --example http_ws_cluster_exercise_names
//!     cargo run -p http_ws_cluster_first --example http_ws_cluster_exercise_names -- --addr 127.0.0.1:5005
//!     open http://127.0.0.1:5004/ and http://127.0.0.1:5005/
//!
//! Each instance now gives `chat` the port it listens on, and `chat` asks
//! `guest_name` for its client's name. Write `guest_name`. Until you do, its
//! `todo!()` panics when a client connects. Check it with
//! `scripts/exercise http_ws_cluster 3`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The browser client: lesson 07's first page, unchanged.
const PAGE: &str = include_str!("../../../http_ws_server/first/page.html");

/// The Redis channel every instance publishes to and listens on.
const CHANNEL: &str = "chat:first";

/// What a client says, in JSON: `{"type":"chat","text":"hello"}`.
#[derive(Deserialize)]
struct Said {
    text: String,
}

/// What an instance publishes to Redis: who said what.
#[derive(Serialize, Deserialize)]
struct Published {
    from: String,
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

/// The name of connection `conn` on the instance that listens on `port`:
/// `guest-1@5004`. Two instances may both have a connection 1, never on one port.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn guest_name(conn: u64, port: u16) -> String {
    todo!("`guest-`, the number, `@` and the port")
}

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(
    mut req: Request<Incoming>,
    conn: u64,
    port: u16,
    room: Shared,
    redis: MultiplexedConnection,
) -> Result<Response<Body>, Infallible> {
    let mut response = Response::new(Body::default());
    match req.uri().path() {
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
                chat(ws, conn, port, room, redis).await;
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

/// Lesson 05's chat: what a client says goes to Redis (and comes back to every
/// instance, this one too); what is in its queue goes to it.
async fn chat(
    ws: WebSocketStream<TokioIo<Upgraded>>,
    conn: u64,
    port: u16,
    room: Shared,
    mut redis: MultiplexedConnection,
) {
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().queues.insert(conn, queue);
    let name = guest_name(conn, port);
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let said: Said = serde_json::from_str(&text).unwrap();
                    let published = Published { from: name.clone(), text: said.text };
                    let json = serde_json::to_string(&published).unwrap();
                    let () = redis.publish(CHANNEL, json).await.unwrap();
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

/// A line heard from Redis: kept, with the next id, and passed to everyone's queue.
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
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5004, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5004") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5004".to_string());
    // Redis: LESSON_REDIS, or the one redis-server starts on by default.
    let redis_url = std::env::var("LESSON_REDIS").unwrap_or("redis://127.0.0.1:6379".to_string());
    let redis = redis::Client::open(redis_url).unwrap();
    let listener = TcpListener::bind(&addr).await.unwrap();
    let room = Shared::default();
    // Everything said on the channel, by this instance's clients or another's, is
    // said here: a connection of its own that only listens.
    let mut subscription = redis.get_async_pubsub().await.unwrap();
    subscription.subscribe(CHANNEL).await.unwrap();
    let heard_by = Arc::clone(&room);
    tokio::spawn(async move {
        let mut messages = subscription.into_on_message();
        while let Some(message) = messages.next().await {
            let payload: String = message.get_payload().unwrap();
            let published: Published = serde_json::from_str(&payload).unwrap();
            say(&heard_by, &published.from, published.text);
        }
    });
    // And one connection to publish on, shared by every client's task.
    let publisher = redis.get_multiplexed_async_connection().await.unwrap();
    println!("Listening on http://{}", listener.local_addr().unwrap());
    let port = listener.local_addr().unwrap().port();
    for conn in 1.. {
        // Wait for the next connection, then serve it in a task of its own; hyper
        // calls `handle` for each request on it, and lets `/ws` take it over.
        let (stream, _peer) = listener.accept().await.unwrap();
        let room = Arc::clone(&room);
        let publisher = publisher.clone();
        let service =
            service_fn(move |req| handle(req, conn, port, Arc::clone(&room), publisher.clone()));
        tokio::spawn(
            http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades(),
        );
    }
}
