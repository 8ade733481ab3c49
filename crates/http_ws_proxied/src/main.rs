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

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{debug, info, warn};

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
#[path = "../../http_server/src/shutdown.rs"] // lesson 01
mod shutdown;
#[path = "../../http_ws_server/src/tls.rs"] // lesson 07
mod tls;
#[path = "../../http_ws_server/src/upgrade.rs"] // lesson 07
mod upgrade;
#[path = "../../ws_echo_server/src/websocket.rs"] // lesson 03
mod websocket;
use respond::{html, text};
use room::Room;

/// A client that has not sent its whole request head by then is cut off, so that a
/// slow (or malicious) client cannot hold a connection for ever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a request's head (request line and headers) may take, in bytes. Browsers
/// send 1-2 KiB; hyper answers anything larger with 431 Request Header Fields Too Large.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long Ctrl-C waits for requests in flight and for WebSocket goodbyes.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The chat page: one HTML file with its script and style, built into the binary.
const PAGE: &str = include_str!("../../http_ws_server/src/page.html"); // lesson 07's

/// Where one message of the history is: `/api/messages/7`.
const MESSAGE_PATH: &str = "/api/messages/";
const ROUTES: &str = "\
GET  /               the chat page
GET  /ws             the chat, over WebSocket
GET  /api/messages   the last 100 messages, as JSON
POST /api/messages   say something, as JSON: {\"name\": \"...\", \"text\": \"...\"}
GET  /api/messages/N one message, by its id
GET  /api/online     who is online, as JSON
";

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
    /// A web page's origin (such as http://127.0.0.1:8080) whose scripts may open a
    /// WebSocket here, besides this server's own page. Repeat it for more.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// The proxy in front (nginx): its address, whose X-Forwarded-For header names
    /// the client. From anyone else, that header is ignored.
    #[arg(long = "trust-proxy", value_name = "ADDRESS")]
    trust_proxy: Option<IpAddr>,
    /// Seconds between the Pings that check each WebSocket client is still there.
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = common::seconds)]
    heartbeat: Duration,
    #[command(flatten)]
    tls: tls::TlsArgs,
}

/// What every connection's task shares.
pub(crate) struct Shared {
    room: Room,
    heartbeat: Duration,
    /// Other sites' origins whose pages may open a WebSocket here (`--allow-origin`).
    allow_origins: Vec<String>,
    /// The proxy whose `X-Forwarded-For` we believe (`--trust-proxy`).
    trust_proxy: Option<IpAddr>,
    /// Ctrl-C sends `true` here. Every connection task, HTTP or WebSocket, holds a
    /// receiver; when the last one is gone, `closed()` tells `main`.
    shutdown: watch::Sender<bool>,
    /// With `--tls`: the TLS settings every connection starts with.
    tls: Option<tls::Tls>,
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
    let mut shutdown = pin!(shutdown::signal());
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

    let http = http_settings();
    let shared = Arc::new(Shared {
        room,
        heartbeat: args.heartbeat,
        allow_origins: args.allow_origins,
        trust_proxy: args.trust_proxy,
        shutdown: watch::channel(false).0,
        tls,
    });
    tls::print_start(&addr, shared.tls.as_ref());
    let linking = Arc::clone(&shared);
    let linked = tokio::spawn(async move { link::run(&linking.room, link).await });
    let mut connections: u64 = 0;

