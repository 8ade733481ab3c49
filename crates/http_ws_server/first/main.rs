//! Lesson 07, first version: one hyper server that answers a page, a JSON API and a
//! WebSocket chat on one port. One idea: a WebSocket is an HTTP request that asks
//! to upgrade, so an HTTP server can take it on any path it likes (`/ws` here).
//!
//!     cargo run -p http_ws_server_first
//!     open http://127.0.0.1:5003/ in two browser tabs; curl http://127.0.0.1:5003/api/messages
//!
//! It `unwrap`s where the full lesson (`cargo run -p http_ws_server`) answers, keeps
//! every line for ever, and lets a slow reader miss lines: the page shows each.

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
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The browser client: a list of lines, a box to type in, and a WebSocket.
const PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>Chat</title>
<ul id="lines"></ul><input id="say" aria-label="Say" placeholder="Type, then Enter">
<script>
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = (event) => lines.append(Object.assign(document.createElement("li"), { textContent: event.data }));
say.onkeydown = (event) => { if (event.key === "Enter") { ws.send(say.value); say.value = ""; } };
</script>
"#;

/// What every connection shares: every line said, and a channel that hands each
/// new line to every WebSocket's task.
struct Shared {
    history: Mutex<Vec<String>>,
    lines: broadcast::Sender<String>,
}

type Body = Full<Bytes>;

/// One HTTP request in, one response out; `/ws` answers 101 and goes on as a chat.
async fn handle(
    mut req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Infallible> {
    let mut response = Response::new(Body::default());
    match req.uri().path() {
        "/" => *response.body_mut() = Body::from(PAGE),
        "/api/messages" => {
            let json = serde_json::to_string(&*shared.history.lock().unwrap()).unwrap();
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
                chat(
                    WebSocketStream::from_raw_socket(connection, Role::Server, None).await,
                    &shared,
                )
                .await;
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

/// One WebSocket: what it says is kept and passed to everyone; what everyone says
/// is sent to it.
async fn chat(ws: WebSocketStream<TokioIo<Upgraded>>, shared: &Shared) {
    let (mut to_client, mut from_client) = ws.split();
    let mut lines = shared.lines.subscribe();
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    shared.history.lock().unwrap().push(text.to_string());
                    let _ = shared.lines.send(text.to_string());
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            line = lines.recv() => match line {
                Ok(line) => to_client.send(Message::text(line)).await.unwrap(),
                // Too far behind (16 lines): tokio's broadcast skips the lines missed.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
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
    let shared = Arc::new(Shared { history: Mutex::default(), lines: broadcast::channel(16).0 });
    loop {
        let (stream, _peer) = listener.accept().await.unwrap();
        let shared = Arc::clone(&shared);
        let service = service_fn(move |req| handle(req, Arc::clone(&shared)));
        tokio::spawn(
            http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades(),
        );
    }
}
