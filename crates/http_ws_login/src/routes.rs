//! The routes of lesson 07, with a login in front: `/api/login`, `/api/logout` and
//! `/api/me` are new; `/ws` and `POST /api/messages` take the name from the session
//! (`login.rs`), and `rename` is gone. One log line a request, as in lesson 07.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::watch;
use tracing::info;

use crate::login::{self, Login};
use crate::respond::{html, text};
use crate::room::Room;
use crate::serve::Asked;
use crate::session::Sessions;
use crate::{api, chat, json};

/// The chat page, with a login: one HTML file built into the binary.
const PAGE: &str = include_str!("page.html");

/// Where one message of the history is: `/api/messages/7`.
const MESSAGE_PATH: &str = "/api/messages/";
const ROUTES: &str = "\
GET  /               the chat page
GET  /ws             the chat, over WebSocket
POST /api/login      log in, as JSON: {\"name\": \"...\"}; sets the session cookie
POST /api/logout     log out: ends the session, and closes its WebSockets
GET  /api/me         who you are logged in as, or 401
GET  /api/messages   the last 100 messages, as JSON
POST /api/messages   say something, logged in, as JSON: {\"text\": \"...\"}
GET  /api/messages/N one message, by its id
GET  /api/online     who is online, as JSON
";

/// The chat's options, besides where to listen: `main`'s `Args` takes them in.
#[derive(clap::Args)]
pub(crate) struct Options {
    /// A web page's origin (such as http://127.0.0.1:8080) whose scripts may open a
    /// WebSocket here, besides this server's own page. Repeat it for more.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Seconds between the Pings that check each WebSocket client is still there.
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = common::seconds)]
    heartbeat: Duration,
    /// Seconds a login lasts. When it ends, its WebSockets close with 4401.
    #[arg(long = "session", value_name = "SECONDS", default_value = "3600")]
    #[arg(value_parser = common::seconds)]
    session_lifetime: Duration,
}

/// What every request's answer may need: made once by `main`, shared by every
/// connection's task.
pub(crate) struct Shared {
    pub(crate) room: Arc<Room>,
    /// Seconds between the Pings that check each WebSocket client (`--heartbeat`).
    pub(crate) heartbeat: Duration,
    /// Other sites' origins whose pages may open a WebSocket here (`--allow-origin`).
    pub(crate) allow_origins: Vec<String>,
    /// Ctrl-C sends `true` here. Every connection task, HTTP or WebSocket, holds a
    /// receiver; when the last one is gone, `serve::run` is done.
    pub(crate) shutdown: watch::Sender<bool>,
    /// Who is logged in, and the cookie that says so.
    pub(crate) login: Login,
}

impl Shared {
    /// `tls`: whether the server runs with `--tls` (the cookie is then `Secure`).
    pub(crate) fn new(room: Room, options: Options, tls: bool) -> Arc<Shared> {
        let Options { allow_origins, heartbeat, session_lifetime } = options;
        let shutdown = watch::channel(false).0;
        let login = Login::new(Sessions::new(session_lifetime), tls);
        Arc::new(Shared { room: Arc::new(room), heartbeat, allow_origins, shutdown, login })
    }
}

/// Answers one request and logs it with `client`, who asked.
pub(crate) async fn handle(
    req: Request<Incoming>,
    Asked { conn, request, .. }: Asked,
    client: impl Display,
    shared: Arc<Shared>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let uri = req.uri();
    let target = uri.path_and_query().map_or_else(|| uri.path().to_string(), ToString::to_string);
    let response = route(req, conn, &shared).await;
    info!("conn #{conn} req #{request} {client} {method} {target} -> {}", response.status());
    response
}

/// The answer to one request, by its path and method. It never fails: every
/// problem becomes a response with the right status code.
async fn route(req: Request<Incoming>, conn: u64, shared: &Shared) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let is_get = method == Method::GET || method == Method::HEAD;
    let (room, login, origins) = (&shared.room, &shared.login, &shared.allow_origins[..]);

    match path.as_str() {
        "/" if is_get => html(PAGE),
        "/api/messages" if is_get => api::messages(room).await,
        "/api/login" if method == Method::POST => login::login(req, login, origins).await,
        "/api/logout" if method == Method::POST => login::logout(&req, login, origins),
        "/api/me" if is_get => login::me(&req, login),
        "/api/messages" if method == Method::POST => {
            login::post_message(req, room, login, origins).await
        }
        one if is_get && one.starts_with(MESSAGE_PATH) => {
            api::message(room, &one[MESSAGE_PATH.len()..]).await
        }
        "/api/online" if is_get => json::response(StatusCode::OK, room.online_json()),
        "/ws" if method == Method::GET => chat::join(req, conn, shared).await,
        // The path exists but not for this method: 405, and `Allow` says which do.
        "/api/messages" => not_allowed(&method, &path, "GET, HEAD, POST"),
        "/ws" => not_allowed(&method, &path, "GET"),
        "/api/login" | "/api/logout" => not_allowed(&method, &path, "POST"),
        "/" | "/api/online" | "/api/me" => not_allowed(&method, &path, "GET, HEAD"),
        one if one.starts_with(MESSAGE_PATH) => not_allowed(&method, &path, "GET, HEAD"),
        _ => text(StatusCode::NOT_FOUND, format!("Not found: {path}\nRoutes:\n{ROUTES}")),
    }
}

/// 405 Method Not Allowed, with `Allow`: the methods this path does take.
fn not_allowed(method: &Method, path: &str, allow: &'static str) -> Response<Full<Bytes>> {
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {path}. Allowed: {allow}\n"),
    );
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    response
}
