//! One connection, from its opening (`connect`) to its end: lesson 06's loop,
//! speaking lesson 07's JSON, with a heartbeat, and telling `run` whether to
//! reconnect; and the wait between two connections (`wait_offline`).

use std::collections::VecDeque;
use std::path::Path;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tracing::{info, warn};

use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;

use crate::handler::{Printer, ServerMessage};
use crate::wss;

/// How long the goodbye may take: our Close, and the server's answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to connect and answer the handshake. A server that
/// never answers must not leave the client hanging for ever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many lines typed while disconnected are kept to send after the reconnect.
const QUEUE_LIMIT: usize = 20;

/// A WebSocket, over TCP or TLS (`wss.rs`).
pub(crate) type Socket = WebSocketStream<wss::Stream>;

/// What the user can do at any moment: type a line, or press Ctrl-C. Both outlive
/// each connection, so the reconnect loop owns them and lends them to each session.
pub(crate) struct Keyboard {
    /// The lines typed (or piped in), from `keyboard::lines`.
    pub(crate) lines: mpsc::Receiver<String>,
    /// Ctrl-C, a future kept across connections; boxed, so that it has a type we
    /// can name here.
    pub(crate) ctrl_c: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// How a connection ended.
pub(crate) enum Session {
    /// `/quit` or the end of input: we are done.
    Quit,
    /// The connection was lost, for this reason: try again.
    Lost(String),
    /// The server closed it, with this Close frame: its code (1001: it is going
    /// away; 1008: we broke its rules) and reason (`closed_by_the_server` says both).
    Closed(CloseFrame),
}

/// One connection: sends what was typed (and what waited in `outbox`), hands what
/// arrives to the handler, and pings the server, until the connection ends.
pub(crate) async fn session(
    mut ws: Socket,
    handler: &mut Printer,
    keyboard: &mut Keyboard,
    outbox: &mut VecDeque<String>,
    heartbeat: Duration,
) -> Session {
    // Lines typed while we were away go first, in order.
    while let Some(line) = outbox.pop_front() {
        if let Err(lost) = send(&mut ws, line, outbox).await {
            return lost;
        }
    }
    // The heartbeat: a Ping every interval. Any frame from the server (a Pong, a
    // message) shows it is alive; two intervals of silence mean it is not, even if
    // TCP has not noticed (a server frozen, a network gone quiet).
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let mut last_heard = Instant::now();
    loop {
        let ended = tokio::select! {
            () = &mut keyboard.ctrl_c => {
                info!("Ctrl-C: closing the connection with 1001 (going away)");
                return goodbye(&mut ws, handler, CloseCode::Away, "Ctrl-C").await;
            }
            line = keyboard.lines.recv() => match line {
                // End of input (Ctrl-D, or the end of a pipe) or /quit: leave well.
                None => return goodbye(&mut ws, handler, CloseCode::Normal, "bye").await,
                Some(line) if line.trim() == "/quit" => {
                    return goodbye(&mut ws, handler, CloseCode::Normal, "bye").await;
                }
                Some(line) if line.trim().is_empty() => Ok(()),
                Some(line) => send(&mut ws, line, outbox).await,
            },
            message = ws.next() => {
                last_heard = Instant::now();
                received(message, &mut ws, handler).await
            }
            _ = ping.tick() => pulse(&mut ws, last_heard, heartbeat).await,
        };
        if let Err(lost) = ended {
            return lost;
        }
    }
}

/// Sends a typed line; if the connection is gone, the line waits in `outbox`.
async fn send(ws: &mut Socket, line: String, outbox: &mut VecDeque<String>) -> Result<(), Session> {
    if let Err(err) = ws.send(Message::text(to_json(&line))).await {
        outbox.push_front(line);
        return Err(Session::Lost(format!("sending failed: {err}")));
    }
    Ok(())
}

/// What the server sent: a message for the handler, or the end of the connection.
async fn received(
    message: Option<Result<Message, WsError>>,
    ws: &mut Socket,
    handler: &mut Printer,
) -> Result<(), Session> {
    let lost = match message {
        Some(Ok(Message::Text(text))) => {
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(message) => handler.on_message(message),
                Err(err) => {
                    handler.on_error(&format!("a message we do not understand ({err}): {text}"));
                }
            }
            return Ok(());
        }
        Some(Ok(Message::Close(frame))) => {
            // tungstenite has queued our answering Close; send it on its way.
            let _ = ws.flush().await;
            return Err(match frame {
                Some(frame) => Session::Closed(frame),
                None => Session::Lost("the server closed the connection: no code".to_string()),
            });
        }
        // tungstenite answers Pings for us; a Pong is the answer to ours.
        Some(Ok(_)) => return Ok(()),
        Some(Err(err)) => format!("the connection broke: {err}"),
        None => "the connection ended without a close frame".to_string(),
    };
    Err(Session::Lost(lost))
}

