//! Lesson 11, step 5 of 5: a name is one person's.
//! A login as a name that a live session holds gets 409 Conflict, instead of a
//! second person chatting under the first one's name.
//!
//!     cargo run -p http_ws_login_first --example http_ws_login_step5
//!
//! Page 11 shows this step as a diff against the one before (`scripts/diff-lessons 11
//! --steps`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, COOKIE, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use hyper::header::{HOST, ORIGIN, SET_COOKIE, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The browser client (`page.html`, 19 lines): lesson 07's, with a login form that
/// posts the name and only then opens the WebSocket.
const PAGE: &str = include_str!("../page.html");

/// A login, in JSON: `{"name":"Ada"}`.
#[derive(Deserialize)]
struct Login {
    name: String,
}

/// What a client says, in JSON: `{"type":"chat","text":"hello"}`.
#[derive(Deserialize)]
struct Said {
    text: String,
}

/// A line said, as everyone gets it and `GET /api/messages` keeps it:
/// `{"type":"chat","id":1,"from":"Ada","text":"hello"}`. Each has the next id.
#[derive(Serialize)]
#[serde(tag = "type", rename = "chat")]
struct Chat {
    id: usize,
    from: String,
    text: String,
}

/// Lesson 07's room, and now who is logged in: each session id and its session.
#[derive(Default)]
struct Room {
    queues: HashMap<u64, mpsc::UnboundedSender<Message>>,
    said: Vec<Chat>,
    sessions: HashMap<String, Session>,
    /// How long a session lasts: `--session SECONDS`.
    lifetime: Duration,
}

/// A session: its name, and a channel whose sender, dropped with the session (at
/// logout), tells each of its sockets that it ended.
struct Session {
    name: String,
    ended: watch::Sender<()>,
    expires: Instant,
}

/// What a socket holds of its session: the name, the news of its end, its expiry.
type Ticket = (String, watch::Receiver<()>, Instant);

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
        "/" => *response.body_mut() = Body::from(PAGE),
        "/api/messages" => {
            let json = serde_json::to_string(&room.lock().unwrap().said).unwrap();
            response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().unwrap());
            *response.body_mut() = Body::from(json);
        }
        "/api/login" => return Ok(login(req, &room).await),
        "/api/logout" => {
            if let Some(id) = session_id(&req) {
                room.lock().unwrap().sessions.remove(&id);
            }
        }
        "/ws" => {
            if from_another_page(&req) {
                *response.status_mut() = StatusCode::FORBIDDEN;
                return Ok(response);
            }
            // Who is it? The session its cookie names; no session, no chat.
            let Some(ticket) = session(&req, &room) else {
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                return Ok(response);
            };
            // The upgrade: prove we read the key (RFC 6455), answer 101, and hyper
            // hands the connection over once the 101 is sent.
            let key = req.headers().get(SEC_WEBSOCKET_KEY).unwrap().as_bytes();
            let accept = derive_accept_key(key).parse().unwrap();
            let upgrading = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let connection = TokioIo::new(upgrading.await.unwrap());
                let ws = WebSocketStream::from_raw_socket(connection, Role::Server, None).await;
                chat(ws, conn, ticket, room).await;
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

/// Whether a browser says the request comes from a page that is not ours. A page on
/// another port of this machine is the same *site*, so the browser sends it our
/// SameSite=Strict cookie; but not the same *origin* (a port is part of an origin),
/// and `Origin` says which one asks. No `Origin`: not a browser (curl, websocat).
fn from_another_page(req: &Request<Incoming>) -> bool {
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let ours = format!("http://{host}");
    req.headers().get(ORIGIN).is_some_and(|origin| origin.as_bytes() != ours.as_bytes())
}

/// `POST /api/login`: a new session. Its id is 128 random bits from the operating
/// system, in hex, kept here with the name, and given to the browser in a cookie
/// that no script may read (HttpOnly) and no other site's page gets (SameSite).
async fn login(req: Request<Incoming>, room: &Shared) -> Response<Body> {
    let mut response = Response::new(Body::default());
    // Another site's page may post a form here: without this, it logs the visitor
    // in under a name of its choosing (login CSRF), and what they type goes out
    // under that name.
    if from_another_page(&req) {
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let login: Login = serde_json::from_slice(&body).unwrap();
    let id = format!("{:016x}{:016x}", getrandom::u64().unwrap(), getrandom::u64().unwrap());
    let mut room = room.lock().unwrap();
    // A name that a live session holds is someone else's: 409 Conflict.
    let now = Instant::now();
    if room.sessions.values().any(|s| s.name == login.name && s.expires > now) {
        *response.status_mut() = StatusCode::CONFLICT;
        return response;
    }
    // The browser forgets the cookie after Max-Age; the server, at `expires`.
    let age = room.lifetime.as_secs();
    let cookie = format!("session={id}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict");
    let expires = Instant::now() + room.lifetime;
    let session = Session { name: login.name, ended: watch::channel(()).0, expires };
    room.sessions.insert(id, session);
    response.headers_mut().insert(SET_COOKIE, cookie.parse().unwrap());
    response
}

/// The session the request's cookie names, if there is one.
fn session(req: &Request<Incoming>, room: &Shared) -> Option<Ticket> {
    let id = session_id(req)?;
    let room = room.lock().unwrap();
    let live = room.sessions.get(&id).filter(|s| s.expires > Instant::now());
    live.map(|s| (s.name.clone(), s.ended.subscribe(), s.expires))
}

/// The session id in the request's `Cookie` header: `Cookie: session=3f9a...`.
fn session_id(req: &Request<Incoming>) -> Option<String> {
    let cookies = req.headers().get(COOKIE)?.to_str().ok()?;
    let mut pairs = cookies.split(';').filter_map(|pair| pair.trim().split_once('='));
    pairs.find(|(name, _)| *name == "session").map(|(_, id)| id.to_string())
}

/// Lesson 07's chat, as the session's name: what a client says is kept and goes to
/// everyone's queue; what is in its queue goes to it.
async fn chat(ws: WebSocketStream<TokioIo<Upgraded>>, conn: u64, ticket: Ticket, room: Shared) {
    let (name, mut ended, expires) = ticket;
    let (mut to_client, mut from_client) = ws.split();
    let (queue, mut lines) = mpsc::unbounded_channel();
    room.lock().unwrap().queues.insert(conn, queue);
    loop {
        tokio::select! {
            // The session ended (logged out, in any tab, or expired): 4401, a code of
            // our own (4000-4999 are the application's), so the page asks for a login.
            _ = ended.changed() => {
                let close = CloseFrame { code: 4401.into(), reason: "session ended".into() };
                let _ = to_client.send(Message::Close(Some(close))).await;
                break;
            }
            () = tokio::time::sleep_until(expires) => {
                let close = CloseFrame { code: 4401.into(), reason: "session ended".into() };
                let _ = to_client.send(Message::Close(Some(close))).await;
                break;
            }
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
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5006, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5006") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5006".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on http://{}", listener.local_addr().unwrap());
    // How long a session lasts: --session SECONDS, an hour if not given.
    let seconds = std::env::args().skip_while(|arg| arg != "--session").nth(1);
    let lifetime = Duration::from_secs(seconds.map_or(3600, |s| s.parse().unwrap()));
    let room = Shared::new(Mutex::new(Room { lifetime, ..Room::default() }));
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
