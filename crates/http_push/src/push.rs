//! This lesson's routes, in front of lesson 07's (`chat_routes`): its page, the
//! event stream, and `since` on `GET /api/messages`.

use std::sync::Arc;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tracing::info;

use crate::chat_routes::{self, Shared};
use crate::events::{self, Events};
use crate::json::bad_request;
use crate::poll;
use crate::respond::{html, text};
use crate::serve::Asked;

/// This lesson's page: lesson 07's chat with a switch between four ways to hear it.
const PAGE: &str = include_str!("page.html");

/// An answer: all at once, or an event stream that goes on.
pub(crate) type Body = Either<Full<Bytes>, Events>;

/// Answers one request: this lesson's routes, else lesson 07's.
pub(crate) async fn handle(
    req: Request<Incoming>,
    asked: Asked,
    shared: Arc<Shared>,
) -> Response<Body> {
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let path = req.uri().path();
    let response = match path {
        "/" if is_get => html(PAGE).map(Either::Left),
        "/api/events" if is_get => {
            match events::stream(&req, asked.conn, &shared.room, &shared.shutdown).await {
                Ok(stream) => stream.map(Either::Right),
                Err(why) => bad_request(&why).map(Either::Left),
            }
        }
        "/api/events" => {
            let mut response =
                text(StatusCode::METHOD_NOT_ALLOWED, "Only GET reads the event stream.\n");
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response.map(Either::Left)
        }
        "/api/messages" if is_get && req.uri().query().is_some() => {
            let query = req.uri().query().unwrap_or_default().to_string();
            poll::poll(asked.conn, &query, &shared.room, &shared.shutdown).await.map(Either::Left)
        }
        // Everything else, lesson 07's way (it logs its own line).
        _ => return chat_routes::handle(req, asked, asked.peer, shared).await.map(Either::Left),
    };
    let Asked { conn, request, peer } = asked;
    info!(
        "conn #{conn} req #{request} {peer} {} {} -> {}",
        req.method(),
        req.uri(),
        response.status()
    );
    response
}
