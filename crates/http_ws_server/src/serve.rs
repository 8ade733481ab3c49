//! The connections: each served in a task of its own, HTTP/1.1 with upgrades, until
//! Ctrl-C, then a wait for them to finish. Lesson 01's accept loop and settings,
//! with lesson 03's shutdown by `watch` channel (hyper's `GracefulShutdown` cannot
//! follow a connection that became a WebSocket). Lessons 09 and 10 carry this file,
//! unchanged.
//!
//! Needs from the crate that includes it: the modules `listen` (lesson 01's), `tls`
//! (lesson 07's) and `websocket` (lesson 03's). What to answer comes as a parameter,
//! `handle`, from `main`.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::body::{Body, Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::{listen, tls, websocket};

/// A client that has not sent its whole request head by then is cut off, so that a
/// slow (or malicious) client cannot hold a connection for ever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a request's head (request line and headers) may take, in bytes. Browsers
/// send 1-2 KiB; hyper answers anything larger with 431 Request Header Fields Too Large.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long Ctrl-C waits for requests in flight and for WebSocket goodbyes.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What an answer's body may be: all of it at once (`Full<Bytes>`, every answer
/// here), or a body that goes on sending for as long as it has something to say.
pub(crate) trait Answered:
    Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static
{
}
impl<B: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static> Answered for B {}
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which request this is: its connection's number, its number on that connection
/// and who sent it.
#[derive(Clone, Copy)]
pub(crate) struct Asked {
    pub(crate) conn: u64,
    pub(crate) request: u64,
    pub(crate) peer: SocketAddr,
}

/// Serves every connection to `listener` with `handle`, until `ctrl_c` (listening
/// since `main` bound the port, so that an early Ctrl-C is not missed). Then stops
/// accepting, tells every connection through `shutdown` (HTTP ones finish their
/// request, WebSocket ones say 1001, going away) and waits until they have, or until
/// we tire. Whoever holds a receiver of `shutdown` is waited for.
pub(crate) async fn run<H, Answer, B>(
    listener: TcpListener,
    ctrl_c: impl Future<Output = ()>,
    tls: Option<tls::Tls>,
    shutdown: &watch::Sender<bool>,
    handle: H,
) where
    H: Fn(Request<Incoming>, Asked) -> Answer + Clone + Send + Sync + 'static,
    Answer: Future<Output = Response<B>> + Send + 'static,
    B: Answered,
{
    let mut ctrl_c = pin!(ctrl_c);
    let http = http_settings();
    let tls = tls.map(Arc::new);
    let mut connections: u64 = 0;
    loop {
        // Wait for whichever comes first: a new connection, or Ctrl-C.
        let (stream, peer) = tokio::select! {
            accepted = listen::accept(&listener) => accepted,
            () = &mut ctrl_c => break,
        };
        connections += 1;
        // No Nagle delay on small writes, as in lessons 03 and 05.
        let _ = stream.set_nodelay(true);
        let stop = shutdown.subscribe();
        serve(&http, tls.clone(), stop, stream, connections, peer, handle.clone());
    }

    // Dropping the listener closes the port.
    drop(listener);
    info!("Shutting down: finishing requests, closing WebSockets with 1001 (going away)");
    let _ = shutdown.send(true);
    tokio::select! {
        () = shutdown.closed() => info!("All connections closed, bye"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            warn!("Gave up waiting after {} s", SHUTDOWN_GRACE.as_secs());
        }
    }
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
fn serve<H, Answer, B>(
    http: &http1::Builder,
    tls: Option<Arc<tls::Tls>>,
    mut stop: watch::Receiver<bool>,
    stream: TcpStream,
    conn: u64,
    peer: SocketAddr,
    handle: H,
) where
    H: Fn(Request<Incoming>, Asked) -> Answer + Send + Sync + 'static,
    Answer: Future<Output = Response<B>> + Send + 'static,
    B: Answered,
{
    // One TCP connection can carry many requests, one after another (HTTP/1.1
    // keep-alive): hyper calls our service once for each of them.
    let requests = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&requests);
    let service = service_fn(move |req| {
        let request = counter.fetch_add(1, Ordering::Relaxed) + 1;
        let answer = handle(req, Asked { conn, request, peer });
        // Every problem is a response with the right status code: never an error.
        async move { Ok::<_, std::convert::Infallible>(answer.await) }
    });
    let http = http.clone();
    tokio::spawn(async move {
        // With --tls, the TLS handshake comes first (`tls.rs`); then the same HTTP.
        // Ctrl-C meanwhile ends a connection that has not started yet.
        let started = tokio::select! {
            io = tls::start(tls.as_deref(), stream, conn) => io,
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
