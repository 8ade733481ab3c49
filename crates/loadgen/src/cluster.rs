//! The loads of lesson 09's benchmark: a line from one instance to another (or to
//! the same one), a fan-out over several instances, and how long a killed
//! instance's people stay counted. Only ever to the addresses given (127.0.0.1).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{self, Socket};
use crate::stats::{self, Latency};
use crate::token::Token;

/// What one latency run measured: the latency of the lines that arrived, and how
/// many did not.
pub(crate) struct Crossing {
    pub latency: Latency,
    pub lost: u64,
}

/// A sender on `sender_url` says `messages` lines at `rate` a second; a reader on
/// `reader_url` times each from send to receive.
pub(crate) async fn latency(
    sender_url: &str,
    reader_url: &str,
    messages: usize,
    rate: f64,
) -> anyhow::Result<Crossing> {
    let mut reader = joined(reader_url).await?;
    let sender = joined(sender_url).await?;
    let (mut sink, mut echoes) = sender.split();
    // The sender's own lines come back to it too: read them, so they do not pile up.
    let draining = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });
    let epoch = Instant::now();
    let reading = tokio::spawn(async move {
        let mut samples = Vec::new();
        while samples.len() < messages {
            let wait = tokio::time::timeout(Duration::from_secs(3), reader.next()).await;
            let Ok(Some(Ok(Message::Text(text)))) = wait else { break };
            if let Some(token) = Token::find(&text) {
                samples.push(stats::micros(epoch.elapsed()).saturating_sub(token.sent_us));
            }
        }
        samples
    });
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    for seq in 0..messages {
        tick.tick().await;
        let seq = u32::try_from(seq).expect("fewer than 2^32 lines");
        let token = Token { sender: 0, seq, sent_us: stats::micros(epoch.elapsed()) };
        let text = serde_json::json!({ "type": "chat", "text": token.encode() }).to_string();
        sink.send(Message::text(text)).await?;
    }
    let samples = reading.await?;
    draining.abort();
    let lost = (messages - samples.len()) as u64;
    Ok(Crossing { latency: stats::latency(samples), lost })
}

/// A client on `url` that has had its welcome.
async fn joined(url: &str) -> anyhow::Result<Socket> {
    let mut ws = load::connect(url).await?;
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(_)))) => Ok(ws),
        _ => Err(anyhow::anyhow!("no welcome from {url}")),
    }
}

#[derive(Deserialize)]
struct Presence {
    #[serde(rename = "type")]
    kind: String,
    online: Option<usize>,
}

/// Reads `ws` until a `kind` message says `online`; false if none does in 15 s.
pub(crate) async fn wait_for_count(ws: &mut Socket, kind: &str, online: usize) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, ws.next()).await {
        let Message::Text(text) = message else { continue };
        let Ok(presence) = serde_json::from_str::<Presence>(&text) else { continue };
        if presence.kind == kind && presence.online == Some(online) {
            return true;
        }
    }
    false
}

/// `clients` join the doomed instance at `doomed_url`, a watcher the survivor at
/// `survivor_url`; once the watcher counts everyone, `kill` kills the doomed one, at
/// a random moment within the next second.
/// Returns how long until the watcher's count is right again (1: itself).
pub(crate) async fn ghosts(
    survivor_url: &str,
    doomed_url: &str,
    clients: usize,
    kill: impl FnOnce(),
) -> anyhow::Result<Option<Duration>> {
    let mut watcher = joined(survivor_url).await?;
    let doomed = load::Idle::join(doomed_url, clients, true).await?;
    if !wait_for_count(&mut watcher, "joined", clients + 1).await {
        anyhow::bail!("the survivor never counted {} online", clients + 1);
    }
    // At a moment that owes nothing to the instances' check-ins: 0 to 1 s from now.
    let nanos = std::time::UNIX_EPOCH.elapsed().unwrap_or_default().subsec_nanos();
    tokio::time::sleep(Duration::from_nanos(u64::from(nanos))).await;
    kill();
    let killed = Instant::now();
    let right = wait_for_count(&mut watcher, "left", 1).await;
    drop(doomed);
    Ok(right.then(|| killed.elapsed()))
}
