//! The chat itself: each connection in the room, passing lines both ways. This is
//! what lesson 05 adds to lesson 03's echo.

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::info;

use crate::deliver::{answer, pass_on, put_out_of_the_room};
use crate::room::{Membership, Room};
use crate::websocket::{self, ClientClose, Ended, Heard};

type Socket<'a> = WebSocketStream<&'a mut TcpStream>;

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
