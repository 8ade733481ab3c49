//! `/ws`: the WebSocket side of lesson 07. The upgrade is done by hand, check by
//! check, as RFC 6455 section 4.2 describes it; then the connection joins the room
//! exactly as in lesson 05, with JSON messages and a heartbeat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CONNECTION, HOST, HeaderMap, HeaderValue, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tracing::{debug, info};

use crate::Shared;
use crate::room::{ClientMessage, Room, ServerMessage};

/// The largest message we accept, in bytes. A bigger one closes that connection
/// with 1009 (message too big).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// A client whose connection takes nothing for this long (it stopped reading, or
/// the network is gone) is dropped, so it cannot hold its place for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a close handshake may take before we hang up anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Checks that `req` is a WebSocket handshake and answers it. On success the answer
/// is `101 Switching Protocols`, and a new task takes the connection from hyper
/// once that answer is sent; otherwise it is a 4xx that says what was wrong.
pub fn upgrade(req: Request<Incoming>, conn: u64, shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let checked = check_handshake(req.method(), req.version(), req.headers())
        .and_then(|key| check_origin(req.headers(), &shared.allow_origins).map(|()| key));
    let key = match checked {
        Ok(key) => key,
        Err((status, problem)) => {
            let mut response =
                crate::text(status, format!("Not a WebSocket handshake: {problem}.\n"));
            if status == StatusCode::UPGRADE_REQUIRED {
                // RFC 9110 15.5.22: a 426 names the protocol to upgrade to; RFC 6455
                // 4.4: and the WebSocket version we speak.
                let headers = response.headers_mut();
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            return response;
        }
    };

    // The Accept value proves we read this very request: SHA-1 of the key and a
    // fixed GUID, in base64 (tungstenite computes it; lesson 03 shows the recipe).
    let accept = derive_accept_key(key.as_bytes());
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header"),
    );

    // hyper sends our 101 when we return it, and only then gives up the connection:
    // so the waiting happens in a task of its own. Subscribe to the shutdown signal
    // now, while this HTTP connection's task is still holding one.
    let shared = Arc::clone(shared);
    let mut shutdown = shared.shutdown.subscribe();
    tokio::spawn(async move {
        // `on` takes the request itself, so that its headers are freed once the
        // connection is ours, rather than kept for as long as the client stays.
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                info!("conn #{conn} upgrade failed: {err}");
                return;
            }
        };
        // The same small buffers and limits as lessons 03 and 05.
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES))
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0);
        // The handshake is done (by us), so tungstenite starts straight at frames.
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let ended = chat(ws, conn, &mut shutdown, &shared).await;
        match ended {
            Ended::ClosedByClient(Some(frame)) => {
                info!(
                    "conn #{conn} closed by the client: {} {:?}",
                    frame.code,
                    frame.reason.as_str()
                );
            }
            Ended::ClosedByClient(None) => {
                info!("conn #{conn} closed by the client, without a code")
            }
            Ended::Vanished => info!("conn #{conn} vanished without a close frame"),
            Ended::ClosedByUs(code, reason) => {
                info!("conn #{conn} closed by us: {code} {reason:?}")
            }
            Ended::TooSlow => {
                info!("conn #{conn} dropped: it took nothing for {} s", SEND_TIMEOUT.as_secs())
            }
        }
    });
    response
}

