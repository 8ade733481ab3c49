//! The chat itself: each connection in the room, passing lines both ways. This is
//! what lesson 05 adds to lesson 03's echo.

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::info;

use crate::room::{Line, Room};
use crate::websocket::{self, Ended, Heard};

type Socket<'a> = WebSocketStream<&'a mut TcpStream>;

/// Puts the connection in the room, passes lines both ways until it ends, and takes
/// it out of the room again.
pub(crate) async fn chat(
    ws: Socket<'_>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    room: &Room,
) -> Ended {
    let (name, lines) = room.join(conn);
    info!("conn #{conn} joined as {name}");
    // However `talk` ends (a Close, a vanished client, a bad frame, Ctrl-C), we get
    // here and the room hears of it: the online count never drifts.
    let ended = talk(ws, conn, shutdown, room, name, lines).await;
    room.leave(conn);
    ended
}

/// Sends what the client says to the room, and what the room says to the client,
/// whichever comes first, until the connection ends.
async fn talk(
    mut ws: Socket<'_>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    room: &Room,
    mut name: String,
    mut lines: broadcast::Receiver<Line>,
) -> Ended {
    let welcome =
        format!("Welcome, {name}! Type a message and press Enter; /name NEW changes your name.");
    if let Err(ended) = websocket::send(&mut ws, Message::text(welcome)).await {
        return ended;
    }
    let mut client_close = None;
    loop {
        let reply = tokio::select! {
            // `biased` tries the branches in this order instead of at random: Ctrl-C
            // first, then the room's lines, then the client's next message. A client
            // thus sees everything said before its own line is answered, and a busy
            // room is passed on before we take more from this client.
            biased;
            () = websocket::shutting_down(shutdown) => {
                return websocket::close(&mut ws, CloseCode::Away, "server shutting down").await;
            }
            // Once the client has said Close, we only wait for the stream to end.
            line = lines.recv(), if client_close.is_none() => match from_room(line, conn) {
                Some(reply) => reply,
                None => continue,
            },
            message = ws.next() => match websocket::hear(message, conn, &mut client_close) {
                Heard::Text(text) => match said(&text, conn, room, &mut name) {
                    Some(reply) => reply,
                    None => continue,
                },
                Heard::Binary(bytes) => {
                    info!("conn #{conn} binary: {} bytes, not passed on", bytes.len());
                    Message::text("This chat takes text messages only.")
                }
                Heard::Nothing => continue,
                Heard::Bad(code, reason) => return websocket::close(&mut ws, code, reason).await,
                Heard::End(ended) => return ended,
            },
        };
        // Everyone else's lines keep flowing while this waits, and the room keeps
        // this client's lines in its ring until it catches up, or for at most
        // SEND_TIMEOUT.
        if let Err(ended) = websocket::send(&mut ws, reply).await {
            return ended;
        }
    }
}

/// A line from the room, as this client gets it: nothing for its own lines, which
/// it had at once.
fn from_room(line: Result<Line, RecvError>, conn: u64) -> Option<Message> {
    match line {
        Ok(Line { from: Some(from), .. }) if from == conn => None,
        Ok(line) => Some(Message::Text(line.text)),
        // This client fell more than QUEUE_LENGTH lines behind: the oldest were
        // overwritten before it read them. Say so, and carry on from the oldest line
        // still there.
        Err(RecvError::Lagged(missed)) => {
            info!("conn #{conn} missed {missed} lines");
            let notice =
                format!("(you missed {missed} messages: your connection could not keep up)");
            Some(Message::text(notice))
        }
        Err(RecvError::Closed) => unreachable!("the room, and so its sender, outlives `talk`"),
    }
}

/// What the client said: `/name NEW` renames it, anything else goes to the room.
/// Returns the answer for this client, if it gets one.
fn said(text: &str, conn: u64, room: &Room, name: &mut String) -> Option<Message> {
    info!("conn #{conn} text: {}", websocket::preview(text));
    match text.strip_prefix("/name ") {
        Some(new) => match room.rename(conn, new.trim()) {
            Ok(()) => {
                *name = new.trim().to_string();
                None
            }
            Err(why) => Some(Message::text(format!("Cannot rename: {why}."))),
        },
        // The sender gets its own line at once, marked as its own; everyone else
        // gets it through the room.
        None => {
            room.announce(Some(conn), format!("{name}: {text}"));
            Some(Message::text(format!("you: {text}")))
        }
    }
}
