//! `/ws`: the upgrade from HTTP to WebSocket, done by hand, check by check, as RFC
//! 6455 section 4.2 describes it (lessons 03 and 05 let tungstenite do it): `check`,
//! then `accept`, which answers 101 and gives the WebSocket to whatever the caller
//! gives (`main` gives the chat, `chat.rs`). Lessons 09 and 10 carry this file,
//! unchanged.
//!
//! Needs from the crate that includes it: the modules `origin`, `respond` and
//! `websocket`.

use std::future::Future;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CONNECTION, HOST, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::info;

use crate::{origin, websocket};

/// A WebSocket that hyper has handed over, after our 101.
pub(crate) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Checks that `req` is a WebSocket handshake from a page allowed here (its own,
/// or one of `allow_origins`). Returns its key, for `accept`; or the status and the
/// reason to refuse with (`refusal` makes the answer).
pub(crate) fn check(
    req: &Request<Incoming>,
    allow_origins: &[String],
) -> Result<String, (StatusCode, String)> {
    check_handshake(req.method(), req.version(), req.headers()).and_then(|key| {
        origin::check_origin(req.headers(), allow_origins, "open a WebSocket here").map(|()| key)
    })
}

/// Accepts a handshake that `check` passed, with `key`: the answer is `101 Switching
/// Protocols`, and a new task takes the connection from hyper once that answer is
/// sent and gives the WebSocket to `then` (or `None`, if the client went away
/// before the upgrade was done).
pub(crate) fn accept<F, Talk>(
    req: Request<Incoming>,
    conn: u64,
    key: &str,
    then: F,
) -> Response<Full<Bytes>>
where
    F: FnOnce(Option<Socket>) -> Talk + Send + 'static,
    Talk: Future<Output = ()> + Send,
{
    let response = switching_protocols(key);
    take_over(req, conn, then);
    response
}

/// The 101 answer. Its Accept value proves we read this very request: SHA-1 of the
/// key and a fixed GUID, in base64 (tungstenite computes it; lesson 03 shows the
/// recipe).
fn switching_protocols(key: &str) -> Response<Full<Bytes>> {
    let accept = derive_accept_key(key.as_bytes());
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header"),
    );
    response
}

/// The 4xx answer to a request that is not a handshake we take.
pub(crate) fn refusal(status: StatusCode, problem: &str) -> Response<Full<Bytes>> {
    let mut response =
        crate::respond::text(status, format!("Not a WebSocket handshake: {problem}.\n"));
    if status == StatusCode::UPGRADE_REQUIRED {
        // RFC 9110 15.5.22: a 426 names the protocol to upgrade to; RFC 6455 4.4: and
        // the WebSocket version we speak.
        let headers = response.headers_mut();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    }
    response
}

/// Takes the connection from hyper once it has sent our 101, and gives the
/// WebSocket to `then`. hyper sends the 101 when `accept` returns it, and only then
/// gives up the connection: so the waiting happens in a task of its own.
fn take_over<F, Talk>(req: Request<Incoming>, conn: u64, then: F)
where
    F: FnOnce(Option<Socket>) -> Talk + Send + 'static,
    Talk: Future<Output = ()> + Send,
{
    // `on` takes the request itself and keeps only the promise of its connection, so
    // the headers are freed here, rather than kept in the task for as long as the
    // client stays (page 07, "Going deeper: what the request's headers would cost").
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let upgraded = match upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                info!("conn #{conn} upgrade failed: {err}");
                return then(None).await;
            }
        };
        // The handshake is done (by us), so tungstenite starts straight at frames,
        // with the same limits and buffers as lessons 03 and 05.
        let io = TokioIo::new(upgraded);
        let ws =
            WebSocketStream::from_raw_socket(io, Role::Server, Some(websocket::config())).await;
        then(Some(ws)).await;
    });
}

