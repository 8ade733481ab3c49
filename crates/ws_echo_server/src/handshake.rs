//! The opening handshake, done by tungstenite. Lesson 03's page explains it; lesson
//! 05 carries this file, unchanged, and lesson 07 does the same by hand, on hyper.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};
use tracing::{debug, info, warn};

/// A client that has not finished its opening handshake by then is dropped, so that
/// a half-sent request cannot hold a connection for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads the client's HTTP request and, if it asks for a WebSocket, answers 101
/// Switching Protocols: from then on the connection carries frames.
pub(crate) async fn accept(
    stream: &mut TcpStream,
    conn: u64,
    peer: SocketAddr,
) -> Result<WebSocketStream<&mut TcpStream>, Error> {
    // The opening handshake is an ordinary HTTP request. tungstenite checks it and
    // answers 101 Switching Protocols; this callback lets us look at it on the way.
    #[allow(clippy::result_large_err, reason = "the callback's type is tungstenite's")]
    let log_request = |request: &Request, response: Response| {
        let header =
            |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-");
        info!(
            "conn #{conn} {peer} {} {} (upgrade: {}, connection: {}, sec-websocket-key: {}, sec-websocket-version: {}) -> 101",
            request.method(),
            request.uri(),
            header("upgrade"),
            header("connection"),
            header("sec-websocket-key"),
            header("sec-websocket-version"),
        );
        Ok(response)
    };
    // We lend tungstenite the stream (`&mut stream`) rather than give it away: if the
    // request is not a WebSocket handshake, tungstenite hangs up without a word, and
    // we still hold the stream to answer it ourselves (see `refuse`).
    // Boxed: the handshake's state is big and needed only for a moment; inline, it
    // would be part of every connection's task for as long as it lasts (page 03,
    // "Going deeper: what a connection costs", has the figures).
    let handshake = Box::pin(accept_hdr_async_with_config(
        stream,
        log_request,
        Some(crate::websocket::config()),
    ));
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(result) => result,
        Err(_) => Err(Error::Io(std::io::ErrorKind::TimedOut.into())),
    }
}

/// Answers a request that was not a WebSocket handshake (a browser's address bar,
/// curl) with a plain HTTP error that says what this server is. `err` is why
/// `accept` failed.
pub(crate) async fn refuse(mut stream: TcpStream, conn: u64, peer: SocketAddr, err: Error) {
    let (status, extra_header) = match &err {
        Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            info!(
                "conn #{conn} {peer}: no handshake within {} s, dropped",
                HANDSHAKE_TIMEOUT.as_secs()
            );
            return;
        }
        // The connection broke mid-handshake: there is nobody to answer.
        Error::Io(_) | Error::Protocol(ProtocolError::HandshakeIncomplete) => {
            debug!("conn #{conn} {peer}: gone during the handshake: {err}");
            return;
        }
        Error::Protocol(
            ProtocolError::MissingConnectionUpgradeHeader
            | ProtocolError::MissingUpgradeWebSocketHeader,
        ) => ("426 Upgrade Required", "upgrade: websocket\r\n"),
        Error::Protocol(ProtocolError::MissingSecWebSocketVersionHeader) => {
            ("426 Upgrade Required", "sec-websocket-version: 13\r\n")
        }
        Error::Protocol(_) | Error::HttpFormat(_) | Error::Capacity(_) | Error::AttackAttempt => {
            ("400 Bad Request", "")
        }
        _ => {
            warn!("conn #{conn} {peer}: handshake failed: {err}");
            return;
        }
    };
    info!("conn #{conn} {peer}: not a WebSocket handshake ({err}) -> {status}");
    // tungstenite has given up on the request, so we write the answer ourselves: an
    // HTTP/1.1 response is a status line, headers, a blank line and the body.
    let local = stream.local_addr().map_or_else(|_| "this address".to_string(), |a| a.to_string());
    // This lesson's crate, and the client lesson that goes with it.
    let server = env!("CARGO_PKG_NAME");
    let client = server.replace("_server", "_client");
    let body = format!(
        "This is a WebSocket server ({server}), and that request was not a WebSocket handshake: {err}.\n\
         Connect with a WebSocket client: cargo run -p {client}, or websocat ws://{local}/\n"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{extra_header}connection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_ok() {
        linger(stream).await;
    }
}

/// Closes our side, then reads and drops whatever the client still sends, for at
/// most a second, until it closes its side too. Hanging up at once while the client
/// is still sending would make the operating system answer with a reset, which can
/// destroy the last thing we sent (an error page, a Close frame) before it is read.
pub(crate) async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    // On the heap, and only now: an array here would be part of every connection's
    // task from its first byte to its last (an `async fn`'s locals live in its
    // future; page 03, "Going deeper", has what it cost).
    let mut sink = vec![0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(1..) = stream.read(&mut sink).await {}
    })
    .await;
}
