//! The JSON API: the chat's history and who is online, for any HTTP client, and a
//! way to say something without a WebSocket. Lesson 07's, reading the history
//! from Redis; lesson 10 carries it.
//!
//! Needs from the crate that includes it: the modules `room` (lesson 09's),
//! `respond` and `origin`.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;

use crate::origin;
use crate::room::{Chat, Room};

/// The largest body `POST /api/messages` reads. More is refused, never buffered.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long the whole body may take to arrive. hyper's header read timeout stops at
/// the end of the head: a client that then sends its body a byte a second, or never,
/// would hold the connection (and our task) for ever without this.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /api/messages`: the history, oldest first, with the history's id in the
/// `server-instance` header (the same on every instance: see `cluster.rs`).
pub(crate) async fn messages(room: &Room) -> Response<Full<Bytes>> {
    let mut response = json(StatusCode::OK, room.history_json().await);
    response.headers_mut().insert("server-instance", room.history_id());
    response
}

/// `POST /api/messages`: `{"name": "...", "text": "..."}`, sent as JSON, becomes a
/// chat message that every WebSocket client sees at once, and that the history keeps.
pub(crate) async fn post_message(
    req: Request<Incoming>,
    room: &Room,
    allow_origins: &[String],
) -> Response<Full<Bytes>> {
    #[derive(Deserialize)]
    struct Post {
        name: String,
        text: String,
    }
    // A browser lets any page post to any server, with the user's cookies, as it lets
    // any page open a WebSocket: a page from another site is refused here as on
    // `/ws` (see `origin.rs`). curl and other programs send no `Origin`.
    if let Err((status, why)) = origin::check_origin(req.headers(), allow_origins, "post here") {
        return error(status, &why);
    }
    // JSON only. A page from another site may send a plain form or `text/plain`
    // without asking first; `application/json` from another site needs the
    // browser to ask this server's permission (CORS), which it never gives.
    if !is_json(req.headers()) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the message as JSON, with Content-Type: application/json (curl: --json, not -d)",
        );
    }
    // Read the body, but never more than MAX_BODY_BYTES of it (a client that sends
    // more gets an error, not our memory) and never for longer than BODY_READ_TIMEOUT.
    let reading = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    let Ok(read) = tokio::time::timeout(BODY_READ_TIMEOUT, reading).await else {
        return too_slow();
    };
    let body = match read {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(err) => return json_error(&format!("the body could not be read: {err}")),
    };
    let post: Post = match serde_json::from_slice(&body) {
        Ok(post) => post,
        Err(err) => return json_error(&format!("the body is not a message: {err}")),
    };
    match room.say(&post.name, &post.text).await {
        Ok(said) => created(&said.chat().await),
        Err(why) => json_error(&why),
    }
}

/// `GET /api/messages/ID`: one message of the history, where a 201 points.
pub(crate) async fn message(room: &Room, id: &str) -> Response<Full<Bytes>> {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, &format!("{id:?} is not a message id (a number)"));
    };
    match room.message(id).await {
        Some(chat) => {
            json(StatusCode::OK, serde_json::to_string(&chat).expect("a chat serializes"))
        }
        None => error(StatusCode::NOT_FOUND, &format!("no message {id} among the last 100")),
    }
}

/// Whether the body says it is JSON: `application/json`, perhaps with parameters
/// (`; charset=utf-8`), in any case.
fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let media_type = content_type.and_then(|value| value.split(';').next()).unwrap_or("");
    media_type.trim().eq_ignore_ascii_case("application/json")
}

/// 201 Created, with `Location`: where the new message can be read again. While
/// the room is split, a line has no id and is not kept: it was passed on, and
/// nothing was created to point to, so the answer is 200.
fn created(chat: &Chat) -> Response<Full<Bytes>> {
    let body = serde_json::to_string(chat).expect("a chat serializes");
    let Some(id) = chat.id else { return json(StatusCode::OK, body) };
    let mut response = json(StatusCode::CREATED, body);
    let location = HeaderValue::from_str(&format!("/api/messages/{id}"))
        .expect("a path of digits is a valid header");
    response.headers_mut().insert(LOCATION, location);
    response
}

/// 413 Content Too Large, and `Connection: close`: the rest of the body is not
/// worth reading, so hyper closes the connection after this.
fn too_large() -> Response<Full<Bytes>> {
    let message = format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024);
    let mut response = error(StatusCode::PAYLOAD_TOO_LARGE, &message);
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 408 Request Timeout, and `Connection: close`: the rest of a body that came too
/// slowly is not worth waiting for, so hyper closes the connection after this.
fn too_slow() -> Response<Full<Bytes>> {
    let seconds = BODY_READ_TIMEOUT.as_secs();
    let message = format!("the body did not arrive within {seconds} s");
    let mut response = error(StatusCode::REQUEST_TIMEOUT, &message);
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn json_error(message: &str) -> Response<Full<Bytes>> {
    error(StatusCode::BAD_REQUEST, message)
}

/// An error as JSON: `{"error": "..."}`.
fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, serde_json::json!({ "error": message }).to_string())
}

pub(crate) fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    crate::respond::respond(status, "application/json", body)
}
