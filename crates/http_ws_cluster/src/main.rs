//! Lesson 09: two servers, one room.
//!
//! Start Redis, then two instances, each in its own terminal:
//!
//!     redis-server --port 6379
//!     cargo run -p http_ws_cluster
//!     cargo run -p http_ws_cluster -- --addr 127.0.0.1:5005
//!
//! and open http://127.0.0.1:5004/ and http://127.0.0.1:5005/ in two browser tabs:
//! one room. Or try the JSON API of either:
//!
//!     curl -i http://127.0.0.1:5005/api/messages
//!
//! Builds on: lesson 07 (everything but the room's reach). Adds: the room goes
//! through Redis (`cluster.rs`, kept linked by the task in `link.rs`): what one
//! instance hears, every instance passes on.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod api;
mod cluster;
mod link;
mod room;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../http_ws_server/src/chat.rs"] // lesson 07
mod chat;
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
#[path = "../../http_ws_server/src/routes.rs"] // lesson 07
mod routes;
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
use routes::Shared;

#[derive(Parser)]
#[command(about = "Lesson 09: two servers, one room")]
struct Args {
    /// Where to listen. 0.0.0.0:5004 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::CLUSTER_ADDR)]
    #[arg(value_parser = common::server_address)]
    addr: common::Address,
    /// The Redis every instance of the room meets at.
    #[arg(long, value_name = "URL", env = common::REDIS_ENV, default_value = common::REDIS_URL)]
    #[arg(value_parser = cluster::redis_url)]
    redis: redis::Client,
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
    // Redis before anything else: without it there is no room to join.
    let (room, link) = match link::start(args.redis, &addr).await {
        Ok(started) => started,
        Err(why) => return common::fail(why),
    };
    let tls = match tls::setup(&args.tls) {
        Ok(tls) => tls,
        Err(why) => return common::fail(why),
    };
    tls::print_start(&addr, tls.as_ref());

    let shared = Shared::new(room, args.chat);
    let linking = Arc::clone(&shared.room);
    let linked = tokio::spawn(async move { link::run(&linking, link).await });
    // Lesson 07's connections and routes (`serve.rs`, `routes.rs`), with this room.
    let answering = Arc::clone(&shared);
    let handler = move |req, asked: serve::Asked| {
        routes::handle(req, asked, asked.peer, Arc::clone(&answering))
    };
    serve::run(listener, ctrl_c, tls, &shared.shutdown, handler).await;

    // Everyone here has left the room; now this instance leaves Redis.
    linked.abort();
    shared.room.cluster.goodbye().await;
    ExitCode::SUCCESS
}
