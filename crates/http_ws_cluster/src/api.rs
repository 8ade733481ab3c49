//! The JSON API: the chat's history and who is online, for any HTTP client, and a
//! way to say something without a WebSocket.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;

use crate::room::Room;

/// The largest body `POST /api/messages` reads. More is refused, never buffered.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long the whole body may take to arrive. hyper's header read timeout stops at
/// the end of the head: a client that then sends its body a byte a second, or never,
/// would hold the connection (and our task) for ever without this.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /api/messages`: the history, oldest first, with the history's id in the
/// `server-instance` header (the same on every instance: see `cluster.rs`).
pub(crate) fn messages(room: &Room, instance: &HeaderValue) -> Response<Full<Bytes>> {
    let mut response = json(StatusCode::OK, room.history_json());
    response.headers_mut().insert("server-instance", instance.clone());
    response
}

/// `POST /api/messages`: `{"name": "...", "text": "..."}` becomes a chat message that
/// every WebSocket client sees at once, and that the history keeps.
pub(crate) async fn post_message(req: Request<Incoming>, room: &Room) -> Response<Full<Bytes>> {
    #[derive(Deserialize)]
    struct Post {
        name: String,
        text: String,
    }
    // Read the body, but never more than MAX_BODY_BYTES of it (a client that sends
    // more gets an error, not our memory) and never for longer than BODY_READ_TIMEOUT.
    let reading = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    let Ok(read) = tokio::time::timeout(BODY_READ_TIMEOUT, reading).await else {
        return too_slow();
    };
    let body = match read {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return json_error(&format!("the body is larger than {} KiB", MAX_BODY_BYTES / 1024));
        }
        Err(err) => return json_error(&format!("the body could not be read: {err}")),
    };
    let post: Post = match serde_json::from_slice(&body) {
        Ok(post) => post,
        Err(err) => return json_error(&format!("the body is not a message: {err}")),
    };
    match room.say(&post.name, &post.text).await {
        Ok(chat) => {
            json(StatusCode::CREATED, serde_json::to_string(&chat).expect("a chat serializes"))
        }
        Err(why) => json_error(&why),
    }
}

/// 408 Request Timeout, and `Connection: close`: the rest of a body that came too
/// slowly is not worth waiting for, so hyper closes the connection after this.
fn too_slow() -> Response<Full<Bytes>> {
    let seconds = BODY_READ_TIMEOUT.as_secs();
    let message = format!("the body did not arrive within {seconds} s");
    let mut response =
        json(StatusCode::REQUEST_TIMEOUT, serde_json::json!({ "error": message }).to_string());
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn json_error(message: &str) -> Response<Full<Bytes>> {
    json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": message }).to_string())
}

pub(crate) fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    crate::respond(status, "application/json", body)
}
