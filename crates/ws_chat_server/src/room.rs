//! The chat room of lesson 05: who is online, and every line said, for every
//! connection's task to pass on at its own pace.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How many lines the room keeps for connections that are behind. A connection
/// that falls further behind than this skips the oldest, and is told how many.
const QUEUE_LENGTH: usize = 256;

/// The chat room: who is online, and a queue of lines for every connection.
pub(crate) struct Room {
    /// Who is online, by connection number. A plain (not async) mutex: it is held
    /// for a moment at a time and never across an `.await`.
    names: Mutex<BTreeMap<u64, String>>,
    /// Every line said in the room. Each connection's task has a receiver that reads
    /// the lines in order, at its own pace, from one shared ring of `QUEUE_LENGTH`
    /// lines: sending a line to a thousand clients stores it once.
    lines: broadcast::Sender<Line>,
    /// How many guests have joined so far, to number their names.
    guests: AtomicU64,
}

/// One line for the room's clients. `Utf8Bytes` is reference-counted, so handing a
/// line to a thousand receivers copies a pointer, not the text.
#[derive(Clone)]
pub(crate) struct Line {
    /// The connection that said it, if any: it has had its own copy already.
    pub(crate) from: Option<u64>,
    pub(crate) text: Utf8Bytes,
}

impl Room {
    pub(crate) fn new() -> Room {
        let (lines, _) = broadcast::channel(QUEUE_LENGTH);
        Room { names: Mutex::new(BTreeMap::new()), lines, guests: AtomicU64::new(0) }
    }

    /// Adds a connection to the room under a guest name, and tells everyone.
    pub(crate) fn join(&self, conn: u64) -> (String, broadcast::Receiver<Line>) {
        let name = format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1);
        let mut names = self.names.lock().expect("no task panics holding the lock");
        // Subscribe before announcing, so the newcomer sees its own arrival.
        let receiver = self.lines.subscribe();
        names.insert(conn, name.clone());
        self.announce(None, format!("{name} joined ({} online)", names.len()));
        (name, receiver)
    }

    /// Removes a connection, however it ended, and tells everyone who is left. This
    /// runs for every connection that joined, so the count stays right even when a
    /// client vanishes without a word.
    pub(crate) fn leave(&self, conn: u64) {
        let mut names = self.names.lock().expect("no task panics holding the lock");
        if let Some(name) = names.remove(&conn) {
            self.announce(None, format!("{name} left ({} online)", names.len()));
        }
    }

    /// Renames a connection, if the new name is valid and free.
    pub(crate) fn rename(&self, conn: u64, new: &str) -> Result<(), String> {
        check_name(new)?;
        let mut names = self.names.lock().expect("no task panics holding the lock");
        if names.iter().any(|(other, name)| name == new && *other != conn) {
            return Err(format!("{new} is taken"));
        }
        let old = names.insert(conn, new.to_string()).unwrap_or_default();
        self.announce(None, format!("{old} is now {new}"));
        Ok(())
    }

    /// Queues a line for every connection. It never waits: the ring overwrites its
    /// oldest line, and a receiver that had not read it yet will be told it missed it.
    pub(crate) fn announce(&self, from: Option<u64>, text: String) {
        // An error only means nobody is listening right now.
        let _ = self.lines.send(Line { from, text: text.into() });
    }
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

    #[test]
    fn a_taken_name_is_refused_and_a_free_one_announced() {
        let room = Room::new();
        let (_, mut lines) = room.join(1);
        room.join(2);
        assert_eq!(room.rename(2, "guest-1"), Err("guest-1 is taken".to_string()));
        room.rename(1, "Ann").expect("a free name");
        let said: Vec<String> = std::iter::from_fn(|| lines.try_recv().ok())
            .map(|line| line.text.to_string())
            .collect();
        assert_eq!(
            said,
            ["guest-1 joined (1 online)", "guest-2 joined (2 online)", "guest-1 is now Ann"]
        );
    }
}
