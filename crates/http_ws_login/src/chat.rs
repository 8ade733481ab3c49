//! Lesson 07's chat, logged in: `/ws` takes only a handshake whose cookie names a
//! live session (else 401, before any upgrade), joins the room under the session's
//! name, and closes with 4401 when the session ends (logout, in any tab, or expiry):
//! a close code of our own, so that a client can tell "log in again" (4401) from
//! "reconnect" (1001, 1008). `rename` is gone: the name is the login's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Incoming;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tracing::{debug, info};

use crate::deliver::{answer, pass_on, put_out_of_the_room};
use crate::room::{ClientMessage, Membership, Room, ServerMessage};
use crate::routes::Shared;
use crate::session::Ticket;
use crate::upgrade::{self, Socket};
use crate::websocket::{self, ClientClose, Ended, Heard};

/// Why a client that stopped answering the heartbeat's Pings is closed, with 1008.
const NO_ANSWER: &str = "no answer to pings";
/// The close code for "your session ended: log in again". 4000 to 4999 are for
/// applications to define (RFC 6455 section 7.4.2); 4401 echoes HTTP's 401.
const SESSION_ENDED: u16 = 4401;

/// `/ws`: the handshake checked (`upgrade.rs`), then the session (a 401 without
/// one), the connection put in the room under the session's name, and only then
/// the 101. A client that has its 101 is in the room: every line said
/// from then on reaches it, so a line it asks for over HTTP after its 101 (lesson
/// 08's history) and the lines on its WebSocket leave no gap between them. Then the
/// connection chats in a task of its own, until it ends or Ctrl-C (subscribed now,
/// while this connection's task still holds a receiver).
pub(crate) async fn join(
    req: hyper::Request<Incoming>,
    conn: u64,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    // The Origin first: a page from another port of this machine is the same site,
    // so its requests carry the SameSite=Strict cookie; only this check stops it.
    let key = match upgrade::check(&req, &shared.allow_origins) {
        Ok(key) => key,
        Err((status, problem)) => return upgrade::refusal(status, &problem),
    };
    let Some(mut ticket) = shared.login.ticket(req.headers()) else {
        return crate::login::unauthorized();
    };
    // Joining may wait for slow readers: boxed, like `said` in `talk`.
    let member = Box::pin(shared.room.join_as(conn, ticket.name.clone())).await;
    let (room, heartbeat) = (Arc::clone(&shared.room), shared.heartbeat);
    let mut shutdown = shared.shutdown.subscribe();
    upgrade::accept(req, conn, &key, move |ws| async move {
        // The socket is kept here, once, and the chat borrows it: an `async fn`
        // keeps what it is given by value in its own future, so passing it down by
        // value would store it again at every level, for every connection.
        match ws {
            Some(mut ws) => {
                let ending = (&mut shutdown, &mut ticket);
                let chatting = chat(&mut ws, conn, ending, (&room, heartbeat), member);
                chatting.await.log(conn);
            }
            // The client went away before its upgrade: out of the room again.
            None => Box::pin(room.leave(conn)).await,
        }
    })
}

/// A connection that has joined the room (`Room::join_as`, before its 101): passes
/// lines both ways until it ends, and takes it out of the room again.
async fn chat(
    ws: &mut Socket,
    conn: u64,
    ending: (&mut watch::Receiver<bool>, &mut Ticket),
    (room, heartbeat): (&Room, Duration),
    member: Membership,
) -> Ended {
    info!("conn #{conn} joined as {}", member.name);
    // However `talk` ends (a Close, a vanished client, a bad frame, a missed
    // heartbeat, Ctrl-C), we get here and the room hears of it. Leaving may wait
    // for slow readers: boxed, like `said` in `talk`.
    let ended = talk(ws, conn, ending, (room, heartbeat), member).await;
    Box::pin(room.leave(conn)).await;
    ended
}

