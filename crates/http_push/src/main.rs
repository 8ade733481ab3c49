//! Lesson 13: push without WebSocket.
//!
//! Run it:
//!
//!     cargo run -p http_push
//!
//! and open http://127.0.0.1:5007/ in two tabs, each on another way to hear the
//! room; or watch the raw event stream while you say something from a second
//! terminal:
//!
//!     curl -N http://127.0.0.1:5007/api/events
//!     curl --json '{"name": "curl", "text": "hi"}' http://127.0.0.1:5007/api/messages
//!
//! Builds on: lesson 07 (the room, the page's API and `/ws`, carried). Adds: the
//! same room heard three more ways: polling and long polling (`poll.rs`), and
//! Server-Sent Events (`events.rs`), a response that never ends; `push.rs` routes
//! them.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod events;
mod poll;
mod push;
// This lesson's room (lesson 07's, with a signal for long polls), under the name
// the files carried from lesson 07 know it by.
#[path = "waiters.rs"]
mod room;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../http_ws_server/src/api.rs"] // lesson 07
mod api;
#[path = "../../http_ws_server/src/chat.rs"] // lesson 07
mod chat;
// Lesson 07's room and routes, under other names: this lesson's `waiters.rs` wraps
// the one, and its `push.rs` sends what it does not answer to the other.
#[path = "../../http_ws_server/src/room.rs"] // lesson 07
mod chat_room;
#[path = "../../http_ws_server/src/routes.rs"] // lesson 07
mod chat_routes;
#[path = "../../ws_chat_server/src/deliver.rs"] // lesson 05
mod deliver;
#[path = "../../http_ws_server/src/json.rs"] // lesson 07
mod json;
#[path = "../../http_server/src/listen.rs"] // lesson 01
mod listen;
#[path = "../../ws_chat_server/src/members.rs"] // lesson 05
mod members;
#[path = "../../http_ws_server/src/origin.rs"] // lesson 07
mod origin;
#[path = "../../http_ws_server/src/respond.rs"] // lesson 07
mod respond;
#[path = "../../http_ws_server/src/serve.rs"] // lesson 07
mod serve;
#[path = "../../http_server/src/shutdown.rs"] // lesson 01
mod shutdown;
#[path = "../../http_ws_server/src/tls.rs"] // lesson 07
mod tls;
#[path = "../../http_ws_server/src/upgrade.rs"] // lesson 07
mod upgrade;
#[path = "../../ws_echo_server/src/websocket.rs"] // lesson 03
mod websocket;
use chat_routes::Shared;
use room::Room;

#[derive(Parser)]
#[command(about = "Lesson 13: push without WebSocket")]
struct Args {
    /// Where to listen. 0.0.0.0:5007 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::PUSH_ADDR)]
    #[arg(value_parser = common::server_address)]
    addr: common::Address,
    #[command(flatten)]
    chat: chat_routes::Options,
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
    let answering = Arc::clone(&shared);
    let handler = move |req, asked| push::handle(req, asked, Arc::clone(&answering));
    serve::run(listener, ctrl_c, tls, &shared.shutdown, handler).await;
    ExitCode::SUCCESS
}