/// The server's side of RFC 6455 section 4.2.1, one check at a time. Returns the
/// client's key, or the status and the reason to refuse with.
fn check_handshake(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
) -> Result<String, (StatusCode, String)> {
    let bad = |problem: &str| Err((StatusCode::BAD_REQUEST, problem.to_string()));
    // 1. The method is GET, and the HTTP version at least 1.1: an HTTP/1.0 client
    //    knows nothing of upgrades (hyper would answer it in HTTP/1.0, and then the
    //    connection would be neither HTTP nor WebSocket).
    if method != Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} cannot open a WebSocket, only GET"),
        ));
    }
    if version < Version::HTTP_11 {
        return bad("a WebSocket handshake needs HTTP/1.1");
    }
    // Step 2 of 4.2.1: a `Host` header, which HTTP/1.1 requires anyway.
    if headers.get(HOST).is_none_or(|host| host.is_empty()) {
        return bad("the request has no `Host` header");
    }
    // 2. `Upgrade` names websocket, in any case.
    let upgrade = headers.get(UPGRADE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "the request has no `Upgrade: websocket` header".to_string(),
        ));
    }
    // 3. `Connection` is a list of tokens, and one of them is `Upgrade`. Firefox
    //    sends `keep-alive, Upgrade`; a server that compares the whole header with
    //    "Upgrade" turns Firefox away.
    let connection_has_upgrade = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_has_upgrade {
        return bad("the `Connection` header does not include `Upgrade`");
    }
    // 4. The version is 13, the only one RFC 6455 defines. Otherwise 426 Upgrade
    //    Required, with the version we speak.
    if headers.get(SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "`Sec-WebSocket-Version` must be 13".to_string(),
        ));
    }
    // 5. The key is 16 random bytes in base64: 24 characters.
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).and_then(|v| v.to_str().ok()) else {
        return bad("the `Sec-WebSocket-Key` header is missing");
    };
    let decoded = data_encoding::BASE64.decode(key.as_bytes());
    if key.len() != 24 || decoded.map(|bytes| bytes.len()) != Ok(16) {
        return bad("`Sec-WebSocket-Key` must be 16 bytes in base64 (24 characters)");
    }
    Ok(key.to_string())
}