    loop {
        // Wait for whichever comes first: a new connection, or Ctrl-C.
        let (stream, peer) = tokio::select! {
            accepted = listen::accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        connections += 1;
        // No Nagle delay on small writes, as in lessons 03 and 05.
        let _ = stream.set_nodelay(true);
        serve(&http, &shared, stream, connections, peer);
    }

    // Stop accepting (dropping the listener closes the port), then tell every
    // connection: HTTP ones finish their request, WebSocket ones say 1001 (going
    // away). Wait until they have, or until we tire.
    drop(listener);
    info!("Shutting down: finishing requests, closing WebSockets with 1001 (going away)");
    let _ = shared.shutdown.send(true);
    tokio::select! {
        () = shared.shutdown.closed() => info!("All connections closed, bye"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            warn!("Gave up waiting after {} s", SHUTDOWN_GRACE.as_secs());
        }
    }
    // Everyone here has left the room; now this instance leaves Redis.
    linked.abort();
    shared.room.cluster.goodbye().await;
    ExitCode::SUCCESS
}

/// One set of HTTP/1.1 settings for every connection. hyper measures timeouts with
/// the timer we give it (it panics if a timeout is set without one).
fn http_settings() -> http1::Builder {
    // `half_close`: a client may shut its sending side once its request is out (`nc`
    // does, at the end of its input) and still wait for the answer; without this,
    // hyper would take that end of input for a hang-up and drop the request.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEAD_BYTES)
        .half_close(true);
    http
}

/// Serves one connection in a task of its own, so a slow client never holds up the
/// others: tokio runs thousands of these on a few threads.
fn serve(
    http: &http1::Builder,
    shared: &Arc<Shared>,
    stream: TcpStream,
    conn: u64,
    peer: SocketAddr,
) {
    // One TCP connection can carry many requests, one after another (HTTP/1.1
    // keep-alive): hyper calls our service once for each of them.
    let requests = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&requests);
    let service_shared = Arc::clone(shared);
    let service = service_fn(move |req| {
        let request = counter.fetch_add(1, Ordering::Relaxed) + 1;
        handle(req, conn, request, peer, Arc::clone(&service_shared))
    });
    let http = http.clone();
    let shared = Arc::clone(shared);
    let mut stop = shared.shutdown.subscribe();
    tokio::spawn(async move {
        // With --tls, the TLS handshake comes first (`tls.rs`); then the same HTTP.
        // Ctrl-C meanwhile ends a connection that has not started yet.
        let started = tokio::select! {
            io = tls::start(shared.tls.as_ref(), stream, conn) => io,
            () = websocket::shutting_down(&mut stop) => None,
        };
        let Some(io) = started else { return };
        // `with_upgrades` lets hyper hand the connection over after a 101. hyper's
        // `GracefulShutdown` does not take such connections, so each task watches our
        // own shutdown channel instead.
        let connection = http.serve_connection(TokioIo::new(io), service).with_upgrades();
        let mut connection = pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = websocket::shutting_down(&mut stop) => {
                // Finish the request in flight, then close; an idle keep-alive
                // connection closes at once.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        let served = requests.load(Ordering::Relaxed);
        match result {
            Ok(()) => debug!("conn #{conn} closed after {served} requests"),
            // The header read timeout also runs while a kept-alive connection waits
            // for its next request: after an answer, that is a client with nothing
            // more to ask (a browser keeps a connection open for a while), no fault.
            Err(err) if err.is_timeout() && served > 0 => info!(
                "conn #{conn} {peer} closed after {served} requests: kept alive, but no next \
                 request came within {} s",
                HEADER_READ_TIMEOUT.as_secs()
            ),
            // hyper has already answered a malformed request with a 400 or 431;
            // this is only a note for whoever reads the log.
            Err(err) => info!("conn #{conn} {peer} closed: {err}"),
        }
    });
}

/// Answers one request. It never fails: every problem becomes a response with the
/// right status code, so the return type says `Infallible`.
async fn handle(
    req: Request<Incoming>,
    conn: u64,
    request: u64,
    peer: SocketAddr,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let target =
        req.uri().path_and_query().map_or_else(|| path.clone(), std::string::ToString::to_string);
    let is_get = method == Method::GET || method == Method::HEAD;
    let client = proxy::client(req.headers(), peer, shared.trust_proxy, conn);

    let response = match path.as_str() {
        "/" if is_get => html(PAGE),
        "/api/messages" if is_get => {
            api::messages(&shared.room, &shared.room.cluster.history_id()).await
        }
        "/api/messages" if method == Method::POST => {
            api::post_message(req, &shared.room, &shared.allow_origins).await
        }
        one if is_get && one.starts_with(MESSAGE_PATH) => {
            api::message(&shared.room, &one[MESSAGE_PATH.len()..]).await
        }
        "/api/online" if is_get => api::json(StatusCode::OK, shared.room.online_json()),
        "/ws" if method == Method::GET => join_chat(req, conn, &shared).await,
        // The path exists but not for this method: 405, and `Allow` says which do.
        "/" | "/api/messages" | "/api/online" | "/ws" => {
            let allow = match path.as_str() {
                "/api/messages" => "GET, HEAD, POST",
                "/ws" => "GET",
                _ => "GET, HEAD",
            };
            let mut response = text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}. Allowed: {allow}\n"),
            );
            response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
            response
        }
        one if one.starts_with(MESSAGE_PATH) => {
            let mut response = text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}. Allowed: GET, HEAD\n"),
            );
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        _ => text(StatusCode::NOT_FOUND, format!("Not found: {path}\nRoutes:\n{ROUTES}")),
    };

    info!("conn #{conn} req #{request} {client} {method} {target} -> {}", response.status());
    Ok(response)
}

/// `/ws`: the handshake checked (`upgrade.rs`), the connection put in the room, and
/// only then the 101. A client that has its 101 is in the room: every line said
/// from then on reaches it, so a line it asks for over HTTP after its 101 (lesson
/// 08's history) and the lines on its WebSocket leave no gap between them. Then the
/// connection chats (`chat.rs`) in a task of its own, until it ends or Ctrl-C
/// (subscribed now, while this connection's task still holds a receiver).
async fn join_chat(
    req: Request<Incoming>,
    conn: u64,
    shared: &Arc<Shared>,
) -> Response<Full<Bytes>> {
    let key = match upgrade::check(&req, &shared.allow_origins) {
        Ok(key) => key,
        Err((status, problem)) => return upgrade::refusal(status, &problem),
    };
    // Joining may wait for slow readers (and, in lesson 09, for Redis): boxed, like
    // `said` in `chat.rs`.
    let member = Box::pin(shared.room.join(conn)).await;
    let (chatting, mut shutdown) = (Arc::clone(shared), shared.shutdown.subscribe());
    upgrade::accept(req, conn, &key, move |ws| async move {
        let (room, heartbeat) = (&chatting.room, chatting.heartbeat);
        // The socket is kept here, once, and the chat borrows it: an `async fn`
        // keeps what it is given by value in its own future, so passing it down by
        // value would store it again at every level, for every connection.
        match ws {
            Some(mut ws) => {
                let chatting = chat::chat(&mut ws, conn, &mut shutdown, (room, heartbeat), member);
                chatting.await.log(conn);
            }
            // The client went away before its upgrade: out of the room again.
            None => Box::pin(room.leave(conn)).await,
        }
    })
}
