//! What every lesson shares, and nothing else: where each pair of lessons meets by
//! default, the name of the environment variable that changes it, how an address is
//! read (`address.rs`) and how a client connects to it (`connect.rs`), and the
//! logging setup. Lesson logic lives in the lessons,
//! where you read it.

use std::io::IsTerminal;

mod address;
mod connect;
pub use address::{
    Address, Host, http_address, http_or_ws_address, seconds, server_address, ws_address,
};
pub use connect::connect;

/// Lessons 01 and 02: the HTTP server and its client.
pub const HTTP_ADDR: &str = "127.0.0.1:5000";
/// Lessons 03 and 04: the WebSocket echo server and its client.
pub const WS_ECHO_ADDR: &str = "127.0.0.1:5001";
/// Lessons 05 and 06: the WebSocket chat server and its client.
pub const WS_CHAT_ADDR: &str = "127.0.0.1:5002";
/// Lessons 07 and 08: HTTP and WebSocket on one port, and the reconnecting client.
pub const HTTP_WS_ADDR: &str = "127.0.0.1:5003";
/// Lesson 09: one instance of the chat shared through Redis (a second takes `--addr`).
pub const CLUSTER_ADDR: &str = "127.0.0.1:5004";
/// Lesson 11: the chat with a login.
pub const LOGIN_ADDR: &str = "127.0.0.1:5006";
/// Lesson 13: the chat heard without WebSocket too.
pub const PUSH_ADDR: &str = "127.0.0.1:5007";
/// Lesson 09: where Redis listens, as `redis-server --port 6379` starts it.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Lesson 09 takes `--redis URL`, or the same through this variable.
pub const REDIS_ENV: &str = "LESSON_REDIS";

/// Every binary takes `--addr ADDRESS`, or the same through this variable. For a
/// server it is where to listen (port 0 lets the system pick a free port: the
/// server prints the one it got); for a client it is where to connect.
pub const ADDR_ENV: &str = "LESSON_ADDR";

/// Sends diagnostics (connections, requests, errors) to stderr, so that stdout keeps
/// only what the program is for. `RUST_LOG` chooses how much: `info` by default,
/// `RUST_LOG=warn` for quiet, `RUST_LOG=debug` for everything, hyper's own logs too,
/// or per crate: `RUST_LOG=info,hyper=debug`.
///
/// Each line is a level and a message; no timestamps, so that what you see matches
/// the lesson page line for line.
pub fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|wanted| wanted.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time();
    tracing_subscriber::registry().with(lines).with(filter).init();
}

/// Prints a reason the program cannot go on, as the one line a beginner reads
/// (`error: ...`), and gives `main` the status to end with: `return
/// common::fail(why)`. A backtrace would only scare; a line says what to do. An
/// `anyhow::Error` prints its whole chain on that line (`{:#}`): what we were doing,
/// then why it failed.
pub fn fail(why: impl std::fmt::Display) -> std::process::ExitCode {
    eprintln!("error: {why:#}");
    std::process::ExitCode::FAILURE
}

/// `println!` for a client whose output may go into a pipe. When what reads it has
/// gone (`cargo run -p ws_chat_client | head -3` closes the pipe after three
/// lines), the next write fails with the error kind `BrokenPipe`, and the program
/// ends quietly with status 0, as Unix tools do. `std::println!` would panic there.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        $crate::print_line(format_args!($($arg)*));
    }};
}

/// What `common::println!` does: one line to standard output.
#[doc(hidden)]
pub fn print_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // Standard output writes at each newline, so a closed pipe shows up here.
    match writeln!(std::io::stdout().lock(), "{line}") {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => panic!("failed printing to stdout: {err}"),
    }
}
