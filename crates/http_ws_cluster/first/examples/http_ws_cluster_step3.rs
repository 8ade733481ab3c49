//! Lesson 09, step 3 of 3: Redis restarts, and the room heals.
//! When Redis goes away, each instance says the room is split and passes its own
//! clients' lines to them alone; once Redis is back it listens again, says the room
//! is whole, and publishes on a new connection.
//!
//!     cargo run -p http_ws_cluster_first --example http_ws_cluster_step3
//!     redis-server restarted while two instances run
//!
//! Page 09 shows this step as a diff against the one before (`scripts/diff-lessons 9
//! --steps`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(
    mut req: Request<Incoming>,
    conn: u64,
    room: Shared,
    (redis, client): (MultiplexedConnection, redis::Client),
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
                chat(ws, conn, room, redis, client).await;
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
    room: Shared,
    mut redis: MultiplexedConnection,
    client: redis::Client,
) {
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().queues.insert(conn, queue);
    // A number from Redis, one count for every instance: INCR adds one and answers
    // the new value in one step, so no two guests anywhere get the same name.
    let number: u64 = redis.incr("chat:first:guests", 1).await.unwrap();
    let name = format!("guest-{number}");
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let said: Said = serde_json::from_str(&text).unwrap();
                    let published = Published { from: name.clone(), text: said.text };
                    let json = serde_json::to_string(&published).unwrap();
                    // Redis gone, or restarted: a new connection, and try once more;
                    // still gone, the room is split: say it to the people here only.
                    if redis.publish::<_, _, ()>(CHANNEL, &json).await.is_err() {
                        match client.get_multiplexed_async_connection().await {
                            Ok(again) => {
                                redis = again;
                                let _ = redis.publish::<_, _, ()>(CHANNEL, &json).await;
                            }
                            Err(_) => say(&room, &published.from, published.text),
                        }
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

// One function, as the first version is, so that each step's diff is its defence
// alone; the full lesson gives each part a function of its own.
#[allow(clippy::too_many_lines)]
#[tokio::main]
async fn main() -> ExitCode {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5004, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5004") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5004".to_string());
    // Redis: LESSON_REDIS, or the one redis-server starts on by default.
    let redis_url = std::env::var("LESSON_REDIS").unwrap_or("redis://127.0.0.1:6379".to_string());
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let listener = TcpListener::bind(&addr).await.unwrap();
    let room = Shared::default();
    // Everything said on the channel, by this instance's clients or another's, is
    // said here: a connection of its own that only listens.
    let mut subscription = match redis.get_async_pubsub().await {
        Ok(subscription) => subscription,
        // No Redis there: say so in one line, with what to do, and end with status 1.
        Err(err) => {
            eprintln!(
                "error: cannot reach Redis at {redis_url} ({err}). Start it in another \
                 terminal: redis-server --port 6379 --bind 127.0.0.1"
            );
            return ExitCode::FAILURE;
        }
    };
    subscription.subscribe(CHANNEL).await.unwrap();
    let (heard_by, client) = (Arc::clone(&room), redis.clone());
    tokio::spawn(async move {
        let mut messages = subscription.into_on_message();
        loop {
            while let Some(message) = messages.next().await {
                let payload: String = message.get_payload().unwrap();
                let published: Published = serde_json::from_str(&payload).unwrap();
                say(&heard_by, &published.from, published.text);
            }
            // The subscription ended: Redis went away. Meanwhile each instance hears
            // only itself. Try again every 0.25 s; once back, tell the clients here.
            say(&heard_by, "server", "the room is split: Redis is gone".to_string());
            messages = loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let Ok(mut again) = client.get_async_pubsub().await else { continue };
                if again.subscribe(CHANNEL).await.is_ok() {
                    break again.into_on_message();
                }
            };
            say(&heard_by, "server", "the room is whole again".to_string());
        }
    });
    // And one connection to publish on, shared by every client's task.
    let publisher = redis.get_multiplexed_async_connection().await.unwrap();
    println!("Listening on http://{}", listener.local_addr().unwrap());
    for conn in 1.. {
        // Wait for the next connection, then serve it in a task of its own; hyper
        // calls `handle` for each request on it, and lets `/ws` take it over.
        let (stream, _peer) = listener.accept().await.unwrap();
        let room = Arc::clone(&room);
        let redis = (publisher.clone(), redis.clone());
        let service = service_fn(move |req| handle(req, conn, Arc::clone(&room), redis.clone()));
        tokio::spawn(
            http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades(),
        );
    }
    ExitCode::SUCCESS
}
