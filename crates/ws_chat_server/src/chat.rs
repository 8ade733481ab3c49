//! The chat itself: each connection in the room, passing lines both ways. This is
//! what lesson 05 adds to lesson 03's echo.

use std::pin::Pin;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tracing::info;

use crate::room::{Line, Membership, QUEUE_LENGTH, Room};
use crate::websocket::{self, ClientClose, Ended, Heard, SEND_TIMEOUT};

type Socket<'a> = WebSocketStream<&'a mut TcpStream>;

/// Why a client that stopped reading is closed, with 1008 ("policy violation": the
/// client broke the server's rules).
const PUT_OUT: &str = "too slow: you stopped reading";

/// Puts the connection in the room, passes lines both ways until it ends, and takes
/// it out of the room again.
pub(crate) async fn chat(
    ws: &mut Socket<'_>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    room: &Room,
) -> Ended {
    // Joining and leaving may wait for slow readers: boxed, like `said` in `talk`.
    let member = Box::pin(room.join(conn)).await;
    info!("conn #{conn} joined as {}", member.name);
    // However `talk` ends (a Close, a vanished client, a bad frame, Ctrl-C), we get
    // here and the room hears of it: the online count never drifts.
    let ended = talk(ws, conn, shutdown, room, member).await;
    Box::pin(room.leave(conn)).await;
    ended
}

/// Sends what the client says to the room, and what the room says to the client,
/// whichever comes first, until the connection ends.
async fn talk(
    ws: &mut Socket<'_>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    room: &Room,
    Membership { mut name, mut lines, mut put_out }: Membership,
) -> Ended {
    let welcome =
        format!("Welcome, {name}! Type a message and press Enter; /name NEW changes your name.");
    if let Err(ended) = websocket::send(ws, Message::text(welcome)).await {
        return ended;
    }
    let mut client_close = ClientClose::NotYet;
    loop {
        let sent = tokio::select! {
            // `biased` tries the branches in this order instead of at random: Ctrl-C
            // first, then the room's lines, then the client's next message. A client
            // thus sees everything said before its own line is answered, and a busy
            // room is passed on before we take more from this client.
            biased;
            () = websocket::shutting_down(shutdown) => {
                return websocket::close(ws, CloseCode::Away, "server shutting down").await;
            }
            Ok(()) = &mut put_out => return put_out_of_the_room(ws).await,
            // Once the client has said Close, we only wait for the stream to end.
            Some(line) = lines.recv(), if matches!(client_close, ClientClose::NotYet) => {
                pass_on(ws, line, &mut lines, &mut put_out).await
            }
            message = ws.next() => match websocket::hear(message, conn, &mut client_close) {
                Heard::Text(text) => {
                    // Boxed: saying a line can wait for a slow reader (see `Room::say`),
                    // and what it waits with is big; on the heap, it costs memory only
                    // while this client speaks, not all the time.
                    let saying = Box::pin(said(&text, conn, room, &mut name));
                    answer(ws, saying, &mut lines, &mut put_out).await
                }
                Heard::Binary(bytes) => {
                    info!("conn #{conn} binary: {} bytes, not passed on", bytes.len());
                    let reply = Message::text("This chat takes text messages only.");
                    websocket::send(ws, reply).await
                }
                Heard::Nothing => continue,
                Heard::Bad(code, reason) => return websocket::close(ws, code, reason).await,
                Heard::End(ended) => return ended,
            },
        };
        if let Err(ended) = sent {
            return ended;
        }
    }
}

/// Closes the connection of a client that the room put out for not reading. It will
/// most likely not read our Close either: `websocket::close` gives up after a moment.
async fn put_out_of_the_room(ws: &mut Socket<'_>) -> Ended {
    websocket::close(ws, CloseCode::Policy, PUT_OUT).await
}

/// What the client said: `/name NEW` renames it, anything else goes to the room.
/// Returns the answer for this client, if it gets one.
async fn said(text: &str, conn: u64, room: &Room, name: &mut String) -> Option<Message> {
    info!("conn #{conn} text: {}", websocket::preview(text));
    match text.strip_prefix("/name ") {
        Some(new) => match room.rename(conn, new.trim()).await {
            Ok(()) => {
                *name = new.trim().to_string();
                None
            }
            Err(why) => Some(Message::text(format!("Cannot rename: {why}."))),
        },
        // The sender gets its own line at once, marked as its own; everyone else
        // gets it through the room.
        None => {
            room.say(conn, format!("{name}: {text}")).await;
            Some(Message::text(format!("you: {text}")))
        }
    }
}

/// Waits for `saying` (passing a line to the room can wait for a slow reader, see
/// `Room::say`) and sends its answer. While it waits, this client's own lines keep
/// flowing to it: two clients flooding the room each wait for the other's queue,
/// and each empties its own.
async fn answer(
    ws: &mut Socket<'_>,
    mut saying: Pin<Box<impl Future<Output = Option<Message>>>>,
    lines: &mut mpsc::Receiver<Line>,
    put_out: &mut oneshot::Receiver<()>,
) -> Result<(), Ended> {
    let reply = loop {
        tokio::select! {
            biased;
            reply = &mut saying => break reply,
            Some(line) = lines.recv() => pass_on(ws, line, lines, put_out).await?,
        }
    };
    match reply {
        Some(reply) => websocket::send(ws, reply).await,
        None => Ok(()),
    }
}

/// Sends `first` and every line already queued behind it (`feed`). A client that
/// stops reading makes this wait, until `SEND_TIMEOUT`, or until the room puts it
/// out for not reading, and we close it with 1008.
async fn pass_on(
    ws: &mut Socket<'_>,
    first: Line,
    lines: &mut mpsc::Receiver<Line>,
    put_out: &mut oneshot::Receiver<()>,
) -> Result<(), Ended> {
    tokio::select! {
        // Boxed, as `said` is in `talk`: what a write to a slow client waits with is
        // on the heap only while it waits.
        sent = Box::pin(tokio::time::timeout(SEND_TIMEOUT, feed(ws, first, lines))) => {
            match sent {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(Ended::Vanished),
                Err(_) => Err(Ended::TooSlow),
            }
        }
        Ok(()) = put_out => Err(put_out_of_the_room(ws).await),
    }
}

/// Writes `first` and every line already queued behind it, then flushes once: one
/// write to the socket for many lines, which is what keeps a busy room fast.
async fn feed(
    ws: &mut Socket<'_>,
    first: Line,
    lines: &mut mpsc::Receiver<Line>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.feed(Message::Text(Utf8Bytes::clone(&first))).await?;
    for _ in 1..QUEUE_LENGTH {
        let Ok(line) = lines.try_recv() else { break };
        ws.feed(Message::Text(Utf8Bytes::clone(&line))).await?;
    }
    ws.flush().await
}
