//! Lesson 12, step 2 of 3: a session the server forgot, logged in again.
//! A server that restarted has forgotten every session: the handshake is refused
//! with 401, and the client logs in again, instead of retrying with that cookie for
//! ever.
//!
//!     cargo run -p ws_login_client_first --example ws_login_client_step2 -- --name Ada hello
//!
//! Page 12 shows this step as a diff against the one before (`scripts/diff-lessons 12
//! --steps`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::handshake::client::Request as Handshake;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn on_open(url: &str) {
    println!("on_open: {url}");
}

fn on_message(text: &str) {
    println!("on_message: {text}");
}

fn on_error(error: &str) {
    println!("on_error: {error}");
}

fn on_close(why: &str) {
    println!("on_close: {why}");
}

/// Logs in as `name` (`POST /api/login`, as lesson 02 sends a request) and returns
/// the WebSocket's handshake for `url` with the session's cookie: what a browser
/// sends by itself. The answer's `Set-Cookie` is `session=...; Path=/; HttpOnly;
/// ...`: the cookie is its `name=value`, before the attributes.
async fn log_in(addr: &str, name: &str, url: &str) -> Handshake {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let body = serde_json::json!({ "name": name }).to_string();
    let request = Request::post("/api/login")
        .header(HOST, addr)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let answer = sender.send_request(request).await.unwrap();
    let set_cookie = answer.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap();
    let mut handshake = url.into_client_request().unwrap();
    handshake.headers_mut().insert(COOKIE, cookie.parse().unwrap());
    handshake
}

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5006, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5006") reads it; --name NAME. The
    // other words are a first message.
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    let addr = match words.iter().position(|word| word == "--addr") {
        Some(at) => words.drain(at..at + 2).nth(1).unwrap(),
        None => std::env::var("LESSON_ADDR").unwrap_or("127.0.0.1:5006".to_string()),
    };
    let at = words.iter().position(|word| word == "--name").unwrap();
    let name = words.drain(at..at + 2).nth(1).unwrap();
    let url = format!("ws://{addr}/ws");
    let mut handshake = log_in(&addr, &name, &url).await;
    let first = words.join(" ");
    // Said in lesson 07's JSON, as its page does: {"type":"chat","text":"hello"}.
    let said = serde_json::json!({ "type": "chat", "text": first }).to_string();
    loop {
        match tokio_tungstenite::connect_async(handshake.clone()).await {
            Ok((mut ws, _response)) => {
                on_open(&url);
                if !first.is_empty() {
                    ws.send(Message::text(said.as_str())).await.unwrap();
                }
                // Every event, until the connection ends.
                let mut why = "the connection ended".to_string();
                let mut session_ended = false;
                while let Some(message) = ws.next().await {
                    match message {
                        Ok(Message::Text(text)) => on_message(&text),
                        // The server's Close says why: 4401, the session ended.
                        Ok(Message::Close(Some(close))) => {
                            why = format!("{} {}", close.code, close.reason);
                            session_ended = close.code == CloseCode::Library(4401);
                        }
                        Ok(_) => {}
                        Err(err) => on_error(&err.to_string()),
                    }
                }
                on_close(&why);
                // The cookie is dead: reconnecting with it would only be refused.
                // A new login, a new cookie, and back at once.
                if session_ended {
                    handshake = log_in(&addr, &name, &url).await;
                    continue;
                }
            }
            // 401: the server does not know our session (it restarted, and forgot
            // them all). Log in again, and try at once.
            Err(WsError::Http(refused)) if refused.status() == StatusCode::UNAUTHORIZED => {
                on_error(&format!("{}: logging in again", refused.status()));
                handshake = log_in(&addr, &name, &url).await;
                continue;
            }
            Err(err) => on_error(&err.to_string()),
        }
        // As run_forever(reconnect=5): wait 5 s, then try again.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
