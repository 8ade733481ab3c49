//! Lesson 13's four ways to hear a room, as loads: WebSocket, Server-Sent Events,
//! long polling and polling, each client counting the bytes it sends and receives
//! (its whole connection: heads, frames, chunks) and the lines it hears, with when
//! each was said. Run as `loadgen push`, pinned by `taskset` to the core the
//! server is not on (`bench push`); it prints its report as JSON.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::{self, Latency};

/// How a client hears the room.
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum, Serialize, Deserialize)]
pub(crate) enum Way {
    /// `/ws`, lesson 07's WebSocket.
    Websocket,
    /// `GET /api/events`, an event stream.
    Events,
    /// `GET /api/messages?since=N&wait=25`, asked again at each answer.
    LongPoll,
    /// `GET /api/messages?since=N`, every 2 s (the page's pace).
    Poll,
}

impl Way {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Way::Websocket => "WebSocket",
            Way::Events => "Server-Sent Events",
            Way::LongPoll => "long polling (wait=25)",
            Way::Poll => "polling (every 2 s)",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Way::Websocket => "websocket",
            Way::Events => "events",
            Way::LongPoll => "long-poll",
            Way::Poll => "poll",
        }
    }
}

/// The page's polling pace (`POLL_EVERY` in lesson 13's page.html).
const POLL_EVERY: Duration = Duration::from_secs(2);

