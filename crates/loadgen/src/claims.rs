//! `loadgen claims`: four things tutorials say about HTTP and WebSocket, measured on
//! the lesson servers (lessons/measuring.md shows a run and what it means).
//!
//! 1. Connection reuse: a new TCP connection per request, a kept-alive connection,
//!    and a WebSocket round trip, one client at a time.
//! 2. Bytes on the wire per message, counted on the real connections.
//! 3. Polling against push for the same stream of chat messages.
//! 4. Slow clients: fan-out with one client that never reads, on lesson 05 and on a
//!    server that sends to each client in turn.

use anyhow::Context as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::baseline::Baseline;
use crate::bench::Spec;
use crate::load::{self, FanoutPlan, Protocol};
use crate::stats;
use crate::token::Token;

/// A TCP stream that counts the bytes that go through it, both ways.
struct Counting {
    inner: TcpStream,
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

#[derive(Clone, Default)]
struct Counters {
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl Counters {
    fn wrap(&self, inner: TcpStream) -> Counting {
        Counting { inner, read: Arc::clone(&self.read), written: Arc::clone(&self.written) }
    }
    fn take(&self) -> (u64, u64) {
        (self.written.swap(0, Ordering::Relaxed), self.read.swap(0, Ordering::Relaxed))
    }
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.read.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        result
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = result {
            self.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        result
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pub(crate) async fn run(bin_dir: &std::path::Path, me: &std::path::Path) -> anyhow::Result<String> {
    let lesson = |name: &str| Spec::lesson(bin_dir, name, "warn");
    let mut out = String::new();
    eprintln!("1/4 connection reuse");
    out.push_str(&connection_reuse(&lesson("http_server"), &lesson("ws_echo_server")).await?);
    eprintln!("2/4 bytes on the wire");
    out.push_str(&bytes_on_the_wire(&lesson("http_server"), &lesson("ws_echo_server")).await?);
    eprintln!("3/4 polling against push");
    out.push_str(
        "\n## 3. Polling against push: 50 chat messages, one every 137 ms (lesson 07)\n\n",
    );
    out.push_str("| client | mean delay | p99 delay | requests made | requests per message | bytes per message |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    let server = lesson("http_ws_server").start();
    for row in poll_and_push(&server.addr).await? {
        out.push_str(&row);
    }
    drop(server);
    eprintln!("4/4 slow clients");
    out.push_str(
        &slow_clients(&[lesson("ws_chat_server"), Spec::baseline(me, Baseline::Sequential)])
            .await?,
    );
    Ok(out)
}

/// Section 1: a new TCP connection per request, a kept-alive one, and a WebSocket
/// round trip, one client at a time.
async fn connection_reuse(http_server: &Spec, echo_server: &Spec) -> anyhow::Result<String> {
    let mut out = String::new();
    out.push_str("## 1. Connection reuse (one client, one request at a time, 3 s each)\n\n");
    out.push_str("| how | requests/s | p50 | p99 |\n|---|---:|---:|---:|\n");
    let (http, echo) = (http_server.start(), echo_server.start());
    let seconds = Duration::from_secs(3);
    let fresh = load::http(&http.addr, "/hello?name=x", 1, seconds, true).await;
    let kept = load::http(&http.addr, "/hello?name=x", 1, seconds, false).await;
    let ws = load::ws_echo(&format!("ws://{}/", echo.addr), 1, 32, seconds).await?;
    for (how, result) in [
        ("HTTP, a new TCP connection per request (lesson 01)", fresh),
        ("HTTP, one kept-alive connection (lesson 01)", kept),
        ("WebSocket, a 32-byte message round trip (lesson 03)", ws),
    ] {
        out.push_str(&format!(
            "| {how} | {:.0} | {} µs | {} µs |\n",
            result.per_second, result.latency.p50_us, result.latency.p99_us
        ));
    }
    Ok(out)
}

/// Section 2: the bytes each way for one message, HTTP against WebSocket, counted
/// on the real connections.
async fn bytes_on_the_wire(http_server: &Spec, echo_server: &Spec) -> anyhow::Result<String> {
    let mut out = String::new();
    out.push_str("\n## 2. Bytes on the wire per message\n\n");
    out.push_str("| payload | HTTP request | HTTP response | HTTP total | WebSocket client→server | WebSocket server→client | WebSocket total |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    let (http, echo) = (http_server.start(), echo_server.start());
    // HTTP: GET /hello?name=PAYLOAD on a kept-alive connection, answered with
    // `Hello, PAYLOAD!`. WebSocket: PAYLOAD as a text frame, answered with
    // `Server received: PAYLOAD`. Both carry the payload once each way.
    let http_counters = Counters::default();
    let stream = TcpStream::connect(&http.addr).await?;
    let (mut sender, connection) =
        http1::handshake(TokioIo::new(http_counters.wrap(stream))).await?;
    tokio::spawn(connection);
    let ws_counters = Counters::default();
    let stream = TcpStream::connect(&echo.addr).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("ws://{}/", echo.addr), ws_counters.wrap(stream))
            .await?;
    let handshake = ws_counters.take();
    for size in [10usize, 1024] {
        let payload = "x".repeat(size);
        let request = Request::get(format!("/hello?name={payload}"))
            .header(HOST, &http.addr)
            .body(Empty::<Bytes>::new())?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        response.into_body().collect().await?;
        let (http_out, http_in) = http_counters.take();

        ws.send(Message::text(payload.clone())).await?;
        ws.next().await.context("no echo")??;
        let (ws_out, ws_in) = ws_counters.take();
        out.push_str(&format!(
            "| {size} B | {http_out} B | {http_in} B | {} B | {ws_out} B | {ws_in} B | {} B |\n",
            http_out + http_in,
            ws_out + ws_in
        ));
    }
    out.push_str(&format!(
        "\nThe WebSocket's opening handshake, once per connection: {} B request, {} B response.\n",
        handshake.0, handshake.1
    ));
    Ok(out)
}

/// Section 4: fan-out with and without a client that never reads, on each server.
async fn slow_clients(specs: &[Spec]) -> anyhow::Result<String> {
    let mut out = String::new();
    out.push_str(
        "\n## 4. Slow clients: 100 clients, one sender, 2,000 messages of 4 KiB as fast as possible\n\n",
    );
    out.push_str("| server | one client never reads | deliveries/s | lost | p99 send→receive |\n");
    out.push_str("|---|---|---:|---:|---:|\n");
    for spec in specs {
        for stuck in [0, 1] {
            let server = spec.start();
            let plan = FanoutPlan {
                clients: 100,
                senders: 1,
                messages: 2000,
                rate: f64::INFINITY,
                stuck,
                size: 4096, // 8 MB in all: more than a stuck client's socket buffers hold
                protocol: Protocol::Text,
            };
            let result = load::fanout(&format!("ws://{}/", server.addr), plan).await?;
            out.push_str(&format!(
                "| {} | {} | {:.0} | {:.1} % | {} µs |\n",
                spec.label,
                if stuck == 1 { "yes" } else { "no" },
                result.deliveries_per_second,
                (result.lost + result.out_of_order) as f64 / result.expected.max(1) as f64 * 100.0,
                result.latency.p99_us
            ));
        }
    }
    Ok(out)
}

/// What one client of the polling-against-push run saw: its name, the delay of each
/// message, the requests it made and the bytes it moved.
type Seen = (String, Vec<u64>, u64, u64);

/// Posts 50 messages over HTTP, one every 137 ms, while three clients wait for them:
/// two polling `GET /api/messages` (every 100 ms, every second) and one pushed to
/// over `/ws`.
async fn poll_and_push(addr: &str) -> anyhow::Result<Vec<String>> {
    let epoch = Instant::now();
    let count = 50u32;
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let pollers: Vec<_> = [Duration::from_millis(100), Duration::from_secs(1)]
        .into_iter()
        .map(|every| tokio::spawn(poll(addr.to_string(), every, epoch, done_rx.clone())))
        .collect();
    let pusher = tokio::spawn(pushed(open_counted_ws(addr).await?, count, epoch));
    post(addr, count, epoch).await?;
    // Let the slow poller make its last poll.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = done_tx.send(true);

    let mut results = vec![pusher.await?];
    for poller in pollers {
        results.push(poller.await??);
    }
    Ok(results
        .into_iter()
        .map(|(client, delays, requests, bytes)| {
            let delivered = delays.len().max(1) as f64;
            let mean = delays.iter().sum::<u64>() as f64 / delivered / 1000.0;
            let p99 = stats::latency(delays).p99_us as f64 / 1000.0;
            format!(
                "| {client} | {mean:.1} ms | {p99:.1} ms | {requests} | {:.1} | {:.0} B |\n",
                requests as f64 / f64::from(count),
                bytes as f64 / f64::from(count)
            )
        })
        .collect())
}

/// A client that asks `GET /api/messages` every `every` until `done`, over one
/// kept-alive connection, and times each message by the first poll that shows it.
async fn poll(
    addr: String,
    every: Duration,
    epoch: Instant,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Seen> {
    let counters = Counters::default();
    let stream = TcpStream::connect(&addr).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(counters.wrap(stream))).await?;
    tokio::spawn(connection);
    let (mut seen, mut delays, mut requests) = (0u64, Vec::new(), 0u64);
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = done.changed() => {}
        }
        let finished = *done.borrow();
        let request =
            Request::get("/api/messages").header(HOST, &addr).body(Empty::<Bytes>::new())?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let body = response.into_body().collect().await?.to_bytes();
        requests += 1;
        let now = stats::micros(epoch.elapsed());
        let chats: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
        for chat in chats {
            let id = chat["id"].as_u64().unwrap_or(0);
            if id > seen {
                seen = id;
                if let Some(token) = chat["text"].as_str().and_then(Token::find) {
                    delays.push(now.saturating_sub(token.sent_us));
                }
            }
        }
        if finished {
            break;
        }
    }
    let (out, read) = counters.take();
    Ok((format!("polling every {} ms", every.as_millis()), delays, requests, out + read))
}

/// A WebSocket to lesson 07's `/ws` whose bytes are counted from after the handshake
/// (section 2 counts the handshake).
async fn open_counted_ws(
    addr: &str,
) -> anyhow::Result<(tokio_tungstenite::WebSocketStream<Counting>, Counters)> {
    let counters = Counters::default();
    let stream = TcpStream::connect(addr).await?;
    let (ws, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/ws"), counters.wrap(stream)).await?;
    counters.take();
    Ok((ws, counters))
}

/// The pushed-to client: reads `count` messages as the server pushes them.
async fn pushed(
    (mut ws, counters): (tokio_tungstenite::WebSocketStream<Counting>, Counters),
    count: u32,
    epoch: Instant,
) -> Seen {
    let mut delays = Vec::new();
    while delays.len() < count as usize {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Some(token) = Token::find(&text) {
                    delays.push(stats::micros(epoch.elapsed()).saturating_sub(token.sent_us));
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    let (out, read) = counters.take();
    ("pushed over a WebSocket".to_string(), delays, 0, out + read)
}

/// The poster: one message every 137 ms over a kept-alive HTTP connection. Not a
/// multiple of the polling intervals, so messages land at every point of a poller's
/// cycle, as real ones do.
async fn post(addr: &str, count: u32, epoch: Instant) -> anyhow::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut tick = tokio::time::interval(Duration::from_millis(137));
    for seq in 0..count {
        tick.tick().await;
        let token = Token { sender: 0, seq, sent_us: stats::micros(epoch.elapsed()) };
        let body = serde_json::json!({ "name": "poster", "text": token.encode() }).to_string();
        let request = Request::post("/api/messages")
            .header(HOST, addr)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        response.into_body().collect().await?;
    }
    Ok(())
}
