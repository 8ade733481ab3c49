//! The HTTP side: one request for the recent history, the way lesson 02 sends one.
//! HTTP suits a one-off question; the WebSocket suits the stream that follows.

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

use crate::handler::History;

/// How long we wait for the server to connect or to answer before giving up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the history could not be fetched.
pub(crate) enum FetchError {
    /// Nothing listens at the address: the server is not running (yet, or again).
    Refused,
    Other(String),
}

/// Why dialling `addr` failed, as one line (or `Refused`: nothing listens there).
fn cannot_dial(addr: &common::Address, err: &std::io::Error) -> FetchError {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => FetchError::Refused,
        // A name that could not be looked up: the error names it.
        std::io::ErrorKind::NotFound => FetchError::Other(err.to_string()),
        _ => {
            let why = crate::wss::explain(err).unwrap_or_else(|| err.to_string());
            FetchError::Other(format!("could not connect to {addr}: {why}"))
        }
    }
}

/// The one line for plain HTTP sent to a port that speaks TLS.
fn tls_port(addr: &common::Address) -> FetchError {
    FetchError::Other(format!(
        "{addr} speaks TLS: use https:// or wss:// (and --ca FILE for lesson 07's certificate)"
    ))
}

/// Asks `GET /api/messages` on `addr` (over TLS for https:// and wss://, trusting
/// `ca` too) and returns the recent history.
pub(crate) async fn fetch_history(
    addr: &common::Address,
    ca: Option<&Path>,
) -> Result<History, FetchError> {
    let stream = match tokio::time::timeout(TIMEOUT, crate::wss::dial(addr, ca)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(cannot_dial(addr, &err)),
        Err(_) => {
            return Err(FetchError::Other(format!(
                "could not connect to {addr} within {} s",
                TIMEOUT.as_secs()
            )));
        }
    };
    let host = addr.to_string();
    let (status, instance, body) = match tokio::time::timeout(TIMEOUT, ask(stream, &host)).await {
        Ok(Ok(answer)) => answer,
        // Is it a TLS port that hung up on plain HTTP? Ask it in TLS (`wss.rs`).
        Ok(Err(_)) if !addr.tls && crate::wss::speaks_tls(addr).await => {
            return Err(tls_port(addr));
        }
        Ok(Err(err)) => {
            return Err(FetchError::Other(format!("GET /api/messages on {addr} failed: {err}")));
        }
        Err(_) => {
            return Err(FetchError::Other(format!(
                "no answer from {addr} within {} s",
                TIMEOUT.as_secs()
            )));
        }
    };
    if status != StatusCode::OK {
        // Is it a TLS port that we spoke plain HTTP to? Ask it in TLS (`wss.rs`).
        if !addr.tls && crate::wss::speaks_tls(addr).await {
            return Err(tls_port(addr));
        }
        return Err(FetchError::Other(format!(
            "GET /api/messages on {addr} answered {status}: is this lesson 07's server?"
        )));
    }
    let chats = serde_json::from_slice(&body).map_err(|e| {
        FetchError::Other(format!(
            "GET /api/messages on {addr} sent something else than messages: {e}"
        ))
    })?;
    Ok(History { chats, instance })
}

/// Sends the request on `stream`, as lesson 02 does, and reads the whole answer:
/// its status, its `server-instance` header and its body.
async fn ask(
    stream: crate::wss::Stream,
    addr: &str,
) -> Result<(StatusCode, Option<String>, Bytes), hyper::Error> {
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    // The connection future does the reading and writing: it must run.
    tokio::spawn(connection);

    // One question, so we ask the server to close the connection after answering.
    let request = Request::get("/api/messages")
        .header(HOST, addr)
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .expect("a GET with valid headers");
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let instance =
        response.headers().get("server-instance").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, instance, body))
}
