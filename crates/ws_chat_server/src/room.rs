//! The chat room of lesson 05: who is online, and a queue of lines for every
//! connection's task to pass on at its own pace.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::members::Line;
use crate::members::{self, Member, Members, check_name, offer};

/// Above this many people, joins and leaves are not announced: every notice goes to
/// everyone, so 5,000 people joining would be 12.5 million notices.
const QUIET_ABOVE: usize = 100;

/// The chat room: who is online, and a queue of lines for each of them.
pub(crate) struct Room {
    /// Everyone in the room, by connection number. A plain (not async) mutex: it is
    /// held for a moment at a time and never across an `.await`.
    members: Members,
    /// How many guests have joined so far, to number their names.
    guests: AtomicU64,
}

/// What a connection gets on joining: its name, its queue of lines, and a signal
/// that fires if the room puts it out for not reading.
pub(crate) struct Membership {
    pub(crate) name: String,
    pub(crate) lines: mpsc::Receiver<Line>,
    pub(crate) put_out: oneshot::Receiver<()>,
}

impl Room {
    pub(crate) fn new() -> Room {
        Room { members: Mutex::new(BTreeMap::new()), guests: AtomicU64::new(0) }
    }

    /// Adds a connection to the room under a guest name, and tells everyone (the
    /// newcomer too: its queue is in place first).
    pub(crate) async fn join(&self, conn: u64) -> Membership {
        let name = format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1);
        let (member, lines, put_out) = Member::new(name.clone());
        let (text, waiting) = {
            let mut members = self.members.lock().expect("no task panics holding the lock");
            members.insert(conn, member);
            let text = format!("{name} joined ({} online)", members.len());
            let waiting = offer(&members, None, &text, members.len() <= QUIET_ABOVE);
            (text, waiting)
        };
        members::wait_for(&self.members, waiting, text).await;
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
        members::wait_for(&self.members, waiting, text).await;
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
        members::wait_for(&self.members, waiting, text).await;
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
        members::wait_for(&self.members, waiting, text).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::QUEUE_LENGTH;

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
