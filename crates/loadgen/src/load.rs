//! The loads: HTTP requests, WebSocket echo round trips, chat fan-out, idle
//! connections. Each is bounded in time or count, and talks only to the address it
//! is given (the benchmarks give 127.0.0.1).

use anyhow::Context as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, HOST};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::stats::{self, Latency};
use crate::token::Token;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a timed request/response load measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Throughput {
    pub count: u64,
    pub per_second: f64,
    pub latency: Latency,
    pub errors: u64,
}

/// `connections` clients send `GET target` to `addr` for `duration`, each waiting
/// for a response before the next request: over one kept-alive connection each, or
/// (`new_connection`) over a new TCP connection for every request.
pub(crate) async fn http(
    addr: &str,
    target: &str,
    connections: usize,
    duration: Duration,
    new_connection: bool,
) -> Throughput {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, target) = (addr.to_string(), target.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut samples, mut errors) = (Vec::new(), 0u64);
            let mut sender = None;
            while Instant::now() < deadline {
                let begun = Instant::now();
                let outcome = if new_connection {
                    one_request(&addr, &target, &mut None, true).await
                } else {
                    one_request(&addr, &target, &mut sender, false).await
                };
                match outcome {
                    Ok(()) => samples.push(stats::micros(begun.elapsed())),
                    Err(_) => {
                        errors += 1;
                        sender = None;
                    }
                }
            }
            (samples, errors)
        }));
    }
    collect(tasks, started).await
}

/// One request, on `sender`'s connection (opened if there is none yet).
async fn one_request(
    addr: &str,
    target: &str,
    sender: &mut Option<http1::SendRequest<Empty<Bytes>>>,
    close: bool,
) -> anyhow::Result<()> {
    if sender.is_none() {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (new_sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        *sender = Some(new_sender);
    }
    let send = sender.as_mut().expect("opened above");
    let mut request = Request::get(target).header(HOST, addr);
    if close {
        request = request.header(CONNECTION, "close");
    }
    let request = request.body(Empty::new())?;
    send.ready().await?;
    let response = send.send_request(request).await?;
    let ok = response.status().is_success();
    response.into_body().collect().await?;
    if close {
        *sender = None;
    }
    if ok { Ok(()) } else { Err(anyhow::anyhow!("not a 2xx")) }
}

/// `connections` WebSocket clients each send a binary message of `size` bytes and
/// wait for it to come back, for `duration`.
pub(crate) async fn ws_echo(
    url: &str,
    connections: usize,
    size: usize,
    duration: Duration,
) -> anyhow::Result<Throughput> {
    let mut sockets = Vec::new();
    for _ in 0..connections {
        sockets.push(connect(url).await?);
    }
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let payload = Bytes::from(vec![b'x'; size]);
    let mut tasks = Vec::new();
    for mut ws in sockets {
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let (mut samples, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let begun = Instant::now();
                if ws.send(Message::Binary(payload.clone())).await.is_err() {
                    errors += 1;
                    break;
                }
                match next_data(&mut ws).await {
                    Some(Message::Binary(reply)) if reply.len() == payload.len() => {
                        samples.push(stats::micros(begun.elapsed()));
                    }
                    _ => {
                        errors += 1;
                        break;
                    }
                }
            }
            let _ = ws.close(None).await;
            (samples, errors)
        }));
    }
    Ok(collect(tasks, started).await)
}

/// What the server expects a chat message to look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub(crate) enum Protocol {
    /// A line of text (lesson 05, the broadcast baseline).
    Text,
    /// `{"type": "chat", "text": ...}` (lesson 07).
    Json,
}

/// What a fan-out run measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Fanout {
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Messages that a client received before one sent earlier by the same sender.
    pub out_of_order: u64,
    pub deliveries_per_second: f64,
    pub latency: Latency,
}

/// The shape of a fan-out run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FanoutPlan {
    pub clients: usize,
    pub senders: usize,
    /// Messages each sender sends...
    pub messages: usize,
    /// ...at this rate, per sender, per second (infinite: as fast as possible).
    pub rate: f64,
    /// Clients that connect and then never read.
    pub stuck: usize,
    pub size: usize,
    pub protocol: Protocol,
}

