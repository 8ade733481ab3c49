//! Lesson 12: a client that logs in.
//!
//! Start lesson 11's server in one terminal:
//!
//!     cargo run -p http_ws_login
//!
//! then this client in another, and type. Restart the server (it forgets every
//! session), or start it with `--session 10` and wait: the client logs in again and
//! carries on.
//!
//!     cargo run -p ws_login_client -- --name Ada
//!
//! Builds on: lesson 08 (all of it, carried). Adds: `POST /api/login` first
//! (`login.rs`), the session's cookie on every WebSocket handshake, and a new login
//! when the server ends the session (close code 4401) or refuses it (401), where
//! lesson 08 reconnects.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{info, warn};

mod login;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../ws_reconnect_client/src/backoff.rs"] // lesson 08
mod backoff;
#[path = "../../ws_reconnect_client/src/handler.rs"] // lesson 08
mod handler;
#[path = "../../ws_reconnect_client/src/http.rs"] // lesson 08
mod http;
#[path = "../../ws_chat_client/src/keyboard.rs"] // lesson 06
mod keyboard;
#[path = "../../ws_reconnect_client/src/reconnect.rs"] // lesson 08
mod reconnect;
#[path = "../../ws_reconnect_client/src/session.rs"] // lesson 08
mod session;
#[path = "../../ws_reconnect_client/src/wss.rs"] // lesson 08
mod wss;
use backoff::Backoff;
use handler::Printer;
use login::{Cookie, Refused};
use reconnect::{catch_up, reconnect};
use session::{Keyboard, Session, closed_by_the_server, connect};

#[derive(Parser)]
#[command(about = "Lesson 12: a client that logs in")]
struct Args {
    /// The server to talk to: host:port, or a URL such as http://127.0.0.1:5006/
    /// (https:// or wss:// for TLS).
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::LOGIN_ADDR)]
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
    /// The name to log in as: the chat shows your lines under it.
    #[arg(long)]
    name: String,
    /// A first message to send, before the lines you type.
    message: Vec<String>,
}

/// The close code lesson 11 ends a session's sockets with: log in again.
const SESSION_ENDED: CloseCode = CloseCode::Library(4401);

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

    // First the login, over HTTP: the session's cookie goes with every handshake.
    // `fresh`: no WebSocket has opened on it yet.
    let (mut cookie, mut fresh) = (log_in(&args).await?, true);

    // Then the history, over HTTP, as in lesson 08 (the login says the server is up).
    catch_up(addr, ca, &mut handler).await;

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
        match connect(login::handshake(&url, &cookie), addr, ca).await {
            Ok(ws) => {
                fresh = false;
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
                    // The session ended (a logout, or its time): log in again, at once.
                    Session::Closed(frame) if frame.code == SESSION_ENDED => {
                        handler.on_close(&closed_by_the_server(&frame));
                        cookie = log_in_again(&args, &mut fresh).await?;
                        continue;
                    }
                    // 1001 (a restart), 1008 (too slow): reconnect, as lesson 08 does.
                    Session::Closed(frame) => handler.on_close(&closed_by_the_server(&frame)),
                }
                backoff.connected_for(opened.elapsed());
            }
            Err(err) => {
                handler.on_error(&err);
                // Refused with 401? `GET /api/me` says whether the session lives.
                if login::still_in(addr, ca, &cookie).await == Ok(false) {
                    cookie = log_in_again(&args, &mut fresh).await?;
                    continue;
                }
            }
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

/// `POST /api/login` as `--name`: the session's cookie, or one line that says why
/// not (the name is held by another session, say).
async fn log_in(args: &Args) -> anyhow::Result<Cookie> {
    let (addr, name) = (&args.addr, &args.name);
    match login::login(addr, args.ca.as_deref(), name).await {
        Ok(cookie) => {
            info!("Logged in as {name}");
            Ok(cookie)
        }
        Err(Refused::Said(why)) => bail!("could not log in as {name}: {why}"),
        Err(Refused::Other(why)) if why.contains("Connection refused") => {
            bail!("could not connect to {addr}: {}", addr.refused_hint("http_ws_login"))
        }
        Err(Refused::Other(why)) => bail!("could not log in at {addr}: {why}"),
    }
}

/// A new login after the server ended or refused our session, once: a session
/// refused before any WebSocket opened on it means a new one would be too (the
/// server forgets sessions as fast as it makes them), so we stop, saying why.
async fn log_in_again(args: &Args, fresh: &mut bool) -> anyhow::Result<Cookie> {
    if *fresh {
        bail!("logged in as {}, and the server refused that session at once: stopping", args.name);
    }
    *fresh = true;
    info!("The session ended: logging in again");
    log_in(args).await
}
