//! The baselines: the least a server on the same stack can do, with no routing, no
//! logging, no names, no limits. A lesson's figure means something beside these,
//! measured in the same run on the same machine.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, broadcast, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

// Lesson 01's query decoding, for the routing row: the same file, carried.
#[path = "../../http_server/src/query.rs"]
mod query;

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// Which baseline server to run.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Baseline {
    /// hyper's hello world: every request gets "Hello, World!".
    Http,
    /// The hello world with lesson 01's header read timeout (and the timer it needs).
    HttpTimeout,
    /// The hello world with lesson 01's limit on the request head (16 KiB).
    HttpHeadLimit,
    /// The hello world with every connection watched for a graceful shutdown.
    HttpGraceful,
    /// The hello world answering lesson 01's routes: method and path matched, the
    /// name decoded from the query, 404 and 405 ready, a content type on each answer.
    HttpRouting,
    /// The hello world logging one line per request at `info`, as lesson 01 does
    /// (where it goes, and whether `RUST_LOG` lets it through, the bench chooses).
    HttpLogging,
    /// tokio-tungstenite's echo loop: every message comes back as it is.
    Echo,
    /// A chat with one unbounded queue per client (the design of tokio-tungstenite's
    /// chat example): every text message goes to every client, sender included, and
    /// nothing is lost, however much a slow client's queue grows.
    Queues,
    /// A chat over one broadcast ring of 256 messages: every text message goes to
    /// every client, sender included; a client that falls 256 behind loses the
    /// oldest.
    Ring,
    /// The common tutorial chat server: every text message is sent to each client in
    /// turn, waiting for each send. Here only to show what one stuck client does.
    Sequential,
}

impl Baseline {
    /// What the benchmark tables call it: by its design.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Baseline::Http => "baseline: hyper hello",
            Baseline::HttpTimeout => "hyper hello + header read timeout",
            Baseline::HttpHeadLimit => "hyper hello + 16 KiB head limit",
            Baseline::HttpGraceful => "hyper hello + graceful shutdown",
            Baseline::HttpRouting => "hyper hello + lesson 01's routing",
            Baseline::HttpLogging => "hyper hello + a log line per request",
            Baseline::Echo => "baseline: tungstenite echo",
            Baseline::Queues => "baseline: unbounded queue per client",
            Baseline::Ring => "baseline: broadcast ring (lossy)",
            Baseline::Sequential => "baseline: sends to each client in turn",
        }
    }
}

/// Every chat client's queue, by a number of its own.
type Queues = Arc<std::sync::Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>;

pub(crate) async fn serve(baseline: Baseline, addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let scheme = if baseline.label().contains("hyper hello") { "http" } else { "ws" };
    if matches!(baseline, Baseline::HttpLogging) {
        common::init_logging();
    }
    let graceful = GracefulShutdown::new();
    println!("Listening on {scheme}://{}", listener.local_addr()?);
    let (ring, _) = broadcast::channel::<Message>(256);
    let clients: Arc<Mutex<Vec<Sink>>> = Arc::default();
    let queues = Queues::default();
    for id in 0.. {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        match baseline {
            Baseline::Http => tokio::spawn(hello(stream)),
            Baseline::HttpTimeout
            | Baseline::HttpHeadLimit
            | Baseline::HttpGraceful
            | Baseline::HttpRouting
            | Baseline::HttpLogging => {
                tokio::spawn(with_one_defence(baseline, stream, id, &graceful))
            }
            Baseline::Echo => tokio::spawn(echo(stream)),
            Baseline::Queues => tokio::spawn(queued(stream, id, Arc::clone(&queues))),
            Baseline::Ring => tokio::spawn(ringed(stream, ring.clone())),
            Baseline::Sequential => tokio::spawn(in_turn(stream, Arc::clone(&clients))),
        };
    }
    Ok(())
}

async fn hello(stream: TcpStream) {
    let hello = service_fn(|_req| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
    });
    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), hello).await;
}

/// The hello world with one of lesson 01's defences (`defended`), to see what each
/// one costs alone. Boxed: the rows differ in type, and one allocation per
/// connection is the same for all of them.
fn with_one_defence(
    defended: Baseline,
    stream: TcpStream,
    conn: u64,
    graceful: &GracefulShutdown,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let mut http = http1::Builder::new();
    match defended {
        Baseline::HttpTimeout => {
            http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(5));
        }
        Baseline::HttpHeadLimit => {
            http.max_header_size(16 * 1024);
        }
        _ => {}
    }
    let routing = matches!(defended, Baseline::HttpRouting);
    let logging = matches!(defended, Baseline::HttpLogging);
    let requests = Arc::new(AtomicU64::new(0));
    let service = service_fn(move |req: Request<Incoming>| {
        let request = requests.fetch_add(1, Ordering::Relaxed) + 1;
        if logging {
            tracing::info!("conn #{conn} req #{request} {} {} -> 200", req.method(), req.uri());
        }
        let answer = if routing { route(&req) } else { hello_response() };
        async move { Ok::<_, Infallible>(answer) }
    });
    let connection = http.serve_connection(TokioIo::new(stream), service);
    if matches!(defended, Baseline::HttpGraceful) {
        let watched = graceful.watch(connection);
        Box::pin(async move {
            let _ = watched.await;
        })
    } else {
        Box::pin(async move {
            let _ = connection.await;
        })
    }
}

fn hello_response() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"Hello, World!")))
}

/// Lesson 01's routing, as `handle` in `http_server/src/main.rs` does it.
fn route(req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let (status, body) = match req.uri().path() {
        "/" if is_get => (StatusCode::OK, "Hello, World! This is an HTTP response.\n".to_string()),
        "/hello" if is_get => match query::name_from_query(req.uri().query()) {
            Ok(name) => (StatusCode::OK, format!("Hello, {name}!\n")),
            Err(problem) => (StatusCode::BAD_REQUEST, format!("Bad request: {problem}\n")),
        },
        "/" | "/hello" => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n".to_string()),
        _ => (StatusCode::NOT_FOUND, "Not found\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let plain = HeaderValue::from_static("text/plain; charset=utf-8");
    response.headers_mut().insert(CONTENT_TYPE, plain);
    response
}

async fn echo(stream: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn queued(stream: TcpStream, id: u64, queues: Queues) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    queues.lock().expect("not poisoned").insert(id, tx);
    // The writer drains this client's queue; the reader puts each text message on
    // every queue, and never waits for anyone.
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        if message.is_text() {
            for queue in queues.lock().expect("not poisoned").values() {
                let _ = queue.send(message.clone());
            }
        }
    }
    queues.lock().expect("not poisoned").remove(&id);
    writer.abort();
}

async fn ringed(stream: TcpStream, ring: broadcast::Sender<Message>) {
    let mut lines = ring.subscribe();
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(message @ Message::Text(_))) => { let _ = ring.send(message); }
                Some(Ok(_)) => {}
                _ => break,
            },
            line = lines.recv() => match line {
                Ok(line) => if sink.send(line).await.is_err() { break },
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

async fn in_turn(stream: TcpStream, clients: Arc<Mutex<Vec<Sink>>>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (sink, mut stream) = ws.split();
    clients.lock().await.push(sink);
    while let Some(Ok(message)) = stream.next().await {
        if message.is_text() {
            // One client at a time, waiting for each: a client that stops reading
            // stops everyone here.
            for sink in clients.lock().await.iter_mut() {
                let _ = sink.send(message.clone()).await;
            }
        }
    }
}
