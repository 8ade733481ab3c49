//! Lesson 08: a client that survives.
//!
//! Start lesson 07's server in one terminal:
//!
//!     cargo run -p http_ws_server
//!
//! then this client in another, and type. Stop the server with Ctrl-C and start it
//! again: the client says so, waits, reconnects and carries on.
//!
//!     cargo run -p ws_reconnect_client
//!
//! Builds on: lesson 06 (keyboard and socket at once with `select!`, `keyboard.rs`).
//! Adds: the history over HTTP first (`http.rs`), JSON messages and event handlers
//! (`handler.rs`), a heartbeat that notices a dead server, and reconnecting with
//! exponential backoff and jitter.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use tracing::warn;

mod backoff;
mod handler;
mod http;
mod reconnect;
mod session;
mod wss;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../ws_chat_client/src/keyboard.rs"] // lesson 06
mod keyboard;
use backoff::Backoff;
use handler::Printer;
use http::{FetchError, fetch_history};
use reconnect::{catch_up, reconnect};
use session::{Keyboard, Session, closed_by_the_server, connect};

#[derive(Parser)]
#[command(about = "Lesson 08: a client that survives")]
struct Args {
    /// The server to talk to: host:port, or a URL such as http://127.0.0.1:5003/
    /// (https:// or wss:// for TLS).
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::HTTP_WS_ADDR)]
    #[arg(value_parser = common::http_or_ws_address)]
    addr: common::Address,
    /// A certificate to trust for https:// and wss://, besides the usual authorities:
    /// a self-signed server's, such as the file lesson 07 prints with --tls.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Seconds between our Pings; two intervals without a word from the server
    /// mean the connection is dead.
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = common::seconds)]
    heartbeat: Duration,
    /// A first message to send, before the lines you type.
    message: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();
    // Whatever went wrong is one line, as the servers say theirs (`common::fail`).
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => common::fail(why),
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (addr, ca) = (&args.addr, args.ca.as_deref());
    let mut handler = Printer::default();

    // First the history, over HTTP: a question with one answer.
    match fetch_history(addr, ca).await {
        Ok(history) => handler.on_history(history),
        Err(FetchError::Refused) => {
            let hint = addr.refused_hint("http_ws_server");
            bail!("could not connect to {addr}: {hint}");
        }
        Err(FetchError::Other(err)) => bail!(err),
    }

    // Ctrl-C closes the connection properly, as in lesson 06.
    let mut keyboard = Keyboard { lines: keyboard::lines(), ctrl_c: Box::pin(keyboard::ctrl_c()) };
    let mut outbox: VecDeque<String> = VecDeque::new();
    if !args.message.is_empty() {
        outbox.push_back(args.message.join(" "));
    }
    let mut backoff = Backoff::new();
    loop {
        // Then the stream, over WebSocket, for as long as it lasts. One address, two
        // protocols: http://ADDR/api/messages and ws://ADDR/ws (with TLS: https://
        // and wss://).
        let url = format!("{}://{addr}/ws", if addr.tls { "wss" } else { "ws" });
        let opened = Instant::now();
        match connect(&url, addr, ca).await {
            Ok(ws) => {
                handler.on_open(&url);
                // Once more, now that the stream is open: a line said after the
                // history came and before we joined reached neither. Lines said
                // from now on wait in the socket until the session reads them,
                // after these; the ids tell what was shown already.
                catch_up(addr, ca, &mut handler).await;
                let keys = &mut keyboard;
                match session::session(ws, &mut handler, keys, &mut outbox, args.heartbeat).await {
                    Session::Quit => return Ok(()),
                    Session::Lost(why) => handler.on_close(&why),
                    Session::Closed(frame) => handler.on_close(&closed_by_the_server(&frame)),
                }
                backoff.connected_for(opened.elapsed());
            }
            Err(err) => handler.on_error(&err),
        }
        let keys = &mut keyboard;
        if !reconnect(addr, ca, &mut backoff, &mut handler, keys, &mut outbox).await {
            if !outbox.is_empty() {
                warn!("Leaving with {} unsent lines", outbox.len());
            }
            return Ok(());
        }
    }
}
