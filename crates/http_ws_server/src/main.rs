//! Lesson 07: one port, two protocols.
//!
//! Run it:
//!
//!     cargo run -p http_ws_server
//!
//! and open http://127.0.0.1:5003/ in two browser tabs, or try the JSON API:
//!
//!     curl -i http://127.0.0.1:5003/api/messages
//!     curl -i --json '{"name": "curl", "text": "hi from HTTP"}' http://127.0.0.1:5003/api/messages
//!
//! Builds on: lesson 01 (hyper, routing, timeouts) and lesson 05 (the chat and the
//! room, in `chat.rs` and `room.rs`). Adds: one hyper server serves a page, a JSON
//! API and, at `/ws`, a WebSocket whose upgrade we do by hand (`upgrade.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod api;
mod chat;
mod json;
mod origin;
mod respond;
mod room;
mod routes;
mod serve;
mod tls;
mod upgrade;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../ws_chat_server/src/deliver.rs"] // lesson 05
mod deliver;
#[path = "../../http_server/src/listen.rs"] // lesson 01
mod listen;
#[path = "../../ws_chat_server/src/members.rs"] // lesson 05
mod members;
#[path = "../../http_server/src/shutdown.rs"] // lesson 01
mod shutdown;
#[path = "../../ws_echo_server/src/websocket.rs"] // lesson 03
mod websocket;
use room::Room;
use routes::Shared;

#[derive(Parser)]
#[command(about = "Lesson 07: one port, two protocols")]
struct Args {
    /// Where to listen. 0.0.0.0:5003 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::HTTP_WS_ADDR)]
    #[arg(value_parser = common::server_address)]
    addr: common::Address,
    #[command(flatten)]
    chat: routes::Options,
    #[command(flatten)]
    tls: tls::TlsArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();

    let listener = match listen::bind(&args.addr).await {
        Ok(listener) => listener,
        Err(why) => return common::fail(why),
    };
    // From here on, Ctrl-C is ours to handle (see `shutdown.rs`).
    let ctrl_c = shutdown::signal();
    let addr = listener.local_addr().expect("a bound socket has an address");
    let tls = match tls::setup(&args.tls) {
        Ok(tls) => tls,
        Err(why) => return common::fail(why),
    };
    tls::print_start(&addr, tls.as_ref());

    let shared = Shared::new(Room::new(), args.chat);
    // Each connection in a task of its own, each request answered by `routes.rs`,
    // until Ctrl-C; then every connection is told, and waited for (`serve.rs`).
    let answering = Arc::clone(&shared);
    let handler = move |req, asked: serve::Asked| {
        routes::handle(req, asked, asked.peer, Arc::clone(&answering))
    };
    serve::run(listener, ctrl_c, tls, &shared.shutdown, handler).await;
    ExitCode::SUCCESS
}
