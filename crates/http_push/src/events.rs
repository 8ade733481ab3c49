//! `GET /api/events`: the room as Server-Sent Events, an HTTP response that does not
//! end. Its type is `text/event-stream`, and its body is events, each a few lines
//! and an empty line:
//!
//!     id: 19af3c2e5d1.4
//!     data: {"type":"chat","id":4,"from":"Ann","text":"hi"}
//!
//! A browser reads it with `new EventSource("/api/events")`, and when the stream
//! breaks it connects again by itself, sending the last `id:` it got as
//! `Last-Event-ID`: this server answers with the lines it missed. The connection
//! joins the room as a WebSocket does (lesson 07's `join`), and what it says goes
//! by `POST /api/messages`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::channel::{Channel, Sender};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use tokio::sync::{oneshot, watch};
use tracing::info;

use crate::members::Line;
use crate::poll::Since;
use crate::room::{Chat, Membership, Room, ServerMessage};
use crate::websocket;

/// How long a browser waits before it connects again, sent once as `retry:`.
const RETRY: Duration = Duration::from_secs(2);
/// A comment line (`: ...`) this often when nothing else is said: it keeps proxies
/// from cutting an idle stream, and shows us a client that has gone.
pub(crate) const COMMENT_EVERY: Duration = Duration::from_secs(15);
/// How many events wait for a client that reads slowly before we wait too. Behind
/// them is the room's queue for this member, as for a WebSocket (lesson 05).
const BUFFER: usize = 16;

/// Why a stream is cut off: the client stopped reading, and the room's queue for
/// it stayed full (lesson 05's rule, the same for a WebSocket).
const PUT_OUT: &str = "put out of the room: it stopped reading";

/// The body of an event stream: what `send` puts in, hyper sends as it can. An
/// error (`abort`) cuts the connection, for a client that stopped reading.
pub(crate) type Events = Channel<Bytes, std::io::Error>;

/// `GET /api/events`, optionally `?since=ID` (what `Last-Event-ID` says, for a
/// first connection that has read the history over HTTP).
pub(crate) async fn stream(
    req: &Request<Incoming>,
    conn: u64,
    room: &Arc<Room>,
    shutdown: &watch::Sender<bool>,
) -> Result<Response<Events>, String> {
    let since = match last_event_id(req)? {
        Some(since) => Some(Since::parse(&since)?),
        None => None,
    };
    // In the room first, then the history: a line said between the two is in the
    // queue, and is skipped there if the history had it.
    let membership = room.join(conn).await;
    let (sender, body) = Channel::new(BUFFER);
    let stop = shutdown.subscribe();
    let room = Arc::clone(room);
    tokio::spawn(async move {
        let name = membership.name.clone();
        let mut sender = sender;
        let Err(why) = send_events(&mut sender, &room, since, membership, stop).await;
        if why == PUT_OUT {
            // Its socket is full: nothing more gets through. An error ends the
            // body, and hyper closes the connection.
            sender.abort(std::io::Error::other(PUT_OUT));
        }
        room.leave(conn).await;
        info!("conn #{conn} event stream of {name} ended: {why}");
    });
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    // Nobody may keep a copy: every reader wants the live stream.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx (lesson 10), buffering, reads on for a client that stops reading, into
    // a file, so the room never sees it stop; this tells it to pass each event on
    // as the client takes it (page 13, "Break it").
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Where the client was: `Last-Event-ID` from a browser that reconnects, else the
/// `since` parameter.
fn last_event_id(req: &Request<Incoming>) -> Result<Option<String>, String> {
    if let Some(id) = req.headers().get("last-event-id") {
        return id
            .to_str()
            .map(|id| Some(id.to_string()))
            .map_err(|_| "Last-Event-ID is not text".to_string());
    }
    let query = req.uri().query().unwrap_or("");
    match form_urlencoded::parse(query.as_bytes()).next() {
        None => Ok(None),
        Some((key, value)) if key == "since" => Ok(Some(value.into_owned())),
        Some((other, _)) => Err(format!("unknown parameter {other:?}: use since")),
    }
}

/// Sends the stream's start, then each line of the room, until the client goes,
/// stops reading, or Ctrl-C. Returns why it ended, for the log.
async fn send_events(
    sender: &mut Sender<Bytes, std::io::Error>,
    room: &Room,
    since: Option<Since>,
    Membership { name, online, mut lines, mut put_out }: Membership,
    mut stop: watch::Receiver<bool>,
) -> Result<Infallible, &'static str> {
    let mut start = format!("retry: {}\n\n", RETRY.as_millis());
    start += &event(None, &ServerMessage::Welcome { name: &name, online }.to_json());
    let mut newest = 0;
    if let Some(since) = since {
        let (after, restarted) = since.in_history(room);
        if restarted {
            // The client's ids are from a history this server no longer has.
            start += "event: restarted\ndata: {\"type\":\"restarted\"}\n\n";
        }
        for chat in room.since(after) {
            start += &chat_event(room, &chat);
            newest = chat.id;
        }
    }
    let mut comment =
        tokio::time::interval_at(tokio::time::Instant::now() + COMMENT_EVERY, COMMENT_EVERY);
    deliver(sender, start, &mut put_out, &mut stop).await?;
    loop {
        let next = tokio::select! {
            biased;
            () = websocket::shutting_down(&mut stop) => return Err("server shutting down"),
            Ok(()) = &mut put_out => return Err(PUT_OUT),
            _ = comment.tick() => ": still here\n\n".to_string(),
            line = lines.recv() => match line {
                Some(line) => match line_event(room, &line, &mut newest) {
                    Some(event) => event,
                    None => continue,
                },
                None => return Err("the room closed"),
            },
        };
        deliver(sender, next, &mut put_out, &mut stop).await?;
    }
}

/// Hands `text` to hyper, unless the room puts this client out meanwhile (its
/// queue stayed full: it stopped reading) or Ctrl-C.
async fn deliver(
    sender: &mut Sender<Bytes, std::io::Error>,
    text: String,
    put_out: &mut oneshot::Receiver<()>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), &'static str> {
    tokio::select! {
        sent = sender.send_data(Bytes::from(text)) => sent.map_err(|_| "the client went away"),
        Ok(()) = put_out => Err(PUT_OUT),
        () = websocket::shutting_down(stop) => Err("server shutting down"),
    }
}

/// One line of the room as an event; a chat line carries its place as `id:`, and
/// one the client already got from the history is skipped.
fn line_event(room: &Room, line: &Line, newest: &mut u64) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        kind: String,
        id: Option<u64>,
    }
    let head: Head = serde_json::from_str(line).expect("the room's own JSON");
    match head.id {
        Some(id) if head.kind == "chat" => {
            if id <= *newest {
                return None;
            }
            *newest = id;
            Some(event(Some(&place(room, id)), line))
        }
        _ => Some(event(None, line)),
    }
}

fn chat_event(room: &Room, chat: &Chat) -> String {
    event(Some(&place(room, chat.id)), &ServerMessage::Chat(chat).to_json())
}

/// A line's place: the history's id and the line's, `HISTORY.N`. After a restart
/// the history is new, and so is the first part.
fn place(room: &Room, id: u64) -> String {
    format!("{}.{id}", room.history_id().to_str().expect("hex digits"))
}

/// An event: its id if it has one, then its data. JSON from serde has no line
/// breaks, so one `data:` line holds it (a break would start a new field).
fn event(id: Option<&str>, data: &str) -> String {
    match id {
        Some(id) => format!("id: {id}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}