/// The headers Chromium 156 sends with a `fetch()` from a page (captured from a
/// headless Chromium against a server that printed them), so that a poll costs
/// what a browser's does. `Host` comes before them.
const BROWSER_HEADERS: &str = "Connection: keep-alive\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n\
sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
Accept: */*\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: cors\r\n\
Sec-Fetch-Dest: empty\r\n\
Referer: http://127.0.0.1:5007/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n";

/// When this process started: lines carry the microseconds since, as their text.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_us() -> u64 {
    stats::micros(START.elapsed())
}

/// What one load measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Report {
    pub clients: usize,
    /// Lines said while every client listened.
    pub said: u64,
    /// Lines heard, over all clients; each client should hear each line once.
    pub heard: u64,
    pub lost: u64,
    /// Lines heard again or out of order.
    pub disordered: u64,
    pub latency: Latency,
    /// Bytes both ways on the listeners' connections while the lines were said.
    pub bytes: u64,
    /// Requests sent meanwhile (polls; a stream's one request came before).
    pub requests: u64,
    /// How long that was.
    pub seconds: f64,
}

/// Counts every byte read or written through it into `count`.
struct Counted<S> {
    inner: S,
    count: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = &polled {
            self.count.fetch_add(*written as u64, Ordering::Relaxed);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What every client shares: the byte count, how many are ready, and the stop.
#[derive(Clone)]
struct Shared {
    addr: String,
    bytes: Arc<AtomicU64>,
    /// Requests sent: one a connection for a stream, one a poll for the polls.
    requests: Arc<AtomicU64>,
    ready: Arc<AtomicUsize>,
    stop: watch::Receiver<bool>,
}

impl Shared {
    async fn connect(&self) -> anyhow::Result<Counted<TcpStream>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let stream = TcpStream::connect(&self.addr).await.context("connect")?;
        stream.set_nodelay(true)?;
        Ok(Counted { inner: stream, count: Arc::clone(&self.bytes) })
    }
}

/// One line heard: its id, and the microseconds from its saying to now.
type Heard = Vec<(u64, u64)>;

/// A chat line's id and the time it was said, from its JSON (`{"type":"chat",...}`
/// or a history entry): its text is the microseconds since `START` when said.
fn chat_line(json: &serde_json::Value) -> Option<(u64, u64)> {
    let id = json.get("id")?.as_u64()?;
    let said: u64 = json.get("text")?.as_str()?.parse().ok()?;
    Some((id, now_us().saturating_sub(said)))
}

async fn listen(way: Way, shared: Shared) -> anyhow::Result<Heard> {
    match way {
        Way::Websocket => websocket(shared).await,
        Way::Events => events(shared).await,
        Way::LongPoll => polls(shared, true).await,
        Way::Poll => polls(shared, false).await,
    }
}

async fn websocket(mut shared: Shared) -> anyhow::Result<Heard> {
    let url = format!("ws://{}/ws", shared.addr);
    let (mut ws, _) = tokio_tungstenite::client_async(url, shared.connect().await?).await?;
    let mut heard = Vec::new();
    let mut ready = false;
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = shared.stop.wait_for(|stop| *stop) => return Ok(heard),
        };
        // A Ping is answered by tungstenite itself, on the next read.
        let Some(Ok(Message::Text(text))) = message else {
            match message {
                Some(Ok(_)) => continue,
                _ => bail!("the WebSocket ended"),
            }
        };
        let json: serde_json::Value = serde_json::from_str(&text)?;
        if json["type"] == "welcome" && !ready {
            ready = true;
            shared.ready.fetch_add(1, Ordering::Relaxed);
        } else if json["type"] == "chat" {
            heard.extend(chat_line(&json));
        }
    }
}

async fn events(mut shared: Shared) -> anyhow::Result<Heard> {
    let mut stream = BufReader::new(shared.connect().await?);
    let ask = format!(
        "GET /api/events HTTP/1.1\r\nHost: {}\r\n{BROWSER_HEADERS}Accept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n\r\n",
        shared.addr
    );
    stream.get_mut().write_all(ask.as_bytes()).await?;
    let mut heard = Vec::new();
    let mut line = String::new();
    let mut ready = false;
    loop {
        line.clear();
        let read = tokio::select! {
            read = stream.read_line(&mut line) => read?,
            _ = shared.stop.wait_for(|stop| *stop) => return Ok(heard),
        };
        if read == 0 {
            bail!("the event stream ended");
        }
        // The head's lines, chunk sizes and ids pass by; the data is what counts.
        let Some(data) = line.trim_end().strip_prefix("data: ") else { continue };
        let json: serde_json::Value = serde_json::from_str(data)?;
        if json["type"] == "welcome" && !ready {
            ready = true;
            shared.ready.fetch_add(1, Ordering::Relaxed);
        } else if json["type"] == "chat" {
            heard.extend(chat_line(&json));
        }
    }
}

/// Polls (`long`: long polls) over one kept-alive connection, as a browser does.
async fn polls(mut shared: Shared, long: bool) -> anyhow::Result<Heard> {
    let mut stream = BufReader::new(shared.connect().await?);
    let (mut heard, mut newest, mut ready) = (Vec::new(), 0, false);
    loop {
        // The first question is answered at once: then this client is in.
        let wait = if long && ready { "&wait=25" } else { "" };
        let ask = format!(
            "GET /api/messages?since={newest}{wait} HTTP/1.1\r\nHost: {}\r\n{BROWSER_HEADERS}\r\n",
            shared.addr
        );
        stream.get_mut().write_all(ask.as_bytes()).await?;
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let body = tokio::select! {
            body = read_answer(&mut stream) => body?,
            _ = shared.stop.wait_for(|stop| *stop) => return Ok(heard),
        };
        if !ready {
            ready = true;
            shared.ready.fetch_add(1, Ordering::Relaxed);
        }
        let lines: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
        for line in &lines {
            if let Some((id, latency)) = chat_line(line) {
                newest = newest.max(id);
                heard.push((id, latency));
            }
        }
        if !long {
            tokio::select! {
                () = tokio::time::sleep(POLL_EVERY) => {}
                _ = shared.stop.wait_for(|stop| *stop) => return Ok(heard),
            }
        }
    }
}

/// One HTTP/1.1 answer with a `content-length`: its body.
async fn read_answer<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> anyhow::Result<Vec<u8>> {
    let mut line = String::new();
    let mut length = 0;
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            bail!("the connection ended");
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

/// Says `count` lines at `rate` a second with `POST /api/messages`, over one
/// kept-alive connection; each line's text is when it was said.
async fn say(addr: &str, count: u64, rate: f64) -> anyhow::Result<()> {
    let mut stream = BufReader::new(TcpStream::connect(addr).await?);
    stream.get_mut().set_nodelay(true)?;
    let started = Instant::now();
    for n in 0..count {
        let at = started + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        let body = format!(r#"{{"name":"load","text":"{}"}}"#, now_us());
        let post = format!(
            "POST /api/messages HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.get_mut().write_all(post.as_bytes()).await?;
        read_answer(&mut stream).await?;
    }
    Ok(())
}

/// What a load is asked to do: `clients` clients hear the room the `way` way;
/// once all are in, `count` lines are said at `rate` a second (none: the room
/// stays empty for `hold`); then each client is given time to hear them all.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<Hold = Duration> {
    pub way: Way,
    pub clients: usize,
    pub count: u64,
    pub rate: f64,
    pub hold: Hold,
}

/// Runs `plan` against the server at `addr`. It prints `ready` when every client is
/// in, and `done` when the lines are said and heard, so that whoever started it can
/// read the server's memory and CPU time at those moments (`bench push`).
pub(crate) async fn run(addr: &str, plan: Plan) -> anyhow::Result<Report> {
    let Plan { way, clients, count, rate, hold } = plan;
    LazyLock::force(&START);
    let (stop_tx, stop) = watch::channel(false);
    let shared = Shared {
        addr: addr.to_string(),
        bytes: Arc::new(AtomicU64::new(0)),
        requests: Arc::new(AtomicU64::new(0)),
        ready: Arc::new(AtomicUsize::new(0)),
        stop,
    };
    let tasks: Vec<_> = (0..clients).map(|_| tokio::spawn(listen(way, shared.clone()))).collect();
    all_in(&shared, clients, way).await?;
    // Every client's arrival is told to the others (below 100 online): let those
    // notices pass before the measure starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("ready");
    let bytes_before = shared.bytes.load(Ordering::Relaxed);
    let requests_before = shared.requests.load(Ordering::Relaxed);
    let began = Instant::now();
    if count == 0 {
        tokio::time::sleep(hold).await;
    } else {
        say(addr, count, rate).await?;
        // Time to hear the last line: a poll asks again within POLL_EVERY.
        let grace =
            Duration::from_secs(1) + if way == Way::Poll { POLL_EVERY } else { Duration::ZERO };
        tokio::time::sleep(grace).await;
    }
    let bytes = shared.bytes.load(Ordering::Relaxed) - bytes_before;
    let requests = shared.requests.load(Ordering::Relaxed) - requests_before;
    let seconds = began.elapsed().as_secs_f64();
    println!("done");
    let _ = stop_tx.send(true);
    let (samples, heard, disordered) = gather(tasks, way).await?;
    Ok(Report {
        clients,
        said: count,
        heard,
        lost: stats::lost(count, clients as u64, heard),
        disordered,
        latency: stats::latency(samples),
        bytes,
        requests,
        seconds,
    })
}

/// Waits until every one of `clients` is in the room.
async fn all_in(shared: &Shared, clients: usize, way: Way) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.ready.load(Ordering::Relaxed) < clients {
        if Instant::now() > deadline {
            bail!("{clients} {} clients did not all get in within 60 s", way.name());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// What the clients heard: every latency, how many lines, how many came again or
/// out of order.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Heard>>>,
    way: Way,
) -> anyhow::Result<(Vec<u64>, u64, u64)> {
    let (mut samples, mut heard, mut disordered) = (Vec::new(), 0, 0);
    for task in tasks {
        let lines = task.await?.with_context(|| format!("a {} client", way.name()))?;
        let mut newest = 0;
        for (id, latency) in lines {
            if id <= newest {
                disordered += 1;
            }
            newest = newest.max(id);
            heard += 1;
            samples.push(latency);
        }
    }
    Ok((samples, heard, disordered))
}
