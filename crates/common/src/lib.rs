//! What every lesson shares, and nothing else: where each pair of lessons meets by
//! default, the name of the environment variable that changes it, how an address is
//! read (`address.rs`), and the logging setup. Lesson logic lives in the lessons,
//! where you read it.

use std::io::IsTerminal;

mod address;
pub use address::{Address, http_address, http_or_ws_address, seconds, server_address, ws_address};

/// Lessons 01 and 02: the HTTP server and its client.
pub const HTTP_ADDR: &str = "127.0.0.1:5000";
/// Lessons 03 and 04: the WebSocket echo server and its client.
pub const WS_ECHO_ADDR: &str = "127.0.0.1:5001";
/// Lessons 05 and 06: the WebSocket chat server and its client.
pub const WS_CHAT_ADDR: &str = "127.0.0.1:5002";
/// Lessons 07 and 08: HTTP and WebSocket on one port, and the reconnecting client.
pub const HTTP_WS_ADDR: &str = "127.0.0.1:5003";

/// Every binary takes `--addr ADDRESS`, or the same through this variable. For a
/// server it is where to listen (port 0 lets the system pick a free port: the
/// server prints the one it got); for a client it is where to connect.
pub const ADDR_ENV: &str = "LESSON_ADDR";

/// Sends diagnostics (connections, requests, errors) to stderr, so that stdout keeps
/// only what the program is for. `RUST_LOG` chooses how much: `info` by default,
/// `RUST_LOG=warn` for quiet, `RUST_LOG=debug` for everything, hyper's own logs too.
///
/// Each line is a level and a message; no timestamps, so that what you see matches
/// the lesson page line for line.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
}
