//! Lesson 11: log in over HTTP, chat over WebSocket.
//!
//! Run it:
//!
//!     cargo run -p http_ws_login
//!
//! and open http://127.0.0.1:5006/ in two browser tabs: log in, chat, log out in one
//! tab and watch the other end. Or with curl, keeping the cookie in a file:
//!
//!     curl -i -c jar --json '{"name": "Ada"}' http://127.0.0.1:5006/api/login
//!     curl -i -b jar --json '{"text": "hi"}' http://127.0.0.1:5006/api/messages
//!
//! Builds on: lesson 07 (the page, the API, the WebSocket, carried). Adds: a login
//! makes a session (`session.rs`) whose id the browser keeps in a cookie
//! (`login.rs`); `/ws` and `POST /api/messages` take the name from it, and a
//! session that ends closes its WebSockets with 4401 (`chat.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod chat;
mod login;
mod routes;
mod session;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../http_ws_server/src/api.rs"] // lesson 07
#[allow(dead_code)] // its post_message takes a name; here, login::post_message
mod api;
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
#[path = "../../http_ws_server/src/room.rs"] // lesson 07
#[allow(dead_code)] // its guests and renames: here, the name is the login's
mod room;
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
use room::Room;
use routes::Shared;

#[derive(Parser)]
#[command(about = "Lesson 11: log in over HTTP, chat over WebSocket")]
struct Args {
    /// Where to listen. 0.0.0.0:5006 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::LOGIN_ADDR)]
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

    // Over TLS, the session cookie is `Secure` and `__Host-` (`login.rs`).
    let shared = Shared::new(Room::new(), args.chat, tls.is_some());
    let answering = Arc::clone(&shared);
    let handler = move |req, asked: serve::Asked| {
        routes::handle(req, asked, asked.peer, Arc::clone(&answering))
    };
    serve::run(listener, ctrl_c, tls, &shared.shutdown, handler).await;
    ExitCode::SUCCESS
}
