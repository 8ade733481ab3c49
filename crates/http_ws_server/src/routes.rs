//! The routes: which path and method gets which answer, the page, the JSON API and
//! `/ws`, and one log line a request. Lessons 09 and 10 carry this file, unchanged.
//!
//! Needs from the crate that includes it: the modules `api` and `room` (lesson 07's
//! or lesson 09's: the same names), `chat`, `json`, `respond` and `serve`.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::watch;
use tracing::info;

use crate::respond::{html, text};
use crate::room::Room;
use crate::serve::Asked;
use crate::{api, chat, json};

/// The chat page: one HTML file with its script and style, built into the binary.
/// Its path goes by the crates folder, so that a private copy of this file in a
/// later lesson's `src/` finds the page too.
const PAGE: &str = include_str!("../../http_ws_server/src/page.html");

/// Where one message of the history is: `/api/messages/7`.
const MESSAGE_PATH: &str = "/api/messages/";
const ROUTES: &str = "\
GET  /               the chat page
GET  /ws             the chat, over WebSocket
GET  /api/messages   the last 100 messages, as JSON
POST /api/messages   say something, as JSON: {\"name\": \"...\", \"text\": \"...\"}
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
}

/// What every request's answer may need: made once by `main`, shared by every
/// connection's task.
pub(crate) struct Shared {
    pub(crate) room: Arc<Room>,
    /// Seconds between the Pings that check each WebSocket client (`--heartbeat`).
    heartbeat: Duration,
    /// Other sites' origins whose pages may open a WebSocket here (`--allow-origin`).
    allow_origins: Vec<String>,
    /// Ctrl-C sends `true` here. Every connection task, HTTP or WebSocket, holds a
    /// receiver; when the last one is gone, `serve::run` is done.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(room: Room, Options { allow_origins, heartbeat }: Options) -> Arc<Shared> {
        let shutdown = watch::channel(false).0;
        Arc::new(Shared { room: Arc::new(room), heartbeat, allow_origins, shutdown })
    }
}

/// Answers one request and logs it with `client`, who asked: the connection's peer
/// (lesson 10, behind a proxy, names the client the proxy speaks for).
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
    let (room, heartbeat) = (&shared.room, shared.heartbeat);

    match path.as_str() {
        "/" if is_get => html(PAGE),
        "/api/messages" if is_get => api::messages(room).await,
        "/api/messages" if method == Method::POST => {
            api::post_message(req, room, &shared.allow_origins).await
        }
        one if is_get && one.starts_with(MESSAGE_PATH) => {
            api::message(room, &one[MESSAGE_PATH.len()..]).await
        }
        "/api/online" if is_get => json::response(StatusCode::OK, room.online_json()),
        "/ws" if method == Method::GET => {
            chat::join(req, conn, (room, heartbeat), &shared.allow_origins, &shared.shutdown).await
        }
        // The path exists but not for this method: 405, and `Allow` says which do.
        "/api/messages" => not_allowed(&method, &path, "GET, HEAD, POST"),
        "/ws" => not_allowed(&method, &path, "GET"),
        "/" | "/api/online" => not_allowed(&method, &path, "GET, HEAD"),
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