/// The server's side of RFC 6455 section 4.2.1, one check at a time, numbered as the
/// RFC numbers its steps (step 7, the Origin, is `origin::check_origin`). Returns the
/// client's key, or the status and the reason to refuse with.
fn check_handshake(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
) -> Result<String, (StatusCode, String)> {
    let bad = |problem: &str| Err((StatusCode::BAD_REQUEST, problem.to_string()));
    // Step 1: the method is GET, and the HTTP version at least 1.1: an HTTP/1.0 client
    // knows nothing of upgrades (hyper would answer it in HTTP/1.0, and then the
    // connection would be neither HTTP nor WebSocket).
    if method != Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} cannot open a WebSocket, only GET"),
        ));
    }
    if version < Version::HTTP_11 {
        return bad("a WebSocket handshake needs HTTP/1.1");
    }
    // Step 2: a `Host` header, which HTTP/1.1 requires anyway.
    if headers.get(HOST).is_none_or(hyper::http::HeaderValue::is_empty) {
        return bad("the request has no `Host` header");
    }
    // Step 3: `Upgrade` names websocket, in any case.
    let upgrade = headers.get(UPGRADE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "the request has no `Upgrade: websocket` header".to_string(),
        ));
    }
    // Step 4: `Connection` is a list of tokens, and one of them is `Upgrade`. Firefox
    // sends `keep-alive, Upgrade`; a server that compares the whole header with
    // "Upgrade" turns Firefox away.
    let connection_has_upgrade = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_has_upgrade {
        return bad("the `Connection` header does not include `Upgrade`");
    }
    // Step 6, before step 5: the version is 13, the only one RFC 6455 defines.
    // Otherwise 426 Upgrade Required, with the version we speak: checked first, so
    // that a client of another version hears which one to speak, whatever its key.
    if headers.get(SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "`Sec-WebSocket-Version` must be 13".to_string(),
        ));
    }
    // Step 5: the key is 16 random bytes in base64: 24 characters.
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).and_then(|v| v.to_str().ok()) else {
        return bad("the `Sec-WebSocket-Key` header is missing");
    };
    let decoded = data_encoding::BASE64.decode(key.as_bytes());
    if key.len() != 24 || decoded.map(|bytes| bytes.len()) != Ok(16) {
        return bad("`Sec-WebSocket-Key` must be 16 bytes in base64 (24 characters)");
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers of Chromium's handshake, less those that do not matter here.
    fn browser() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:5003"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_KEY, HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers
    }

    fn status(method: &Method, version: Version, headers: &HeaderMap) -> StatusCode {
        check_handshake(method, version, headers)
            .map_or_else(|(status, _)| status, |_| StatusCode::OK)
    }

    #[test]
    fn a_browsers_handshake_is_taken_and_firefoxs_connection_list_too() {
        let key = check_handshake(&Method::GET, Version::HTTP_11, &browser());
        assert_eq!(key, Ok("dGhlIHNhbXBsZSBub25jZQ==".to_string()));
        let mut firefox = browser();
        firefox.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert_eq!(status(&Method::GET, Version::HTTP_11, &firefox), StatusCode::OK);
    }

    #[test]
    fn each_missing_piece_gets_its_own_status() {
        let get = Method::GET;
        assert_eq!(
            status(&Method::POST, Version::HTTP_11, &browser()),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(status(&get, Version::HTTP_10, &browser()), StatusCode::BAD_REQUEST);
        for (name, status_without) in [
            (HOST, StatusCode::BAD_REQUEST),
            (UPGRADE, StatusCode::UPGRADE_REQUIRED),
            (CONNECTION, StatusCode::BAD_REQUEST),
            (SEC_WEBSOCKET_VERSION, StatusCode::UPGRADE_REQUIRED),
            (SEC_WEBSOCKET_KEY, StatusCode::BAD_REQUEST),
        ] {
            let mut headers = browser();
            headers.remove(&name);
            assert_eq!(status(&get, Version::HTTP_11, &headers), status_without, "without {name}");
        }
        let mut short_key = browser();
        short_key.insert(SEC_WEBSOCKET_KEY, HeaderValue::from_static("c2hvcnQ="));
        assert_eq!(status(&get, Version::HTTP_11, &short_key), StatusCode::BAD_REQUEST);
    }
}
