//! Lesson 01: an HTTP server on raw hyper.
//!
//! Run it in one terminal:
//!
//!     cargo run -p http_server
//!
//! and try it from another:
//!
//!     curl -i 'http://127.0.0.1:5000/hello?name=Alice'
//!
//! or run lesson 02's client there: `cargo run -p http_client`.
//!
//! Builds on: nothing, this is the first lesson. It shows what HTTP is underneath the
//! frameworks: a TCP connection that carries requests in and responses out.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use http_body_util::channel::Channel;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

mod listen;
mod query;
mod shutdown;

use query::name_from_query;

/// A client that has not sent its whole request head by then is cut off, so that a
/// slow (or malicious) client cannot hold a connection for ever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a request's head (request line and headers) may take, in bytes. Browsers
/// send 1-2 KiB; hyper answers anything larger with 431 Request Header Fields Too Large.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long Ctrl-C waits for requests that are still being answered.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long `GET /slow` takes, so you can watch a request in flight.
const SLOW_DELAY: Duration = Duration::from_secs(2);
/// The pause between the lines of `GET /count`, so you can watch them arrive.
const COUNT_DELAY: Duration = Duration::from_millis(500);

const ROUTES: &str = "\
GET /                  a greeting
GET /hello?name=NAME   a greeting for NAME
GET /slow              a greeting that takes 2 seconds
GET /count             three lines, half a second apart, sent in chunks
";

#[derive(Parser)]
#[command(about = "Lesson 01: an HTTP server on raw hyper")]
struct Args {
    /// Where to listen. 0.0.0.0:5000 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::HTTP_ADDR)]
    #[arg(value_parser = common::server_address)]
    addr: common::Address,
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
    println!("Listening on http://{addr}");
    println!("Try: curl -i 'http://{addr}/hello?name=Alice'");

    let http = http_settings();
    // Keeps track of open connections, so that Ctrl-C can wait for them to finish.
    let graceful = GracefulShutdown::new();
    let mut connections: u64 = 0;

    loop {
        // Wait for whichever comes first: a new connection, or Ctrl-C.
        let (stream, peer) = tokio::select! {
            accepted = listen::accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        connections += 1;
        serve(&http, &graceful, stream, connections, peer);
    }

    // Stop accepting (dropping the listener closes the port), then let the requests
    // in flight finish; idle keep-alive connections are closed straight away.
    drop(listener);
    info!("Shutting down: waiting for open requests to finish");
    tokio::select! {
        () = graceful.shutdown() => info!("All connections closed, bye"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            warn!("Gave up waiting after {} s", SHUTDOWN_GRACE.as_secs());
        }
    }
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
    graceful: &GracefulShutdown,
    stream: TcpStream,
    conn: u64,
    peer: SocketAddr,
) {
    // One TCP connection can carry many requests, one after another (HTTP/1.1
    // keep-alive): hyper calls our service once for each of them.
    let requests = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&requests);
    let service = service_fn(move |req| {
        let request = counter.fetch_add(1, Ordering::Relaxed) + 1;
        handle(req, conn, request, peer)
    });
    let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
    tokio::spawn(async move {
        let result = connection.await;
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
) -> Result<Response<Body>, Infallible> {
    let method = req.method();
    let path = req.uri().path();
    // HEAD asks for the headers a GET would get, without the body: hyper leaves the
    // body out for us, so every GET route serves HEAD too.
    let is_get = method == Method::GET || method == Method::HEAD;

    let response = match path {
        "/" if is_get => text(StatusCode::OK, "Hello, World! This is an HTTP response.\n"),
        "/hello" if is_get => match name_from_query(req.uri().query()) {
            Ok(name) => text(StatusCode::OK, format!("Hello, {name}!\n")),
            Err(problem) => text(StatusCode::BAD_REQUEST, format!("Bad request: {problem}\n")),
        },
        "/slow" if is_get => {
            info!(
                "conn #{conn} req #{request} {peer} {method} {path}: answering in {} s",
                SLOW_DELAY.as_secs()
            );
            tokio::time::sleep(SLOW_DELAY).await;
            text(StatusCode::OK, "Hello, World! Sorry to keep you waiting.\n")
        }
        "/count" if is_get => count(),
        // The path exists but not for this method: 405, and `Allow` says which do.
        "/" | "/hello" | "/slow" | "/count" => {
            let mut response = text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}. Allowed: GET, HEAD\n"),
            );
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        _ => text(StatusCode::NOT_FOUND, format!("Not found: {path}\nRoutes:\n{ROUTES}")),
    };

    let target = req.uri().path_and_query().map_or(path, |p| p.as_str());
    info!("conn #{conn} req #{request} {peer} {method} {target} -> {}", response.status());
    Ok(response)
}

/// A response body: all of it at once (`Full`, sent with `content-length`), or
/// written while it is sent (`Channel`, sent in chunks). Boxed, so that `handle` can
/// return either.
type Body = BoxBody<Bytes, Infallible>;

/// `GET /count`: an answer written while it is being sent, a line every half second.
/// hyper cannot know its length in advance, so instead of `content-length` it says
/// `transfer-encoding: chunked` and sends each piece as its size in hex, a line
/// break, the bytes and a line break; a piece of size 0 ends the body.
fn count() -> Response<Body> {
    let (mut sender, body) = Channel::<Bytes, Infallible>::new(1);
    tokio::spawn(async move {
        for line in ["one\n", "two\n", "three\n"] {
            if sender.send_data(Bytes::from_static(line.as_bytes())).await.is_err() {
                return; // the client went away (or asked with HEAD): stop writing
            }
            tokio::time::sleep(COUNT_DELAY).await;
        }
        // Dropping the sender ends the body: hyper sends the last, empty chunk.
    });
    with_text_type(Response::new(body.boxed()))
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = with_text_type(Response::new(Full::new(body.into()).boxed()));
    *response.status_mut() = status;
    response
}

fn with_text_type(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
