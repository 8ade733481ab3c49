//! Passing the room's lines to one client: many at a time, with one flush
//! (`pass_on`, `feed`); the client's own lines while what it said waits for the room
//! (`answer`); and the close for a client the room put out for not reading
//! (`put_out_of_the_room`). Lessons 07, 09 and 10 carry this file, unchanged.
//!
//! Needs from the crate that includes it: the modules `members` (lesson 05's) and
//! `websocket` (lesson 03's).

use std::pin::Pin;

use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::members::{Line, QUEUE_LENGTH};
use crate::websocket::{self, Ended, SEND_TIMEOUT};

/// Why a client that stopped reading is closed, with 1008 ("policy violation": the
/// client broke the server's rules).
const PUT_OUT: &str = "too slow: you stopped reading";

/// Any connection a WebSocket runs over: lesson 05's TCP stream, lesson 07's
/// upgraded HTTP connection.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// Closes the connection of a client that the room put out for not reading. It will
/// most likely not read our Close either: `websocket::close` gives up after a moment.
pub(crate) async fn put_out_of_the_room<S: Io>(ws: &mut WebSocketStream<S>) -> Ended {
    websocket::close(ws, CloseCode::Policy, PUT_OUT).await
}

/// Waits for `saying` (passing a line to the room can wait for a slow reader, see
/// `Room::say`) and sends its answer. While it waits, this client's own lines keep
/// flowing to it: two clients flooding the room each wait for the other's queue,
/// and each empties its own.
pub(crate) async fn answer<S: Io>(
    ws: &mut WebSocketStream<S>,
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
pub(crate) async fn pass_on<S: Io>(
    ws: &mut WebSocketStream<S>,
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
async fn feed<S: Io>(
    ws: &mut WebSocketStream<S>,
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
