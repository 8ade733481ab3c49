//! Opening a WebSocket: the TCP connection, then the opening handshake (an HTTP GET
//! that asks to upgrade, answered by `101 Switching Protocols`), within a deadline,
//! with one line for each way it can fail. Lesson 06 carries this file, unchanged.

use std::time::Duration;

use anyhow::anyhow;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::handshake::client::Response;

/// How long the connection and the handshake may take, together. A server that
/// never answers must not leave the client hanging for ever.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// An open WebSocket, over a TCP connection.
pub(crate) type Socket = WebSocketStream<TcpStream>;

/// The lesson whose server the client expects, for the hints: `("03",
/// "ws_echo_server")` says "Start lesson 03's with `cargo run -p ws_echo_server`".
pub(crate) type Server = (&'static str, &'static str);

/// Opens a WebSocket to `url` at `addr`. Returns it with the server's 101 response,
/// for the caller to show, or the one line that says what went wrong.
pub(crate) async fn open(
    url: &str,
    addr: &common::Address,
    (lesson, server): Server,
) -> anyhow::Result<(Socket, Response)> {
    // TCP (looking the host's name up, if it has one: `common::connect`), then the
    // WebSocket handshake on that connection. tokio-tungstenite's `connect_async`
    // does both in one call; two steps let each way of failing be ours to explain.
    let opening = async {
        let stream = common::connect(addr).await.map_err(WsError::Io)?;
        // Send each small frame at once, not after a 40 ms wait for more (Nagle).
        let _ = stream.set_nodelay(true);
        tokio_tungstenite::client_async(url, stream).await
    };
    match tokio::time::timeout(OPEN_TIMEOUT, opening).await {
        Ok(Ok(opened)) => Ok(opened),
        Ok(Err(WsError::Io(err))) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(anyhow!("could not connect to {url}: {}", addr.refused_hint(server)))
        }
        // A name that could not be looked up: the error names it.
        Ok(Err(WsError::Io(err))) if err.kind() == std::io::ErrorKind::NotFound => Err(err.into()),
        // The server answered the handshake with something other than 101: it speaks
        // HTTP, but it is not a WebSocket server (lesson 01's server, say).
        Ok(Err(WsError::Http(response))) => Err(anyhow!(
            "{url} answered `{}`, not `101 Switching Protocols`: it is not a WebSocket server. \
             Start lesson {lesson}'s with `cargo run -p {server}`",
            response.status()
        )),
        Ok(Err(err)) => Err(anyhow!("could not open a WebSocket to {url}: {err}")),
        Err(_) => Err(anyhow!(
            "could not connect to {url}: no answer within {} s",
            OPEN_TIMEOUT.as_secs()
        )),
    }
}