impl FanoutPlan {
    /// 100 chat clients (JSON), one of them saying `messages` lines of 64 bytes as
    /// fast as the room takes them: lessons 09's and 10's fan-out.
    pub(crate) fn room_flood(messages: usize) -> FanoutPlan {
        FanoutPlan {
            clients: 100,
            senders: 1,
            messages,
            rate: f64::INFINITY,
            stuck: 0,
            size: 64,
            protocol: Protocol::Json,
        }
    }
}

/// What every receiving client adds to, shared.
#[derive(Default)]
struct Tally {
    delivered: AtomicU64,
    out_of_order: AtomicU64,
    /// When the last message arrived, in µs since the run began.
    last_us: AtomicU64,
}

type Sink = futures_util::stream::SplitSink<Socket, Message>;
type Stream = futures_util::stream::SplitStream<Socket>;

/// `clients` connect to a chat; the first `senders` of them each send `messages`
/// messages at `rate` per second; every reading client should receive every
/// message, in order. Returns deliveries per second, latency from send to receive,
/// losses and reorderings.
pub(crate) async fn fanout(url: &str, plan: FanoutPlan) -> anyhow::Result<Fanout> {
    fanout_across(&[url], plan).await
}

/// [`fanout`] over several servers of one room (lesson 09's instances): client `n`
/// connects to `urls[n % urls.len()]`, so the first sender is on the first.
pub(crate) async fn fanout_across(urls: &[&str], plan: FanoutPlan) -> anyhow::Result<Fanout> {
    let epoch = Instant::now();
    let mut stuck = Vec::new();
    for n in 0..plan.stuck {
        // Connected, then never read: the server's problem now.
        stuck.push(connect(urls[n % urls.len()]).await?);
    }
    let tally = Arc::new(Tally::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let (mut sinks, mut receivers) = (Vec::new(), Vec::new());
    for index in 0..plan.clients {
        let (sink, stream) = join(urls[index % urls.len()], plan.protocol).await?.split();
        if index < plan.senders {
            sinks.push(sink);
        }
        receivers.push(tokio::spawn(receive(stream, epoch, Arc::clone(&tally), stop_rx.clone())));
    }
    // Joins and welcomes have settled once everyone is connected; start sending.
    let first_send_us = stats::micros(epoch.elapsed());
    let senders: Vec<_> = sinks
        .into_iter()
        .enumerate()
        .map(|(sender, sink)| tokio::spawn(send(sink, sender, plan, epoch)))
        .collect();
    let (mut sent, mut sinks) = (0, Vec::new());
    for task in senders {
        let (count, sink) = task.await?;
        sent += count;
        sinks.push(sink);
    }
    let expected = sent * plan.clients as u64;
    wait_for_deliveries(&tally, expected).await;
    let _ = stop_tx.send(true);
    let mut samples = Vec::new();
    for task in receivers {
        samples.extend(task.await?);
    }
    drop((sinks, stuck));
    let delivered = tally.delivered.load(Ordering::Relaxed);
    let span_us = tally.last_us.load(Ordering::Relaxed).saturating_sub(first_send_us).max(1);
    Ok(Fanout {
        sent,
        expected,
        delivered,
        lost: stats::lost(sent, plan.clients as u64, delivered),
        out_of_order: tally.out_of_order.load(Ordering::Relaxed),
        deliveries_per_second: delivered as f64 / (span_us as f64 / 1e6),
        latency: stats::latency(samples),
    })
}

/// A client of a chat, in the room: a JSON chat (lessons 07 and 09) welcomes a client
/// once it is in (lesson 09's room takes a round trip to Redis to get there).
async fn join(url: &str, protocol: Protocol) -> anyhow::Result<Socket> {
    let mut ws = connect(url).await?;
    if protocol == Protocol::Json {
        next_data(&mut ws).await.context("no welcome")?;
    }
    Ok(ws)
}

/// One client's reading side: counts and times every message that carries a token,
/// and checks that each sender's messages come in the order they were sent.
async fn receive(
    mut stream: Stream,
    epoch: Instant,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) -> Vec<u64> {
    let mut samples = Vec::new();
    let mut next_seq: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let Some(token) = Token::find(&text) else { continue };
                    let now = stats::micros(epoch.elapsed());
                    samples.push(now.saturating_sub(token.sent_us));
                    let next = next_seq.entry(token.sender).or_default();
                    if token.seq < *next {
                        tally.out_of_order.fetch_add(1, Ordering::Relaxed);
                    }
                    *next = (*next).max(token.seq + 1);
                    tally.delivered.fetch_add(1, Ordering::Relaxed);
                    tally.last_us.fetch_max(now, Ordering::Relaxed);
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = stop.changed() => break,
        }
    }
    samples
}

