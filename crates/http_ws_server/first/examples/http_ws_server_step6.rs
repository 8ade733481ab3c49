//! Lesson 07, step 6 of 6: Ctrl-C says goodbye to every WebSocket.
//! On Ctrl-C each WebSocket client is sent Close 1001, "server shutting down".
//!
//!     cargo run -p http_ws_server_first --example http_ws_server_step6
//!     open http://127.0.0.1:5003/, then Ctrl-C in the server's terminal
//!
//! Page 07 shows this step as a diff against the one before (`scripts/diff-lessons 7
//! --steps`).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CONNECTION, CONTENT_TYPE, HOST, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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
/// and now the newest lines said, for the API, and the last id given.
#[derive(Default)]
struct Room {
    queues: HashMap<u64, mpsc::Sender<Message>>,
    said: VecDeque<Chat>,
    last_id: usize,
}

/// How many lines `GET /api/messages` answers: the newest 100, not all for ever.
const HISTORY: usize = 100;
/// Lesson 05's step 1: the most lines that wait for one client, and how long a
/// speaker waits for room in a full queue before that client is put out.
const QUEUE_LENGTH: usize = 256;
const STALL_LIMIT: Duration = Duration::from_secs(2);

type Shared = Arc<Mutex<Room>>;
type Body = Full<Bytes>;

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(
    mut req: Request<Incoming>,
    conn: u64,
    room: Shared,
    stopping: watch::Receiver<bool>,
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
            // Not a WebSocket handshake (a plain GET, say): 426, and what to ask for.
            let headers = req.headers();
            let upgrade = headers
                .get(UPGRADE)
                .is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"websocket"));
            if !upgrade || !headers.contains_key(SEC_WEBSOCKET_KEY) {
                *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
                response.headers_mut().insert(UPGRADE, "websocket".parse().unwrap());
                return Ok(response);
            }
            // A page of another site (a browser says which in `Origin`) must not
            // chat as the person who opened it: 403.
            let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
            let ours = format!("http://{host}");
            if headers.get(ORIGIN).is_some_and(|origin| origin.as_bytes() != ours.as_bytes()) {
                *response.status_mut() = StatusCode::FORBIDDEN;
                return Ok(response);
            }
            // The upgrade: prove we read the key (RFC 6455), answer 101, and hyper
            // hands the connection over once the 101 is sent.
            let key = req.headers().get(SEC_WEBSOCKET_KEY).unwrap().as_bytes();
            let accept = derive_accept_key(key).parse().unwrap();
            let upgrading = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let connection = TokioIo::new(upgrading.await.unwrap());
                let ws = WebSocketStream::from_raw_socket(connection, Role::Server, None).await;
                chat(ws, conn, room, stopping).await;
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

/// Lesson 05's chat: what a client says is kept and goes to everyone's queue; what
/// is in its queue goes to it.
async fn chat(
    ws: WebSocketStream<TokioIo<Upgraded>>,
    conn: u64,
    room: Shared,
    mut stopping: watch::Receiver<bool>,
) {
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::channel(QUEUE_LENGTH);
    room.lock().unwrap().queues.insert(conn, queue);
    let name = format!("guest-{conn}");
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Said>(&text) {
                    Ok(said) => {
                        let line = say(&room, conn, &name, said.text).await;
                        // Our own line straight back: queued, it could wait for our
                        // own full queue, which only this task empties.
                        if to_client.send(line).await.is_err() {
                            break;
                        }
                    }
                    // Not what the page sends: say so to this client, and go on.
                    Err(err) => {
                        let message = format!("not a message this server understands: {err}");
                        let error = serde_json::json!({ "type": "error", "message": message });
                        if to_client.send(Message::text(error.to_string())).await.is_err() {
                            break;
                        }
                    }
                },
                Some(Ok(_)) => {}
                // Closed, or the connection broke: leave the room.
                Some(Err(_)) | None => break,
            },
            // Ctrl-C: Close 1001, "going away", as in lesson 03's step 4.
            _ = stopping.changed() => {
                let _ = to_client.send(close(CloseCode::Away, "server shutting down")).await;
                break;
            }
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
    room.lock().unwrap().queues.remove(&conn);
}

/// A line said: kept, with the next id, and passed to the others' queues (a full
/// one is waited for, out of the lock, 2 s at most, then its client is put out);
/// the speaker's own copy is returned.
async fn say(shared: &Shared, conn: u64, from: &str, text: String) -> Message {
    let (line, queues) = {
        let mut room = shared.lock().unwrap();
        room.last_id += 1;
        let chat = Chat { id: room.last_id, from: from.to_string(), text };
        let line = Message::text(serde_json::to_string(&chat).unwrap());
        room.said.push_back(chat);
        if room.said.len() > HISTORY {
            room.said.pop_front();
        }
        let queues: Vec<_> = room.queues.iter().map(|(c, q)| (*c, q.clone())).collect();
        (line, queues)
    };
    for (other, queue) in queues.into_iter().filter(|(other, _)| *other != conn) {
        if tokio::time::timeout(STALL_LIMIT, queue.send(line.clone())).await.is_err() {
            shared.lock().unwrap().queues.remove(&other);
        }
    }
    line
}

/// A Close frame: a code a program can act on, a reason a person can read.
fn close(code: CloseCode, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
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
    // Lesson 01's step 2: a client must send its request head within 5 s.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(5));
    // Ctrl-C, told to every WebSocket, as in lesson 03's step 4.
    let (stop, stopping) = watch::channel(false);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    for conn in 1.. {
        // The next connection, served in a task of its own (hyper calls `handle`
        // for each request on it, and lets `/ws` take it over), or Ctrl-C.
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => accepted.unwrap(),
            _ = &mut ctrl_c => break,
        };
        let (room, stopping) = (Arc::clone(&room), stopping.clone());
        let service = service_fn(move |req| handle(req, conn, Arc::clone(&room), stopping.clone()));
        tokio::spawn(http.serve_connection(TokioIo::new(stream), service).with_upgrades());
    }
    // Tell every WebSocket, and give them a second to say goodbye.
    drop(stopping);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(1), stop.closed()).await;
}