/// Step 7 of RFC 6455 4.2.1, and its section 10.2: which web pages may open a
/// WebSocket here. A browser lets any page a user visits open a WebSocket to any
/// server, and sends the user's cookies for that server with it; only the `Origin`
/// header tells the server which site's script is asking. Without this check, a page
/// on another site could chat here in the user's name (cross-site WebSocket
/// hijacking). So: this server's own page (its origin is `http://` and the `Host`
/// the browser asked for), the origins given with `--allow-origin`, and clients that
/// send no `Origin` at all. Those are not browsers (curl, websocat, our clients),
/// and hold no user's cookies to misuse.
fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), (StatusCode, String)> {
    let Some(origin) = headers.get(ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or("(not text)");
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let own = format!("http://{host}");
    if origin.eq_ignore_ascii_case(&own) || allowed.iter().any(|a| origin.eq_ignore_ascii_case(a)) {
        return Ok(());
    }
    Err((
        StatusCode::FORBIDDEN,
        format!(
            "a page from {origin} may not open a WebSocket here, only this server's own \
             page; start the server with --allow-origin {origin} to let it"
        ),
    ))
}

/// How a WebSocket connection ended.
enum Ended {
    ClosedByClient(Option<CloseFrame>),
    ClosedByUs(CloseCode, &'static str),
    Vanished,
    TooSlow,
}

/// Puts the connection in the room, passes messages both ways until it ends, and
/// takes it out of the room again.
async fn chat(
    ws: Socket,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    shared: &Shared,
) -> Ended {
    let room = &shared.room;
    let (name, lines, welcome) = room.join(conn);
    info!("conn #{conn} joined as {name}");
    // However `talk` ends (a Close, a vanished client, a bad frame, a missed
    // heartbeat, Ctrl-C), we get here and the room hears of it.
    let ended = talk(ws, conn, shutdown, shared, name, lines, welcome).await;
    room.leave(conn);
    ended
}

/// Sends what the client says to the room, and what the room says to the client,
/// whichever comes first, and pings the client to check it is still there.
async fn talk(
    mut ws: Socket,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    shared: &Shared,
    mut name: String,
    mut lines: broadcast::Receiver<Utf8Bytes>,
    welcome: String,
) -> Ended {
    let room: &Room = &shared.room;
    if ws.send(Message::text(welcome)).await.is_err() {
        return Ended::Vanished;
    }
    // The heartbeat: a Ping every interval. Any frame from the client (a Pong, a
    // message) shows it is alive; after two intervals of silence it is gone, even
    // if TCP has not noticed (a laptop lid closed, a network cable pulled).
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + shared.heartbeat, shared.heartbeat);
    let mut last_heard = Instant::now();
    let mut client_close = None;
    loop {
        let reply = tokio::select! {
            // Ctrl-C first, then the heartbeat, the room's lines, the client's next
            // message: the same order as lesson 05, with the heartbeat added.
            biased;
            () = shutting_down(shutdown) => {
                return close(&mut ws, CloseCode::Away, "server shutting down").await;
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > 2 * shared.heartbeat {
                    info!("conn #{conn} did not answer pings for {} s", last_heard.elapsed().as_secs());
                    return close(&mut ws, CloseCode::Policy, "no answer to pings").await;
                }
                Message::Ping(Bytes::new())
            }
            // Once the client has said Close, we only wait for the stream to end.
            line = lines.recv(), if client_close.is_none() => match line {
                Ok(line) => Message::Text(line),
                // This client fell more than the ring's length behind: the oldest
                // lines were overwritten before it read them. Say so.
                Err(RecvError::Lagged(missed)) => {
                    info!("conn #{conn} missed {missed} lines");
                    let message = format!("you missed {missed} messages: your connection could not keep up");
                    Message::text(ServerMessage::Error { message: &message }.to_json())
                }
                Err(RecvError::Closed) => return Ended::Vanished,
            },
            message = ws.next() => {
                last_heard = Instant::now();
                match message {
                    // `None` is the end of the stream: after a Close, the normal end.
                    None | Some(Err(Error::ConnectionClosed)) if client_close.is_some() => {
                        return Ended::ClosedByClient(client_close.flatten());
                    }
                    None => return Ended::Vanished,
                    Some(Ok(Message::Text(text))) => {
                        debug!("conn #{conn} text: {}", preview(text.as_str()));
                        // Bad JSON or an unknown type gets an error message back, and
                        // the connection stays open: it is a mistake, not an attack.
                        let problem = match serde_json::from_str::<ClientMessage>(&text) {
                            Ok(ClientMessage::Chat { text }) => room.say(&name, &text).err(),
                            Ok(ClientMessage::Rename { name: new }) => match room.rename(conn, &new) {
                                Ok(()) => {
                                    name = new;
                                    None
                                }
                                Err(why) => Some(why),
                            },
                            Err(err) => Some(format!("not a message this server understands: {err}")),
                        };
                        match problem {
                            None => continue,
                            Some(problem) => Message::text(ServerMessage::Error { message: &problem }.to_json()),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        Message::text(ServerMessage::Error { message: "this chat takes JSON text messages only" }.to_json())
                    }
                    // tungstenite answers a Ping with a Pong by itself, and a Close with a
                    // Close: control frames are never passed on to anyone.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        client_close = Some(frame);
                        continue;
                    }
                    // A bad message: tell the client why with the right close code.
                    Some(Err(Error::Capacity(_))) => {
                        return close(&mut ws, CloseCode::Size, "message too big: the limit is 64 KiB").await;
                    }
                    Some(Err(Error::Utf8(_))) => {
                        return close(&mut ws, CloseCode::Invalid, "text is not valid UTF-8").await;
                    }
                    Some(Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                        return Ended::Vanished;
                    }
                    Some(Err(Error::Protocol(err))) => {
                        debug!("conn #{conn} protocol error: {err}");
                        return close(&mut ws, CloseCode::Protocol, "protocol error").await;
                    }
                    Some(Err(err)) => {
                        debug!("conn #{conn} read failed: {err}");
                        return Ended::Vanished;
                    }
                }
            }
        };
        // A client that stops reading makes this wait, and only this: its own task.
        match tokio::time::timeout(SEND_TIMEOUT, ws.send(reply)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Ended::Vanished,
            Err(_) => return Ended::TooSlow,
        }
    }
}

/// Completes once Ctrl-C has been pressed, even if that was before we started to
/// wait (the task may have subscribed just after it).
async fn shutting_down(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Starts the close handshake with `code`, and waits (briefly) for the client's
/// answering Close.
async fn close(ws: &mut Socket, code: CloseCode, reason: &'static str) -> Ended {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    // A client that stopped reading would keep us waiting for ever: give up in time.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    Ended::ClosedByUs(code, reason)
}

/// What the log shows of a message: all of a short one, the start of a long one, so
/// that one 64 KiB message does not become a 64 KiB log line.
fn preview(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &text[..end], text.len()),
    }
}
