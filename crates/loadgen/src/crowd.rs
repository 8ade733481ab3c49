//! Two loads about crowds, from issue 10: thousands joining at once while two
//! clients chat, and a flood with a reader slower than the sender and a client that
//! never reads. Both talk only to the URL they are given.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{Idle, Protocol, connect};
use crate::stats::{self, Latency};
use crate::token::Token;

/// How many clients connect at the same time during a storm.
pub(crate) const AT_ONCE: usize = 32;

/// What a join storm measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Storm {
    /// From the first connect until every client has its 101 and, in a chat, its
    /// first message (the welcome).
    pub seconds: f64,
    /// Chat lines sent during the storm, one every 50 ms, and how fast they came.
    pub sent: u64,
    pub received: u64,
    pub latency: Latency,
}

/// `count` clients connect, `AT_ONCE` at a time; each reads whatever comes (as a
/// browser tab would). With a `chat` protocol, a speaker and a listener joined
/// before the storm, and the speaker says a line every 50 ms while it lasts.
pub(crate) async fn join_storm(
    url: &str,
    count: usize,
    chat: Option<Protocol>,
) -> anyhow::Result<Storm> {
    let pair = match chat {
        Some(protocol) => Some((connect(url).await?, connect(url).await?, protocol)),
        None => None,
    };
    let epoch = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let talk = pair.map(|(speaker, listener, protocol)| {
        let listening = tokio::spawn(listen(listener, epoch, stop_rx.clone()));
        let speaking = tokio::spawn(speak(speaker, protocol, epoch, stop_rx));
        (speaking, listening)
    });
    let started = Instant::now();
    let crowd: Vec<JoinHandle<anyhow::Result<Idle>>> = (0..AT_ONCE)
        .map(|part| {
            let url = url.to_string();
            let share = count / AT_ONCE + usize::from(part < count % AT_ONCE);
            tokio::spawn(async move { Idle::join(&url, share, chat.is_some()).await })
        })
        .collect();
    let mut joined = Vec::new();
    for part in crowd {
        joined.push(part.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let (mut sent, mut received, mut samples) = (0, 0, Vec::new());
    if let Some((speaking, listening)) = talk {
        sent = speaking.await?;
        // The last line may still be on its way: the listener waits for it a moment.
        samples = listening.await?;
        received = samples.len() as u64;
    }
    drop(joined);
    Ok(Storm { seconds, sent, received, latency: stats::latency(samples) })
}

/// Says a tokened line every 50 ms until told to stop. Returns how many it said.
async fn speak(
    mut ws: crate::load::Socket,
    protocol: Protocol,
    epoch: Instant,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> u64 {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut seq = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return u64::from(seq),
            // Read what comes (our own lines, joins), so the room never waits for us;
            // a connection that ended has nothing more to say.
            message = ws.next() => match message {
                Some(Ok(_)) => continue,
                _ => return u64::from(seq),
            },
        }
        let token = Token { sender: 0, seq, sent_us: stats::micros(epoch.elapsed()) };
        if ws.send(Message::text(chat_text(&token.encode(), protocol))).await.is_err() {
            return u64::from(seq);
        }
        seq += 1;
    }
}

/// Times every tokened line until told to stop, and then for one more second.
async fn listen(
    mut ws: crate::load::Socket,
    epoch: Instant,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<u64> {
    let mut samples = Vec::new();
    let mut deadline = None;
    loop {
        let next = async {
            match deadline {
                Some(at) => tokio::time::timeout_at(at, ws.next()).await.ok().flatten(),
                None => ws.next().await,
            }
        };
        tokio::select! {
            message = next => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(token) = Token::find(&text) {
                        samples.push(stats::micros(epoch.elapsed()).saturating_sub(token.sent_us));
                    }
                }
                Some(Ok(_)) => {}
                _ => return samples,
            },
            _ = stop.changed(), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + Duration::from_secs(1));
            }
        }
    }
}