/// A Close from the server, in words: its code and its reason.
pub(crate) fn closed_by_the_server(frame: &CloseFrame) -> String {
    format!("the server closed the connection: {} {:?}", frame.code, frame.reason.as_str())
}

/// The heartbeat's tick: a Ping, unless the server has been silent for two
/// intervals, which means the connection is dead.
async fn pulse(ws: &mut Socket, last_heard: Instant, heartbeat: Duration) -> Result<(), Session> {
    let silent = last_heard.elapsed();
    if silent > 2 * heartbeat {
        return Err(Session::Lost(format!("no answer to pings for {:.1} s", silent.as_secs_f64())));
    }
    ws.send(Message::Ping(Bytes::new()))
        .await
        .map_err(|err| Session::Lost(format!("the connection broke: {err}")))
}

/// A typed line as a message for lesson 07's server: `/name NEW` renames, anything
/// else is said in the chat. serde_json writes the quotes and escapes.
fn to_json(line: &str) -> String {
    let message = match line.strip_prefix("/name ") {
        Some(name) => serde_json::json!({ "type": "rename", "name": name.trim() }),
        None => serde_json::json!({ "type": "chat", "text": line }),
    };
    message.to_string()
}

/// The close handshake, as in lesson 06: our Close, then the server's, showing the
/// messages that arrive before it (the answers to the last lines we sent).
async fn goodbye(ws: &mut Socket, handler: &mut Printer, code: CloseCode, reason: &str) -> Session {
    let frame = CloseFrame { code, reason: reason.into() };
    if ws.close(Some(frame)).await.is_ok() {
        let last_words = async {
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Text(text) = message
                    && let Ok(message) = serde_json::from_str::<ServerMessage>(&text)
                {
                    handler.on_message(message);
                }
            }
        };
        let _ = tokio::time::timeout(TIMEOUT, last_words).await;
    }
    info!("Closed");
    Session::Quit
}

/// Waits `wait` while disconnected, still reading the keyboard: lines are kept to
/// send later (up to QUEUE_LIMIT; after that they are refused, with a notice).
/// Returns true if the user wants to leave.
pub(crate) async fn wait_offline(
    wait: Duration,
    keyboard: &mut Keyboard,
    outbox: &mut VecDeque<String>,
) -> bool {
    let mut sleep = pin!(tokio::time::sleep(wait));
    loop {
        tokio::select! {
            () = &mut sleep => return false,
            // Not connected: nobody to say goodbye to.
            () = &mut keyboard.ctrl_c => return true,
            line = keyboard.lines.recv() => match line {
                None => return true,
                Some(line) if line.trim() == "/quit" => return true,
                Some(line) if line.trim().is_empty() => {}
                Some(line) if outbox.len() < QUEUE_LIMIT => {
                    outbox.push_back(line);
                    info!("Not connected: {} lines will be sent once we are back", outbox.len());
                }
                Some(_) => warn!("Not connected, and {QUEUE_LIMIT} lines are already waiting: this one is dropped"),
            },
        }
    }
}

/// Opens the WebSocket (TCP, TLS for wss://, then the handshake: `wss.rs`), with a
/// deadline. Every failure here is worth retrying. `request` is the handshake: its
/// URL, or a request built from it with more headers (lesson 12 adds a cookie).
pub(crate) async fn connect(
    request: impl IntoClientRequest + Unpin,
    addr: &common::Address,
    ca: Option<&Path>,
) -> Result<Socket, String> {
    let request = request.into_client_request().map_err(|err| err.to_string())?;
    let url = request.uri().to_string();
    let opening = async {
        let stream = wss::dial(addr, ca).await.map_err(WsError::Io)?;
        tokio_tungstenite::client_async(request, stream).await
    };
    let opened = tokio::time::timeout(CONNECT_TIMEOUT, opening).await;
    // Not the 101 we asked for: is it a TLS port that we spoke plain HTTP to?
    if let Ok(Err(err)) = &opened
        && wss::plain_to_a_tls_port(addr, err).await
    {
        return Err(format!("{url}: the server speaks TLS on this port: use wss://"));
    }
    match opened {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(WsError::Io(err))) if wss::explain(&err).is_some() => {
            let why = wss::explain(&err).unwrap_or_default();
            Err(format!("could not connect to {url}: {why}"))
        }
        Ok(Err(WsError::Http(response))) => {
            Err(format!("{url} answered {}, not 101", response.status()))
        }
        Ok(Err(err)) => Err(format!("could not connect to {url}: {err}")),
        Err(_) => Err(format!("could not connect to {url} within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lines_become_chat_or_rename_messages() {
        assert_eq!(to_json(r#"say "hi""#), r#"{"text":"say \"hi\"","type":"chat"}"#);
        assert_eq!(to_json("/name  Ann "), r#"{"name":"Ann","type":"rename"}"#);
    }
}