/// Sends what the client says to the room, and what the room says to the client,
/// whichever comes first, and pings the client to check it is still there.
async fn talk(
    ws: &mut Socket,
    conn: u64,
    (shutdown, ticket): (&mut watch::Receiver<bool>, &mut Ticket),
    (room, ping_every): (&Room, Duration),
    Membership { name, online, mut lines, mut put_out }: Membership,
) -> Ended {
    let welcome = ServerMessage::Welcome { name: &name, online }.to_json();
    if let Err(ended) = websocket::send(ws, Message::text(welcome)).await {
        return ended;
    }
    // The heartbeat: a Ping every interval. Any frame from the client (a Pong, a
    // message) shows it is alive; after two intervals of silence it is gone, even
    // if TCP has not noticed (a laptop lid closed, a network cable pulled).
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut last_heard = Instant::now();
    let mut client_close = ClientClose::NotYet;
    loop {
        let sent = tokio::select! {
            // Ctrl-C first, then the session's end, the heartbeat, the room's lines,
            // the client's next message: lesson 07's order, with the session added.
            biased;
            () = websocket::shutting_down(shutdown) => {
                return websocket::close(ws, CloseCode::Away, "server shutting down").await;
            }
            () = ticket.ended() => return session_ended(ws, conn, &name).await,
            Ok(()) = &mut put_out => return put_out_of_the_room(ws).await,
            _ = heartbeat.tick() => match pulse(conn, last_heard, ping_every) {
                Some(ping) => websocket::send(ws, ping).await,
                None => return websocket::close(ws, CloseCode::Policy, NO_ANSWER).await,
            },
            // Once the client has said Close, we only wait for the stream to end.
            Some(line) = lines.recv(), if matches!(client_close, ClientClose::NotYet) => {
                pass_on(ws, line, &mut lines, &mut put_out).await
            }
            message = ws.next() => {
                last_heard = Instant::now();
                match websocket::hear(message, conn, &mut client_close) {
                    Heard::Text(text) => {
                        // Boxed: saying a line can wait for a slow reader (see
                        // `Room::say`), and what it waits with is big; on the heap,
                        // it costs memory only while this client speaks.
                        let saying = Box::pin(said(&text, conn, room, &name));
                        answer(ws, saying, &mut lines, &mut put_out).await
                    }
                    Heard::Binary(bytes) => {
                        debug!("conn #{conn} binary: {} bytes, not passed on", bytes.len());
                        let reply = error("this chat takes JSON text messages only");
                        websocket::send(ws, reply).await
                    }
                    Heard::Nothing => continue,
                    Heard::Bad(code, why) => return websocket::close(ws, code, why).await,
                    Heard::End(ended) => return ended,
                }
            }
        };
        if let Err(ended) = sent {
            return ended;
        }
    }
}

/// Closes the socket of a session that ended (logged out, or expired) with 4401.
async fn session_ended(ws: &mut Socket, conn: u64, name: &str) -> Ended {
    info!("conn #{conn} {name}'s session ended");
    websocket::close(ws, CloseCode::from(SESSION_ENDED), "session ended: log in again").await
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

/// What the client said, as JSON: a chat message goes to the room, said as the
/// session's name. Returns the answer for this client, if it gets one: bad JSON, an
/// unknown type or a rename gets an error message, and the connection stays open.
async fn said(text: &str, conn: u64, room: &Room, name: &str) -> Option<Message> {
    debug!("conn #{conn} text: {}", websocket::preview(text));
    let problem = match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Chat { text }) => room.say(name, &text).await.err(),
        Ok(ClientMessage::Rename { .. }) => {
            Some("your name is your login's: log out, and log in as another".to_string())
        }
        Err(err) => Some(format!("not a message this server understands: {err}")),
    };
    problem.map(|problem| error(&problem))
}

/// An `error` message, for this client only.
fn error(message: &str) -> Message {
    Message::text(ServerMessage::Error { message }.to_json())
}
