//! Claiming a port and taking connections from it. Lesson 01's page explains it;
//! every later server lesson (03, 05, 07, 09) carries this file, unchanged.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::{TcpListener, TcpStream};
use tracing::warn;

/// Claims `addr`'s port, or says in one line what to do instead (`main` prints it
/// and ends the program: there is nothing to serve without a port).
pub(crate) async fn bind(addr: &common::Address) -> anyhow::Result<TcpListener> {
    // Binding fails if another program has the port already: say so in one line a
    // beginner can act on, not with a backtrace.
    let socket = addr.socket().expect("a server's --addr is an IP address: see server_address");
    match TcpListener::bind(socket).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            // Another port near it: 50 above, or 50 below at the top of the range.
            let port = socket.port();
            let other = SocketAddr::new(socket.ip(), port.checked_add(50).unwrap_or(port - 50));
            bail!(
                "{addr} is already in use (is another copy of this lesson still running?). \
                 Stop it, or choose another port: cargo run -p {} -- --addr {other}",
                env!("CARGO_PKG_NAME"),
            )
        }
        Err(err) => Err(err).with_context(|| format!("cannot listen on {addr}")),
    }
}

/// Waits for the next connection. This is not a busy loop: the task sleeps until
/// the operating system hands us a connection, and the other tasks run meanwhile.
pub(crate) async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(err) => {
                // Usually "too many open files": wait a little for some to close
                // rather than spinning on the same error.
                warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
