//! Logging in over HTTP, as lesson 11's page does: `POST /api/login` with a name,
//! whose answer's `Set-Cookie` holds the session; `GET /api/me` to ask whether a
//! session still lives. A browser keeps the cookie by itself; a program keeps it
//! here and sends it back, on the WebSocket's handshake too (`handshake`).

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, CONTENT_TYPE, COOKIE, HOST, HeaderValue, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request as Handshake;

/// How long the server may take to connect and answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A session: the `name=value` pair of the cookie that the login set, as the
/// `Cookie` header sends it back.
#[derive(Clone)]
pub(crate) struct Cookie(HeaderValue);

/// Why a login did not give us a session.
pub(crate) enum Refused {
    /// The server said no, and why: the name is held (409) or not a name (400).
    Said(String),
    /// The server could not be asked, or answered something else.
    Other(String),
}

/// `POST /api/login` with `{"name": name}` on `addr`: the session's cookie.
pub(crate) async fn login(
    addr: &common::Address,
    ca: Option<&Path>,
    name: &str,
) -> Result<Cookie, Refused> {
    let body = serde_json::json!({ "name": name }).to_string();
    let (status, set_cookie, answer) =
        ask(addr, ca, Method::POST, "/api/login", None, body).await.map_err(Refused::Other)?;
    match (status, set_cookie) {
        (StatusCode::OK, Some(set)) => cookie_of(&set)
            .ok_or_else(|| Refused::Other(format!("a Set-Cookie without a cookie: {set:?}"))),
        (StatusCode::CONFLICT | StatusCode::BAD_REQUEST, _) => {
            Err(Refused::Said(error_of(&answer)))
        }
        (status, _) => Err(Refused::Other(format!(
            "POST /api/login on {addr} answered {status}: is this lesson 11's server?"
        ))),
    }
}

/// `GET /api/me` with the cookie: whether the session still lives (`Ok(false)`: the
/// server answered 401, log in again).
pub(crate) async fn still_in(
    addr: &common::Address,
    ca: Option<&Path>,
    cookie: &Cookie,
) -> Result<bool, String> {
    let (status, _, _) = ask(addr, ca, Method::GET, "/api/me", Some(cookie), String::new()).await?;
    Ok(status != StatusCode::UNAUTHORIZED)
}

/// The WebSocket's opening request, `url` with the session's `Cookie`: what a
/// browser sends by itself. `RUST_LOG=ws_login_client=debug` prints it.
pub(crate) fn handshake(url: &str, cookie: &Cookie) -> Handshake {
    let mut request = url.into_client_request().expect("a ws:// or wss:// URL we made");
    request.headers_mut().insert(COOKIE, cookie.0.clone());
    tracing::debug!("handshake: GET {} with {:?}", request.uri(), request.headers());
    request
}

/// The `name=value` pair at the start of a `Set-Cookie` value (the attributes after
/// it, `Path=/; HttpOnly; ...`, are for the browser).
fn cookie_of(set_cookie: &str) -> Option<Cookie> {
    let pair = set_cookie.split(';').next()?.trim();
    pair.contains('=').then(|| HeaderValue::from_str(pair).ok().map(Cookie)).flatten()
}

/// The `error` of a JSON answer such as `{"error": "Ada is logged in already, ..."}`.
fn error_of(answer: &Bytes) -> String {
    let json: serde_json::Value = serde_json::from_slice(answer).unwrap_or_default();
    json["error"].as_str().map_or_else(|| String::from_utf8_lossy(answer).into(), str::to_string)
}

/// One request on a connection of its own, as lesson 08's `http.rs` asks for the
/// history: its status, its `Set-Cookie` and its body.
async fn ask(
    addr: &common::Address,
    ca: Option<&Path>,
    method: Method,
    path: &str,
    cookie: Option<&Cookie>,
    body: String,
) -> Result<(StatusCode, Option<String>, Bytes), String> {
    let asking = async {
        let stream = crate::wss::dial(addr, ca).await.map_err(|err| err.to_string())?;
        let (mut sender, connection) =
            http1::handshake(TokioIo::new(stream)).await.map_err(|err| err.to_string())?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, addr.to_string())
            .header(CONNECTION, "close")
            .header(CONTENT_TYPE, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie.0.clone());
        }
        let request = request.body(Full::new(Bytes::from(body))).expect("a valid request");
        let response = sender.send_request(request).await.map_err(|err| err.to_string())?;
        let status = response.status();
        let set =
            response.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).map(String::from);
        let body = response.into_body().collect().await.map_err(|err| err.to_string())?;
        Ok::<_, String>((status, set, body.to_bytes()))
    };
    match tokio::time::timeout(TIMEOUT, asking).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(why)) => Err(format!("could not ask {addr} for {path}: {why}")),
        Err(_) => Err(format!("no answer from {addr} within {} s", TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_the_pair_before_the_attributes() {
        let set = "session=0a1b; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict";
        assert_eq!(cookie_of(set).map(|c| c.0), Some(HeaderValue::from_static("session=0a1b")));
        assert!(cookie_of("Path=/").is_some(), "a pair, even if odd");
        assert!(cookie_of("nothing").is_none());
        let answer = Bytes::from_static(br#"{"error":"Ada is logged in already"}"#);
        assert_eq!(error_of(&answer), "Ada is logged in already");
    }
}
