//! The chat room of lesson 05: who is online, and a queue of lines for every
//! connection's task to pass on at its own pace.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
/// Above this many people, joins and leaves are not announced: every notice goes to
/// everyone, so 5,000 people joining would be 12.5 million notices.
const QUIET_ABOVE: usize = 100;

/// One line, shared by every queue it waits in. Its text is already shared
/// (`Utf8Bytes` counts its references); the `Arc` makes each slot of a queue
/// smaller, for every client, idle or not (page 05, "Going deeper: what an idle
/// client costs").
pub(crate) type Line = Arc<Utf8Bytes>;

/// The chat room: who is online, and a queue of lines for each of them.
pub(crate) struct Room {
    /// Everyone in the room, by connection number. A plain (not async) mutex: it is
    /// held for a moment at a time and never across an `.await`.
    members: Mutex<BTreeMap<u64, Member>>,
    /// How many guests have joined so far, to number their names.
    guests: AtomicU64,
}

/// One person in the room.
struct Member {
    name: String,
    /// Their lines, waiting for their connection's task to send them. `None` once
    /// they have been put out for not reading.
    queue: Option<mpsc::Sender<Line>>,
    /// Tells their task that they were put out.
    put_out: Option<oneshot::Sender<()>>,
}

/// What a connection gets on joining: its name, its queue of lines, and a signal
/// that fires if the room puts it out for not reading.
pub(crate) struct Membership {
    pub(crate) name: String,
    pub(crate) lines: mpsc::Receiver<Line>,
    pub(crate) put_out: oneshot::Receiver<()>,
}

/// Lines that found a queue full, to be waited for once the lock is released.
type Waiting = Vec<(u64, mpsc::Sender<Line>)>;

impl Room {
    pub(crate) fn new() -> Room {
        Room { members: Mutex::new(BTreeMap::new()), guests: AtomicU64::new(0) }
    }

    /// Adds a connection to the room under a guest name, and tells everyone (the
    /// newcomer too: its queue is in place first).
    pub(crate) async fn join(&self, conn: u64) -> Membership {
        let name = format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1);
        let (queue, lines) = mpsc::channel(QUEUE_LENGTH);
        let (put_out_tx, put_out) = oneshot::channel();
        let member = Member { name: name.clone(), queue: Some(queue), put_out: Some(put_out_tx) };
        let (text, waiting) = {
            let mut members = self.members.lock().expect("no task panics holding the lock");
            members.insert(conn, member);
            let text = format!("{name} joined ({} online)", members.len());
            let waiting = offer(&members, None, &text, members.len() <= QUIET_ABOVE);
            (text, waiting)
        };
        self.wait_for(waiting, text).await;
        Membership { name, lines, put_out }
    }

    /// Removes a connection, however it ended, and tells everyone who is left. This
    /// runs for every connection that joined, so the count stays right even when a
    /// client vanishes without a word.
    pub(crate) async fn leave(&self, conn: u64) {
        let (text, waiting) = {
            let mut members = self.members.lock().expect("no task panics holding the lock");
            let Some(member) = members.remove(&conn) else { return };
            let text = format!("{} left ({} online)", member.name, members.len());
            let waiting = offer(&members, None, &text, members.len() < QUIET_ABOVE);
            (text, waiting)
        };
        self.wait_for(waiting, text).await;
    }

    /// Renames a connection, if the new name is valid and free.
    pub(crate) async fn rename(&self, conn: u64, new: &str) -> Result<(), String> {
        check_name(new)?;
        let (text, waiting) = {
            let mut members = self.members.lock().expect("no task panics holding the lock");
            if members.iter().any(|(other, member)| member.name == new && *other != conn) {
                return Err(format!("{new} is taken"));
            }
            let member = members.get_mut(&conn).expect("a connection renames only while in");
            let text = format!("{} is now {new}", member.name);
            member.name = new.to_string();
            let waiting = offer(&members, None, &text, true);
            (text, waiting)
        };
        self.wait_for(waiting, text).await;
        Ok(())
    }

    /// Passes a line to everyone but the connection that said it. If someone's queue
    /// is full, this waits for it (at most `STALL_LIMIT`): the speaker's task waits
    /// here and stops reading its socket, so a flood slows down to the pace of the
    /// slowest reader instead of losing lines for it.
    pub(crate) async fn say(&self, from: u64, text: String) {
        let waiting = {
            let members = self.members.lock().expect("no task panics holding the lock");
            offer(&members, Some(from), &text, true)
        };
        self.wait_for(waiting, text).await;
    }

    /// Waits for room in each full queue, all by one deadline, and puts out whoever
    /// has not made room by then.
    async fn wait_for(&self, waiting: Waiting, text: impl Into<Utf8Bytes>) {
        if waiting.is_empty() {
            return;
        }
        let text = Line::new(text.into());
        let deadline = tokio::time::Instant::now() + STALL_LIMIT;
        for (conn, queue) in waiting {
            if tokio::time::timeout_at(deadline, queue.send(text.clone())).await.is_err() {
                self.put_out(conn);
            }
        }
    }

    /// Puts a connection that stopped reading out of the room: nobody waits for its
    /// queue any more, and its task closes the connection.
    fn put_out(&self, conn: u64) {
        let mut members = self.members.lock().expect("no task panics holding the lock");
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
}

/// Puts `text` in the queue of everyone but `from`, without waiting (if `loud`;
/// otherwise nobody hears it). Returns the queues that were full.
fn offer(members: &BTreeMap<u64, Member>, from: Option<u64>, text: &str, loud: bool) -> Waiting {
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

/// A name is 1 to 20 letters, digits, `-` or `_`: short, and safe to show anywhere.
fn check_name(name: &str) -> Result<(), String> {
    let valid = (1..=20).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err("a name is 1 to 20 letters, digits, - or _".to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn a_taken_name_is_refused_and_a_free_one_announced() {
        let room = Room::new();
        let mut first = room.join(1).await;
        room.join(2).await;
        assert_eq!(room.rename(2, "guest-1").await, Err("guest-1 is taken".to_string()));
        room.rename(1, "Ann").await.expect("a free name");
        let said: Vec<String> =
            std::iter::from_fn(|| first.lines.try_recv().ok()).map(|l| l.to_string()).collect();
        assert_eq!(
            said,
            ["guest-1 joined (1 online)", "guest-2 joined (2 online)", "guest-1 is now Ann"]
        );
    }

    #[tokio::test]
    async fn a_reader_gets_every_line_and_a_non_reader_is_put_out() {
        let room = Room::new();
        let mut reader = room.join(1).await;
        let mut stuck = room.join(2).await;
        room.join(3).await;
        let lines = 3 * QUEUE_LENGTH;
        // The reader reads all the time, the stuck one never: the speaker waits for
        // the reader when its queue is full, and for the stuck one only STALL_LIMIT.
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < lines {
                let line = reader.lines.recv().await.expect("the reader stays in");
                if line.starts_with("guest-3: ") {
                    got.push(line.to_string());
                }
            }
            got
        });
        for n in 0..lines {
            room.say(3, format!("guest-3: {n}")).await;
        }
        let got = reading.await.expect("the reader");
        assert_eq!(got, (0..lines).map(|n| format!("guest-3: {n}")).collect::<Vec<_>>());
        assert!(stuck.put_out.try_recv().is_ok(), "the stuck one was put out");
    }
}
