//! The JSON API: the chat's history and who is online, for any HTTP client, and a
//! way to say something without a WebSocket.
//!
//! Needs from the crate that includes it: the modules `room` and `json`.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, LOCATION};
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;

use crate::json::{self, bad_request, error};
use crate::room::{Chat, Room};

/// `GET /api/messages`: the history, oldest first, with its id in the
/// `server-instance` header. (Like every answer here, an `async fn`: lesson 09's
/// room, which these same routes serve, asks Redis for the history.)
pub(crate) async fn messages(room: &Room) -> Response<Full<Bytes>> {
    let mut response = json::response(StatusCode::OK, room.history_json());
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
    // Every check a posted body needs is in `json.rs`: a refusal is the answer.
    let post: Post = match json::read(req, allow_origins).await {
        Ok(post) => post,
        Err(refused) => return refused,
    };
    match room.say(&post.name, &post.text).await {
        Ok(chat) => created(&chat),
        Err(why) => bad_request(&why),
    }
}

/// `GET /api/messages/ID`: one message of the history, where a 201 points.
pub(crate) async fn message(room: &Room, id: &str) -> Response<Full<Bytes>> {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, &format!("{id:?} is not a message id (a number)"));
    };
    match room.message(id) {
        Some(chat) => {
            json::response(StatusCode::OK, serde_json::to_string(&chat).expect("a chat serializes"))
        }
        None => error(StatusCode::NOT_FOUND, &format!("no message {id} among the last 100")),
    }
}

/// 201 Created, with `Location`: where the new message can be read again.
pub(crate) fn created(chat: &Chat) -> Response<Full<Bytes>> {
    let mut response = json::response(
        StatusCode::CREATED,
        serde_json::to_string(chat).expect("a chat serializes"),
    );
    let location = HeaderValue::from_str(&format!("/api/messages/{}", chat.id))
        .expect("a path of digits is a valid header");
    response.headers_mut().insert(LOCATION, location);
    response
}
