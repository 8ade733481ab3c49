//! Lesson 09's client: lesson 08's, for several servers of one room.
//!
//! Start two instances of lesson 09's server (its page says how), then this client,
//! given both:
//!
//!     cargo run -p http_ws_cluster_client -- --addr 127.0.0.1:5004 --addr 127.0.0.1:5005
//!
//! It starts with the first that answers, and when its connection is lost it moves
//! to the next: one room, so it misses nothing.
//!
//! Builds on: lesson 08 (everything, carried but for this file and `handler.rs`).
//! Adds: several `--addr` (`Servers`), and the room's news (`Notice`: split, whole)
//! and chat lines without an id (said while the room was split) in `handler.rs`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use tracing::{info, warn};

mod handler;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../../ws_reconnect_client/src/backoff.rs"] // lesson 08
mod backoff;
#[path = "../../../ws_reconnect_client/src/http.rs"] // lesson 08
mod http;
#[path = "../../../ws_chat_client/src/keyboard.rs"] // lesson 06
mod keyboard;
#[path = "../../../ws_reconnect_client/src/session.rs"] // lesson 08
mod session;
#[path = "../../../ws_reconnect_client/src/wss.rs"] // lesson 08
mod wss;
use backoff::Backoff;
use handler::Printer;
use http::{FetchError, fetch_history};
use session::{Keyboard, Session, closed_by_the_server, connect, wait_offline};

#[derive(Parser)]
#[command(about = "Lesson 09's client: lesson 08's, for several servers of one room")]
struct Args {
    /// The server to talk to: host:port, or a URL such as http://127.0.0.1:5003/
    /// (https:// or wss:// for TLS). Repeat it (or separate with commas) for several
    /// servers of one room: when one fails, the client moves to the next.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::HTTP_WS_ADDR)]
    #[arg(value_parser = common::http_or_ws_address, value_delimiter = ',')]
    addr: Vec<common::Address>,
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

/// The servers of one room, as given with `--addr`, and the one we use now.
struct Servers<'a> {
    addrs: &'a [common::Address],
    /// The place in `addrs` of the server we use now.
    current: usize,
    /// `--ca`: a certificate to trust for `wss://` and `https://`.
    ca: Option<&'a Path>,
}

impl Servers<'_> {
    fn current(&self) -> &common::Address {
        &self.addrs[self.current]
    }

    /// Moves on to the next server in the list (the same one, if there is only one).
    fn next(&mut self) -> &common::Address {
        self.current = (self.current + 1) % self.addrs.len();
        self.current()
    }
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
    let mut servers = Servers { addrs: &args.addr, current: 0, ca: args.ca.as_deref() };
    let mut handler = Printer::default();

    // First the history, over HTTP: a question with one answer.
    servers.current = first_history(&servers, &mut handler).await?;

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
        let addr = servers.current();
        let url = format!("{}://{addr}/ws", if addr.tls { "wss" } else { "ws" });
        let opened = Instant::now();
        match connect(&url, addr, servers.ca).await {
            Ok(ws) => {
                handler.on_open(&url);
                // Once more, now that the stream is open: a line said after the
                // history came and before we joined reached neither. Lines said
                // from now on wait in the socket until the session reads them,
                // after these; the ids tell what was shown already.
                catch_up(addr, servers.ca, &mut handler).await;
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
        if !reconnect(&mut servers, &mut backoff, &mut handler, keys, &mut outbox).await {
            if !outbox.is_empty() {
                warn!("Leaving with {} unsent lines", outbox.len());
            }
            return Ok(());
        }
    }
}

/// The history again, right after the WebSocket opened, showing only what the
/// last one lacked. If it cannot be had, the session goes on: it said so.
async fn catch_up(addr: &common::Address, ca: Option<&Path>, handler: &mut Printer) {
    match fetch_history(addr, ca).await {
        Ok(history) => handler.on_history(history),
        Err(FetchError::Refused) => handler.on_error(&format!("{addr} is not answering")),
        Err(FetchError::Other(err)) => handler.on_error(&err),
    }
}

/// Asks the servers for the history, in turn, until one answers: the one we stay
/// with. Returns its place in the list.
async fn first_history(servers: &Servers<'_>, handler: &mut Printer) -> anyhow::Result<usize> {
    let addrs = servers.addrs;
    for (server, addr) in addrs.iter().enumerate() {
        match fetch_history(addr, servers.ca).await {
            Ok(history) => {
                handler.on_history(history);
                return Ok(server);
            }
            Err(FetchError::Refused) if server + 1 < addrs.len() => {
                handler.on_error(&format!("{addr} is not answering: trying the next server"));
            }
            Err(FetchError::Refused) => {
                let hint = addr.refused_hint("http_ws_server");
                bail!("could not connect to {addr}: {hint}");
            }
            Err(FetchError::Other(err)) => bail!(err),
        }
    }
    unreachable!("clap gives at least one address")
}

/// Waits, then asks for the history over HTTP (what did we miss? is the server back
/// at all?), again and again until a server answers: with several, each try goes to
/// the next one, so a dead server is left at once. Returns false if the user leaves
/// meanwhile.
async fn reconnect(
    servers: &mut Servers<'_>,
    backoff: &mut Backoff,
    handler: &mut Printer,
    keyboard: &mut Keyboard,
    outbox: &mut VecDeque<String>,
) -> bool {
    loop {
        let wait = backoff.next_wait(fastrand::f64());
        info!("Reconnecting in {:.1} s (attempt {})", wait.as_secs_f64(), backoff.attempt);
        if wait_offline(wait, keyboard, outbox).await {
            return false;
        }
        let ca = servers.ca;
        let addr = servers.next();
        match fetch_history(addr, ca).await {
            Ok(history) => {
                handler.on_history(history);
                return true;
            }
            Err(FetchError::Refused) => handler.on_error(&format!("{addr} is not answering yet")),
            Err(FetchError::Other(err)) => handler.on_error(&err),
        }
    }
}
