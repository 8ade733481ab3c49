//! Logging in over HTTP: `POST /api/login` makes a session and sets its cookie,
//! `POST /api/logout` ends it, `GET /api/me` says who you are (or 401), and
//! `POST /api/messages` says a line as the session's name. The cookie is the whole
//! login: the browser sends it with every request to this server, the WebSocket's
//! handshake included, and a script on the page cannot read it.
//!
//! Needs from the crate that includes it: the modules `session`, `room`, `api`,
//! `json` and `origin`.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use tracing::info;

use crate::json::{self, bad_request, error};
use crate::room::Room;
use crate::session::{Refused, Sessions, Ticket};
use crate::{api, origin};

/// The sessions and the cookie that names one.
pub(crate) struct Login {
    pub(crate) sessions: Sessions,
    /// `session`; over TLS `__Host-session`: a browser takes a cookie with that
    /// prefix only if it is `Secure`, has `Path=/` and no `Domain`, so no other
    /// server (a subdomain, or a plain-HTTP page of the same host) can plant one.
    cookie: &'static str,
    /// Over TLS the cookie is `Secure`: the browser never sends it over plain HTTP.
    secure: bool,
}

impl Login {
    pub(crate) fn new(sessions: Sessions, tls: bool) -> Login {
        let cookie = if tls { "__Host-session" } else { "session" };
        Login { sessions, cookie, secure: tls }
    }

    /// The live session this request's cookie names, if any.
    pub(crate) fn ticket(&self, headers: &HeaderMap) -> Option<Ticket> {
        self.session_id(headers).and_then(|id| self.sessions.find(id))
    }

    /// The session id in the `Cookie` header: `Cookie: session=3f9a...; other=1`.
    fn session_id<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find_map(|(name, value)| (name == self.cookie).then_some(value))
    }

    /// The `Set-Cookie` that gives the browser a session for `max_age` seconds (0:
    /// forget it). `HttpOnly`: no script reads it, so a script injected into the
    /// page cannot steal it. `SameSite=Strict`: a page from another site that
    /// links, posts or opens a WebSocket here does not get it sent.
    fn set_cookie(&self, id: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
            self.cookie
        );
        HeaderValue::from_str(&cookie).expect("hex and ASCII make a valid header")
    }
}

/// `POST /api/login` with `{"name": "Ada"}`: a new session and its cookie; 409 if a
/// live session holds the name. A session this browser had before ends first.
pub(crate) async fn login(
    req: Request<Incoming>,
    login: &Login,
    allow_origins: &[String],
) -> Response<Full<Bytes>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Asked {
        name: String,
    }
    let old = login.session_id(req.headers()).map(str::to_string);
    // The same checks as any posted body (`json.rs`): a page from another site is
    // refused here, so it cannot log a visitor in under its own name (login CSRF).
    let asked: Asked = match json::read(req, allow_origins).await {
        Ok(asked) => asked,
        Err(refused) => return refused,
    };
    if let Some(name) = old.and_then(|old| login.sessions.logout(&old)) {
        info!("{name} logged out, to log in again");
    }
    match login.sessions.login(&asked.name) {
        Ok(id) => {
            info!("{} logged in", asked.name);
            let body = serde_json::json!({ "name": asked.name }).to_string();
            let mut response = json::response(StatusCode::OK, body);
            let max_age = login.sessions.lifetime().as_secs();
            response.headers_mut().insert(SET_COOKIE, login.set_cookie(&id, max_age));
            response
        }
        Err(Refused::BadName(why)) => bad_request(&why),
        Err(Refused::Taken(why)) => error(StatusCode::CONFLICT, &why),
    }
}

/// `POST /api/logout`: ends this browser's session, if it has one, which closes
/// every WebSocket of it (with 4401, `chat.rs`), in every tab; and tells the browser
/// to forget the cookie. 204 No Content either way: logged out is logged out.
pub(crate) fn logout(
    req: &Request<Incoming>,
    login: &Login,
    allow: &[String],
) -> Response<Full<Bytes>> {
    // A page from another site may not log a visitor out either.
    if let Err((status, why)) = origin::check_origin(req.headers(), allow, "log out here") {
        return error(status, &why);
    }
    if let Some(name) = login.session_id(req.headers()).and_then(|id| login.sessions.logout(id)) {
        info!("{name} logged out");
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(SET_COOKIE, login.set_cookie("", 0));
    response
}

/// `GET /api/me`: who this browser is logged in as, or 401. A page asks this first:
/// a 401 means "log in", no answer at all "the server is down".
pub(crate) fn me(req: &Request<Incoming>, login: &Login) -> Response<Full<Bytes>> {
    match login.ticket(req.headers()) {
        Some(ticket) => {
            json::response(StatusCode::OK, serde_json::json!({ "name": ticket.name }).to_string())
        }
        None => unauthorized(),
    }
}

/// `POST /api/messages` with `{"text": "..."}`: said as the session's name. A `name`
/// field is refused (400): the name comes from the login, not from the request.
pub(crate) async fn post_message(
    req: Request<Incoming>,
    room: &Room,
    login: &Login,
    allow_origins: &[String],
) -> Response<Full<Bytes>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Post {
        text: String,
    }
    let Some(ticket) = login.ticket(req.headers()) else { return unauthorized() };
    let post: Post = match json::read(req, allow_origins).await {
        Ok(post) => post,
        Err(refused) => return refused,
    };
    match room.say(&ticket.name, &post.text).await {
        Ok(chat) => api::created(&chat),
        Err(why) => bad_request(&why),
    }
}

/// 401 Unauthorized: no live session. RFC 9110 asks a 401 to name a way to log in,
/// in `WWW-Authenticate`; a cookie login has no registered name, so we make one up,
/// and the body says what to do.
pub(crate) fn unauthorized() -> Response<Full<Bytes>> {
    let why =
        r#"log in first: POST /api/login with {"name": "..."} (the chat page does it for you)"#;
    let mut response = error(StatusCode::UNAUTHORIZED, why);
    let scheme = HeaderValue::from_static(r#"Cookie realm="chat", login="/api/login""#);
    response.headers_mut().insert(WWW_AUTHENTICATE, scheme);
    response
}