fn chat_text(text: &str, protocol: Protocol) -> String {
    match protocol {
        Protocol::Text => text.to_string(),
        Protocol::Json => serde_json::json!({ "type": "chat", "text": text }).to_string(),
    }
}

/// What a flood past a slow reader and a non-reader measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Flood {
    pub sent: u64,
    /// Of the sender's lines, what the slow reader got, in order.
    pub read: u64,
    pub out_of_order: u64,
    /// The longest the slow reader waited between two lines.
    pub longest_pause_ms: f64,
    pub seconds: f64,
    /// The close code the non-reader found at the end of what it was sent.
    pub stuck_close: Option<u16>,
}

/// One client sends `messages` lines of `size` bytes as fast as the server takes
/// them (and reads its own stream); a second reads all the time but slower (a pause
/// of 1 ms every 4 lines: at most 4,000 lines a second); a third never reads.
pub(crate) async fn flood(
    url: &str,
    messages: usize,
    size: usize,
    protocol: Protocol,
) -> anyhow::Result<Flood> {
    let mut stuck = connect_with_small_window(url).await?;
    let reader = connect(url).await?;
    let (mut sink, mut own) = connect(url).await?.split();
    let epoch = Instant::now();
    let reading = tokio::spawn(read_slowly(reader, messages));
    let draining = tokio::spawn(async move { while let Some(Ok(_)) = own.next().await {} });
    let padding = "x".repeat(size.saturating_sub(40));
    let mut sent = 0u64;
    for seq in 0..messages {
        let token =
            Token { sender: 0, seq: u32::try_from(seq)?, sent_us: stats::micros(epoch.elapsed()) };
        let text = chat_text(&format!("{} {padding}", token.encode()), protocol);
        let sending = tokio::time::timeout(Duration::from_secs(10), sink.send(Message::text(text)));
        if !matches!(sending.await, Ok(Ok(()))) {
            break;
        }
        sent += 1;
    }
    let (read, out_of_order, longest_pause) = reading.await?;
    let seconds = epoch.elapsed().as_secs_f64();
    draining.abort();
    // What the server did with the one that never read: read it all now.
    let stuck_close = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = stuck.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    Ok(Flood {
        sent,
        read,
        out_of_order,
        longest_pause_ms: longest_pause.as_secs_f64() * 1e3,
        seconds,
        stuck_close,
    })
}

/// Connects with a 16 KiB receive buffer, as a phone on a slow link might have:
/// loopback's own buffers (up to 32 MB here) would otherwise hold a whole flood for a
/// client that never reads, and the server would never see it stall.
async fn connect_with_small_window(url: &str) -> anyhow::Result<crate::load::Socket> {
    let addr: std::net::SocketAddr = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .context("a ws:// URL")?
        .parse()
        .context("an IP address and port: loadgen dials no host names")?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(16 * 1024)?;
    let stream = socket.connect(addr).await?;
    let plain = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) =
        tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::client_async(url, plain))
            .await??;
    Ok(ws)
}

/// Reads until `expected` tokened lines came, or none came for 10 s. Returns how
/// many came, how many out of order, and the longest wait between two.
async fn read_slowly(mut ws: crate::load::Socket, expected: usize) -> (u64, u64, Duration) {
    let (mut read, mut out_of_order, mut next_seq) = (0u64, 0u64, 0u32);
    let (mut last, mut longest) = (Instant::now(), Duration::ZERO);
    while read < expected as u64 {
        let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await
        else {
            break;
        };
        let Message::Text(text) = message else { continue };
        let Some(token) = Token::find(&text) else { continue };
        longest = longest.max(last.elapsed());
        last = Instant::now();
        if token.seq != next_seq {
            out_of_order += 1;
        }
        next_seq = token.seq + 1;
        read += 1;
        if read % 4 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    (read, out_of_order, longest)
}