/// One sender: `plan.messages` messages at `plan.rate`, each with its token.
/// Returns how many went out, and the sink, kept open until the run ends.
async fn send(mut sink: Sink, sender: usize, plan: FanoutPlan, epoch: Instant) -> (u64, Sink) {
    let padding = "x".repeat(plan.size.saturating_sub(40));
    // An infinite rate means: as fast as the server takes them.
    let mut tick = plan
        .rate
        .is_finite()
        .then(|| tokio::time::interval(Duration::from_secs_f64(1.0 / plan.rate)));
    let mut sent = 0u64;
    for seq in 0..plan.messages {
        if let Some(tick) = tick.as_mut() {
            tick.tick().await;
        }
        let token = Token {
            sender: u32::try_from(sender).expect("fewer than 2^32 senders"),
            seq: u32::try_from(seq).expect("fewer than 2^32 messages"),
            sent_us: stats::micros(epoch.elapsed()),
        };
        let text = format!("{} {padding}", token.encode());
        let text = match plan.protocol {
            Protocol::Text => text,
            Protocol::Json => serde_json::json!({ "type": "chat", "text": text }).to_string(),
        };
        // A server that stopped reading (it is stuck sending to someone) would hold
        // us here for ever: give up after 5 s.
        let sending = tokio::time::timeout(Duration::from_secs(5), sink.send(Message::text(text)));
        if !matches!(sending.await, Ok(Ok(()))) {
            break;
        }
        sent += 1;
    }
    (sent, sink)
}

/// Waits until `expected` messages have arrived, or until none has for 3 s.
async fn wait_for_deliveries(tally: &Tally, expected: u64) {
    let (mut seen, mut quiet_since) = (0, Instant::now());
    while tally.delivered.load(Ordering::Relaxed) < expected
        && quiet_since.elapsed() < Duration::from_secs(3)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = tally.delivered.load(Ordering::Relaxed);
        if now != seen {
            (seen, quiet_since) = (now, Instant::now());
        }
    }
}

/// Idle WebSocket clients: connected, sending nothing, reading (and so answering the
/// server's Pings, as a browser tab does). Dropping this closes them all.
pub(crate) struct Idle(Vec<tokio::task::JoinHandle<()>>);

impl Idle {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Opens `count` WebSocket connections and keeps them open, idle.
pub(crate) async fn idle(url: &str, count: usize) -> anyhow::Result<Idle> {
    Idle::join(url, count, false).await
}

impl Idle {
    /// Opens `count` connections one after another; with `welcome`, each waits for
    /// its first message (a chat's welcome) before the next one opens.
    pub(crate) async fn join(url: &str, count: usize, welcome: bool) -> anyhow::Result<Idle> {
        let mut tasks = Idle(Vec::with_capacity(count));
        for _ in 0..count {
            let mut ws = connect(url).await?;
            if welcome {
                next_data(&mut ws).await.context("no welcome")?;
            }
            tasks.0.push(tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }));
        }
        Ok(tasks)
    }
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<Socket> {
    match tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(url)).await
    {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(err)) => Err(anyhow::anyhow!("connect to {url}: {err}")),
        Err(_) => Err(anyhow::anyhow!("connect to {url}: timed out")),
    }
}

/// The next text or binary message, or `None` when the connection ends or stalls.
async fn next_data(ws: &mut Socket) -> Option<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(message @ (Message::Text(_) | Message::Binary(_))))) => {
                return Some(message);
            }
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Vec<u64>, u64)>>,
    started: Instant,
) -> Throughput {
    let (mut samples, mut errors) = (Vec::new(), 0);
    for task in tasks {
        if let Ok((task_samples, task_errors)) = task.await {
            samples.extend(task_samples);
            errors += task_errors;
        }
    }
    let count = samples.len() as u64;
    Throughput {
        count,
        per_second: count as f64 / started.elapsed().as_secs_f64(),
        latency: stats::latency(samples),
        errors,
    }
}
