//! JSON over HTTP: reading a posted body with every defence a server needs (whose
//! page may post, what type, how big, how slow), and answering with JSON. Lessons 09
//! and 10 carry this file, unchanged.
//!
//! Needs from the crate that includes it: the modules `origin` and `respond`.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::origin;

/// The largest body a POST may have. More is refused, never buffered.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long the whole body may take to arrive. hyper's header read timeout stops at
/// the end of the head: a client that then sends its body a byte a second, or never,
/// would hold the connection (and our task) for ever without this.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The posted body of `req`, read as JSON into a `T`; or the answer that says why
/// not (403, 415, 413, 408 or 400), for the caller to send.
pub(crate) async fn read<T: DeserializeOwned>(
    req: Request<Incoming>,
    allow_origins: &[String],
) -> Result<T, Response<Full<Bytes>>> {
    // A browser lets any page post to any server, with the user's cookies, as it lets
    // any page open a WebSocket: a page from another site is refused here as on
    // `/ws` (see `origin.rs`). curl and other programs send no `Origin`.
    if let Err((status, why)) = origin::check_origin(req.headers(), allow_origins, "post here") {
        return Err(error(status, &why));
    }
    // JSON only. A page from another site may send a plain form or `text/plain`
    // without asking first; `application/json` from another site needs the
    // browser to ask this server's permission (CORS), which it never gives.
    if !is_json(req.headers()) {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the message as JSON, with Content-Type: application/json (curl: --json, not -d)",
        ));
    }
    // Read the body, but never more than MAX_BODY_BYTES of it (a client that sends
    // more gets an error, not our memory) and never for longer than BODY_READ_TIMEOUT.
    let reading = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    let Ok(read) = tokio::time::timeout(BODY_READ_TIMEOUT, reading).await else {
        return Err(too_slow());
    };
    let body = match read {
        Ok(body) => body.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(err) => return Err(bad_request(&format!("the body could not be read: {err}"))),
    };
    serde_json::from_slice(&body)
        .map_err(|err| bad_request(&format!("the body is not a message: {err}")))
}

/// Whether the body says it is JSON: `application/json`, perhaps with parameters
/// (`; charset=utf-8`), in any case.
fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let media_type = content_type.and_then(|value| value.split(';').next()).unwrap_or("");
    media_type.trim().eq_ignore_ascii_case("application/json")
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

/// 400 Bad Request, saying what is wrong.
pub(crate) fn bad_request(message: &str) -> Response<Full<Bytes>> {
    error(StatusCode::BAD_REQUEST, message)
}

/// An error as JSON: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    response(status, serde_json::json!({ "error": message }).to_string())
}

/// `status` with a JSON body.
pub(crate) fn response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    crate::respond::respond(status, "application/json", body)
}
