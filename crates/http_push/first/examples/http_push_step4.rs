//! Lesson 13, step 4 of 4: ready for a proxy. nginx (lesson 10), buffering, reads
//! on for a client that stops reading, into a file, so the server never puts it
//! out, unless the response says `X-Accel-Buffering: no`; a cache may keep a copy,
//! unless `Cache-Control: no-cache`; and a proxy cuts a connection that is silent
//! for a minute, unless a comment (`: ...`) comes every 15 s. The comments also
//! tell us when a silent client has gone.
//!
//!     cargo run -p http_push_first --example http_push_step4
//!
//! Page 13 shows this step as a diff against the one before (`scripts/diff-lessons 13
//! --steps`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT};
use hyper::header::{SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The browser client (`page.html`, 12 lines): a list of lines that an
/// `EventSource` fills, and a box whose lines go out by `POST`.
const PAGE: &str = include_str!("../page.html");
/// The longest a long poll waits: under every proxy's timeout (lesson 10's is 60 s).
const MAX_WAIT: u64 = 25;
/// A comment this often keeps an idle stream open through a proxy.
const COMMENT_EVERY: Duration = Duration::from_secs(15);
/// How long a stream may leave a line unread before it is put out.
const STALL_LIMIT: Duration = Duration::from_secs(2);

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
    /// How many lines were said: a long poll waits for it to change.
    count: watch::Sender<usize>,
}

type Shared = Arc<Mutex<Room>>;
type Body = Full<Bytes>;
/// An answer: all of it at once, or an event stream that goes on.
type Answer = Response<Either<Body, Events>>;
/// An event stream's body; an error (`abort`) cuts its connection.
type Events = Channel<Bytes, std::io::Error>;

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(mut req: Request<Incoming>, conn: u64, room: Shared) -> Result<Answer, Infallible> {
    let mut response = Response::new(Body::default());
    match req.uri().path() {
        "/api/events" => {
            // The id of the last event a reconnecting browser got, if any.
            let last = req.headers().get("last-event-id");
            let last = last.map(|id| id.to_str().unwrap().parse().unwrap());
            return Ok(events(last, conn, room).map(Either::Right));
        }
        "/api/messages" if req.method() == Method::POST => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let said: Said = serde_json::from_slice(&body).unwrap();
            say(&room, &said.name.unwrap(), said.text);
            *response.status_mut() = StatusCode::CREATED;
        }
        "/api/messages" if req.uri().query().is_some() => {
            let json = long_poll(req.uri().query().unwrap(), &room).await;
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

/// `GET /api/messages?since=N&wait=S`: the lines after line N, as JSON; if there
/// are none yet, it first waits up to S seconds for one.
async fn long_poll(query: &str, room: &Shared) -> String {
    let (mut since, mut wait) = (0, 0);
    for (key, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
        match key {
            "since" => since = value.parse().unwrap(),
            "wait" => wait = value.parse::<u64>().unwrap().min(MAX_WAIT),
            _ => {}
        }
    }
    // Subscribe, then look: `wait_for` looks at the count first, and a line said
    // since we subscribed has changed it.
    let mut count = room.lock().unwrap().count.subscribe();
    let more = count.wait_for(|count| *count > since);
    let _ = tokio::time::timeout(Duration::from_secs(wait), more).await;
    let room = room.lock().unwrap();
    serde_json::to_string(&room.said[since.min(room.said.len())..]).unwrap()
}

/// `GET /api/events`: a response whose body is a channel. The room puts each line
/// in this connection's queue, as for a WebSocket; a task of its own writes it into
/// the body as an event, and hyper sends it at once, as a chunk.
fn events(last: Option<usize>, conn: u64, room: Shared) -> Response<Events> {
    let (mut body, stream) = Channel::new(16);
    let (queue, mut lines) = mpsc::unbounded_channel();
    {
        // The lines after `last` first, then the room's: under one lock, so that no
        // line falls between the two.
        let mut room = room.lock().unwrap();
        let missed = last.map_or(&[][..], |last| &room.said[last.min(room.said.len())..]);
        for chat in missed {
            let _ = queue.send(Message::text(serde_json::to_string(chat).unwrap()));
        }
        room.queues.insert(conn, queue);
    }
    println!("conn #{conn} hears the room as events");
    tokio::spawn(async move {
        // Its first tick is at once: the stream starts with a comment.
        let mut comment = tokio::time::interval(COMMENT_EVERY);
        loop {
            let event = tokio::select! {
                Some(Message::Text(line)) = lines.recv() => {
                    // `id:` before the data: the browser keeps it, and sends it back.
                    let chat: serde_json::Value = serde_json::from_str(&line).unwrap();
                    format!("id: {}\ndata: {}\n\n", chat["id"], line.as_str())
                }
                _ = comment.tick() => ": still here\n\n".to_string(),
            };
            match tokio::time::timeout(STALL_LIMIT, body.send_data(Bytes::from(event))).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break, // the client has gone: we learn it when we write
                Err(_) => {
                    println!("conn #{conn} put out of the room: it stopped reading");
                    body.abort(std::io::Error::other("not reading"));
                    break;
                }
            }
        }
        room.lock().unwrap().queues.remove(&conn);
    });
    let mut response = Response::new(stream);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, "text/event-stream".parse().unwrap());
    headers.insert(CACHE_CONTROL, "no-cache".parse().unwrap());
    headers.insert("x-accel-buffering", "no".parse().unwrap());
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
    room.count.send_replace(room.said.len());
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
