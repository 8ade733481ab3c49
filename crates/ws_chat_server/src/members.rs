//! The people in a chat room and their queues: each member's lines wait in a
//! bounded queue of their own, which their connection's task empties at its own
//! pace. A line is offered to every queue without waiting; a full queue is waited
//! for, at most `STALL_LIMIT`, and whoever has not made room by then is put out.
//! Lessons 07 and 09 carry this file, unchanged: their rooms differ in what they
//! say (JSON, Redis), not in how a line reaches each member.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::warn;

/// How many lines may wait for one client. A line's text is shared (see `Line`), so
/// a full queue holds 256 pointers, not 256 copies.
pub(crate) const QUEUE_LENGTH: usize = 256;
/// How long a line waits at most for a client whose queue is full. A client that
/// has taken nothing for that long has stopped reading: it is put out of the room,
/// so nobody else waits for it any longer.
const STALL_LIMIT: Duration = Duration::from_secs(2);

/// One line, shared by every queue it waits in. Its text is already shared
/// (`Utf8Bytes` counts its references); the `Arc` makes each slot of a queue
/// smaller, for every client, idle or not (page 05, "Going deeper: what an idle
/// client costs").
pub(crate) type Line = Arc<Utf8Bytes>;

/// Everyone in a room, by connection number. A plain (not async) mutex: it is held
/// for a moment at a time and never across an `.await`.
pub(crate) type Members = Mutex<BTreeMap<u64, Member>>;

/// One person in the room.
pub(crate) struct Member {
    pub(crate) name: String,
    /// Their lines, waiting for their connection's task to send them. `None` once
    /// they have been put out for not reading.
    queue: Option<mpsc::Sender<Line>>,
    /// Tells their task that they were put out.
    put_out: Option<oneshot::Sender<()>>,
}

impl Member {
    /// A member called `name`, with the two ends its connection's task keeps: its
    /// queue of lines, and the signal that fires if the room puts it out.
    pub(crate) fn new(name: String) -> (Member, mpsc::Receiver<Line>, oneshot::Receiver<()>) {
        let (queue, lines) = mpsc::channel(QUEUE_LENGTH);
        let (put_out_tx, put_out) = oneshot::channel();
        (Member { name, queue: Some(queue), put_out: Some(put_out_tx) }, lines, put_out)
    }
}

/// Lines that found a queue full, to be waited for once the lock is released.
pub(crate) type Waiting = Vec<(u64, mpsc::Sender<Line>)>;

/// Puts `text` in the queue of everyone but `from`, without waiting (if `loud`;
/// otherwise nobody hears it). Returns the queues that were full.
pub(crate) fn offer(
    members: &BTreeMap<u64, Member>,
    from: Option<u64>,
    text: &str,
    loud: bool,
) -> Waiting {
    if !loud {
        return Vec::new();
    }
    let text = Line::new(Utf8Bytes::from(text));
    let mut waiting = Vec::new();
    for (conn, member) in members.iter().filter(|(conn, _)| Some(**conn) != from) {
        let Some(queue) = &member.queue else { continue };
        if let Err(TrySendError::Full(_)) = queue.try_send(text.clone()) {
            waiting.push((*conn, queue.clone()));
        }
    }
    waiting
}

/// Waits for room in each full queue, all by one deadline, and puts out whoever
/// has not made room by then. Called with the lock released: the others go on.
pub(crate) async fn wait_for(members: &Members, waiting: Waiting, text: impl Into<Utf8Bytes>) {
    if waiting.is_empty() {
        return;
    }
    let text = Line::new(text.into());
    let deadline = tokio::time::Instant::now() + STALL_LIMIT;
    for (conn, queue) in waiting {
        if tokio::time::timeout_at(deadline, queue.send(text.clone())).await.is_err() {
            put_out(members, conn);
        }
    }
}

/// Puts a connection that stopped reading out of the room: nobody waits for its
/// queue any more, and its task closes the connection.
fn put_out(members: &Members, conn: u64) {
    let mut members = members.lock().expect("no task panics holding the lock");
    let Some(member) = members.get_mut(&conn) else { return };
    if member.queue.take().is_some() {
        warn!(
            "conn #{conn} put out of the room: {QUEUE_LENGTH} lines waited {} s for it",
            STALL_LIMIT.as_secs()
        );
    }
    if let Some(put_out) = member.put_out.take() {
        let _ = put_out.send(());
    }
}

/// A name is 1 to 20 letters, digits, `-` or `_`: short, and safe to show anywhere.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let valid = (1..=20).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err("a name is 1 to 20 letters, digits, - or _".to_string()) }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_are_short_and_plain() {
        assert!(check_name("Ann").is_ok());
        assert!(check_name("小明_2-b").is_ok());
        assert!(check_name(&"x".repeat(20)).is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(21)).is_err());
        assert!(check_name("Ann Lee").is_err());
        assert!(check_name("<b>").is_err());
    }
}
