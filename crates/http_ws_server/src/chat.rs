//! The chat itself: each connection in the room, passing lines both ways, as in
//! lesson 05, with JSON messages and a heartbeat.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tracing::{debug, info};

use crate::Shared;
use crate::room::{ClientMessage, Room, ServerMessage};
use crate::websocket::{self, Ended, Heard};

pub(crate) type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Puts the connection in the room, passes lines both ways until it ends, and takes
/// it out of the room again.
pub(crate) async fn chat(
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
    if let Err(ended) = websocket::send(&mut ws, Message::text(welcome)).await {
        return ended;
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
            () = websocket::shutting_down(shutdown) => {
                return websocket::close(&mut ws, CloseCode::Away, "server shutting down").await;
            }
            _ = heartbeat.tick() => match pulse(conn, last_heard, shared.heartbeat) {
                Some(ping) => ping,
                None => return websocket::close(&mut ws, CloseCode::Policy, "no answer to pings").await,
            },
            // Once the client has said Close, we only wait for the stream to end.
            line = lines.recv(), if client_close.is_none() => from_room(line, conn),
            message = ws.next() => {
                last_heard = Instant::now();
                match websocket::hear(message, conn, &mut client_close) {
                    Heard::Text(text) => match said(&text, conn, &shared.room, &mut name) {
                        Some(reply) => reply,
                        None => continue,
                    },
                    Heard::Binary(bytes) => {
                        debug!("conn #{conn} binary: {} bytes, not passed on", bytes.len());
                        error("this chat takes JSON text messages only")
                    }
                    Heard::Nothing => continue,
                    Heard::Bad(code, reason) => return websocket::close(&mut ws, code, reason).await,
                    Heard::End(ended) => return ended,
                }
            }
        };
        // Everyone else's lines keep flowing while this waits, and the room keeps
        // this client's lines in its ring until it catches up, or for at most
        // SEND_TIMEOUT.
        if let Err(ended) = websocket::send(&mut ws, reply).await {
            return ended;
        }
    }
}

/// The heartbeat's tick: a Ping to send, or nothing when the client has not been
/// heard from for two intervals.
fn pulse(conn: u64, last_heard: Instant, interval: Duration) -> Option<Message> {
    if last_heard.elapsed() > 2 * interval {
        info!("conn #{conn} did not answer pings for {} s", last_heard.elapsed().as_secs());
        return None;
    }
    Some(Message::Ping(Bytes::new()))
}

/// A line from the room, as this client gets it. Every client gets every line,
/// its own included: the JSON says who said it.
fn from_room(line: Result<Utf8Bytes, RecvError>, conn: u64) -> Message {
    match line {
        Ok(line) => Message::Text(line),
        // This client fell more than the ring's length behind: the oldest lines were
        // overwritten before it read them. Say so.
        Err(RecvError::Lagged(missed)) => {
            info!("conn #{conn} missed {missed} lines");
            error(&format!("you missed {missed} messages: your connection could not keep up"))
        }
        Err(RecvError::Closed) => unreachable!("the room, and so its sender, outlives `talk`"),
    }
}

/// What the client said, as JSON: a chat message goes to the room, a rename renames
/// it. Returns the answer for this client, if it gets one: bad JSON or an unknown
/// type gets an error message, and the connection stays open (it is a mistake, not
/// an attack).
fn said(text: &str, conn: u64, room: &Room, name: &mut String) -> Option<Message> {
    debug!("conn #{conn} text: {}", websocket::preview(text));
    let problem = match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Chat { text }) => room.say(name, &text).err(),
        Ok(ClientMessage::Rename { name: new }) => match room.rename(conn, &new) {
            Ok(()) => {
                *name = new;
                None
            }
            Err(why) => Some(why),
        },
        Err(err) => Some(format!("not a message this server understands: {err}")),
    };
    problem.map(|problem| error(&problem))
}

/// An `error` message, for this client only.
fn error(message: &str) -> Message {
    Message::text(ServerMessage::Error { message }.to_json())
}
