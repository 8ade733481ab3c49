//! Lesson 10: behind a real proxy.
//!
//! Start Redis, two instances (each in its own terminal) and nginx in front of them:
//!
//!     redis-server --port 6379 --bind 127.0.0.1
//!     cargo run -p http_ws_proxied -- --trust-proxy 127.0.0.2
//!     cargo run -p http_ws_proxied -- --addr 127.0.0.1:5005 --trust-proxy 127.0.0.2
//!     nginx -e stderr -p /tmp/lesson10 -c "$PWD/proxy/nginx.conf"
//!
//! and open http://127.0.0.1:8080/: nginx (`proxy/nginx.conf`) passes each request
//! and each WebSocket on to one of the two.
//!
//! Builds on: lesson 09 (all of it, carried). Adds: behind nginx every connection
//! comes from nginx; `--trust-proxy` names the proxy whose `X-Forwarded-For` header
//! we believe, so the log shows each client's real address (`proxy.rs`).

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use hyper::Request;
use hyper::body::Incoming;

mod proxy;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../http_ws_cluster/src/api.rs"] // lesson 09
mod api;
#[path = "../../http_ws_server/src/chat.rs"] // lesson 07
mod chat;
#[path = "../../http_ws_cluster/src/cluster.rs"] // lesson 09
mod cluster;
#[path = "../../ws_chat_server/src/deliver.rs"] // lesson 05
mod deliver;
#[path = "../../http_ws_server/src/json.rs"] // lesson 07
mod json;
#[path = "../../http_ws_cluster/src/link.rs"] // lesson 09
mod link;
#[path = "../../http_server/src/listen.rs"] // lesson 01
mod listen;
#[path = "../../ws_chat_server/src/members.rs"] // lesson 05
mod members;
#[path = "../../http_ws_server/src/origin.rs"] // lesson 07
mod origin;
#[path = "../../http_ws_server/src/respond.rs"] // lesson 07
mod respond;
#[path = "../../http_ws_cluster/src/room.rs"] // lesson 09
mod room;
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
use serve::Asked;

#[derive(Parser)]
#[command(about = "Lesson 10: behind a real proxy")]
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
    /// The proxy in front (nginx): its address, whose X-Forwarded-For header names
    /// the client. From anyone else, that header is ignored.
    #[arg(long = "trust-proxy", value_name = "ADDRESS")]
    trust_proxy: Option<IpAddr>,
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

    let trust_proxy = args.trust_proxy;
    let shared = Shared::new(room, args.chat);
    let linking = Arc::clone(&shared.room);
    let linked = tokio::spawn(async move { link::run(&linking, link).await });
    // Lesson 07's connections and routes, with the client named as the proxy says.
    let answering = Arc::clone(&shared);
    let handler = move |req: Request<Incoming>, asked: Asked| {
        // Who asked: the client nginx names in `X-Forwarded-For`, if the
        // connection is from the proxy we trust (`proxy.rs`); else the peer.
        let client = proxy::client(req.headers(), asked.peer, trust_proxy, asked.conn);
        routes::handle(req, asked, client, Arc::clone(&answering))
    };
    serve::run(listener, ctrl_c, tls, &shared.shutdown, handler).await;

    // Everyone here has left the room; now this instance leaves Redis.
    linked.abort();
    shared.room.cluster.goodbye().await;
    ExitCode::SUCCESS
}
