//! The chat room of lesson 05, now speaking JSON and keeping a history: who is online,
//! the last lines said, and every new line for every connection's task to pass on
//! at its own pace.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How many lines the room keeps for connections that are behind. A connection
/// that falls further behind than this skips the oldest, and is told how many.
const QUEUE_LENGTH: usize = 256;
/// How many chat messages `GET /api/messages` returns: the most recent.
const HISTORY_LENGTH: usize = 100;
/// The longest chat message, in characters.
const MAX_TEXT_CHARS: usize = 2000;

/// What a client may send over the WebSocket, as JSON: `{"type": "chat", "text": "hi"}`
/// or `{"type": "rename", "name": "Alice"}`. serde reads the `type` field to choose.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum ClientMessage {
    Chat { text: String },
    Rename { name: String },
}

/// What the server sends, as JSON with a `type` field. Everyone gets the same
/// `chat`, `joined`, `left` and `renamed` messages; `welcome` and `error` are for one
/// client.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum ServerMessage<'a> {
    /// Your name, and how many are online (the names are at `GET /api/online`: a
    /// list of thousands would make every join cost the server thousands).
    Welcome {
        name: &'a str,
        online: usize,
    },
    Chat(&'a Chat),
    Joined {
        name: &'a str,
        online: usize,
    },
    Left {
        name: &'a str,
        online: usize,
    },
    Renamed {
        old: &'a str,
        new: &'a str,
    },
    Error {
        message: &'a str,
    },
}

impl ServerMessage<'_> {
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("our messages always serialize")
    }
}

/// One chat message, as kept in the history and sent to clients. `id` grows by one
/// for each message, so a client can tell which ones it has not seen.
#[derive(Serialize, Clone, Debug)]
pub(crate) struct Chat {
    pub(crate) id: u64,
    pub(crate) from: String,
    pub(crate) text: String,
}

/// The chat room: who is online, what was said lately, and a queue of lines for
/// every connection.
pub(crate) struct Room {
    /// Who is online and the recent history. A plain (not async) mutex: it is held
    /// for a moment at a time and never across an `.await`.
    state: Mutex<State>,
    /// Every line said in the room, already in JSON. Each connection's task has a
    /// receiver that reads the lines in order, at its own pace, from one shared ring
    /// of `QUEUE_LENGTH` lines: sending a line to a thousand clients stores it once.
    lines: broadcast::Sender<Utf8Bytes>,
    /// How many guests have joined so far, to number their names.
    guests: AtomicU64,
}

struct State {
    names: BTreeMap<u64, String>,
    /// The last `HISTORY_LENGTH` messages, oldest first: a bounded ring.
    history: VecDeque<Chat>,
    next_id: u64,
}

impl Room {
    pub(crate) fn new() -> Room {
        let (lines, _) = broadcast::channel(QUEUE_LENGTH);
        let state = State { names: BTreeMap::new(), history: VecDeque::new(), next_id: 1 };
        Room { state: Mutex::new(state), lines, guests: AtomicU64::new(0) }
    }

    /// Adds a connection to the room under a guest name, and tells everyone. Returns
    /// the name, the receiver of the room's lines, and the welcome for the newcomer.
    pub(crate) fn join(&self, conn: u64) -> (String, broadcast::Receiver<Utf8Bytes>, String) {
        let name = format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1);
        let mut state = self.state.lock().expect("no task panics holding the lock");
        // Subscribe before announcing, so the newcomer sees its own arrival.
        let receiver = self.lines.subscribe();
        state.names.insert(conn, name.clone());
        let welcome = ServerMessage::Welcome { name: &name, online: state.names.len() }.to_json();
        self.announce(&ServerMessage::Joined { name: &name, online: state.names.len() });
        (name, receiver, welcome)
    }

    /// Removes a connection, however it ended, and tells everyone who is left. This
    /// runs for every connection that joined, so the count stays right even when a
    /// client vanishes without a word.
    pub(crate) fn leave(&self, conn: u64) {
        let mut state = self.state.lock().expect("no task panics holding the lock");
        if let Some(name) = state.names.remove(&conn) {
            self.announce(&ServerMessage::Left { name: &name, online: state.names.len() });
        }
    }

    /// Renames a connection, if the new name is valid and free.
    pub(crate) fn rename(&self, conn: u64, new: &str) -> Result<(), String> {
        check_name(new)?;
        let mut state = self.state.lock().expect("no task panics holding the lock");
        if state.names.iter().any(|(other, name)| name == new && *other != conn) {
            return Err(format!("{new} is taken"));
        }
        let old = state.names.insert(conn, new.to_string()).unwrap_or_default();
        self.announce(&ServerMessage::Renamed { old: &old, new });
        Ok(())
    }

    /// Adds a chat message to the history and sends it to everyone, from a
    /// WebSocket client or from `POST /api/messages`. Returns it, with its id.
    pub(crate) fn say(&self, from: &str, text: &str) -> Result<Chat, String> {
        check_name(from)?;
        if text.trim().is_empty() {
            return Err("the text is empty".to_string());
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("the text is longer than {MAX_TEXT_CHARS} characters"));
        }
        let mut state = self.state.lock().expect("no task panics holding the lock");
        let chat = Chat { id: state.next_id, from: from.to_string(), text: text.to_string() };
        state.next_id += 1;
        if state.history.len() == HISTORY_LENGTH {
            state.history.pop_front();
        }
        state.history.push_back(chat.clone());
        self.announce(&ServerMessage::Chat(&chat));
        Ok(chat)
    }

    /// The recent history as a JSON array, oldest first.
    pub(crate) fn history_json(&self) -> String {
        let state = self.state.lock().expect("no task panics holding the lock");
        serde_json::to_string(&state.history).expect("chats always serialize")
    }

    /// The names of everyone online as a JSON array.
    pub(crate) fn online_json(&self) -> String {
        let state = self.state.lock().expect("no task panics holding the lock");
        serde_json::to_string(&state.names.values().collect::<Vec<_>>()).expect("names serialize")
    }

    /// Queues a message for every connection, serialized once. It never waits: the
    /// ring overwrites its oldest line, and a receiver that had not read it yet will
    /// be told it missed it. Called with `state` locked, so messages come out in the
    /// order things happened.
    fn announce(&self, message: &ServerMessage) {
        // An error only means nobody is listening right now.
        let _ = self.lines.send(message.to_json().into());
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
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(21)).is_err());
        assert!(check_name("<b>").is_err());
    }

    #[test]
    fn the_history_keeps_the_last_messages_with_growing_ids() {
        let room = Room::new();
        assert_eq!(room.say("Ann", "  ").unwrap_err(), "the text is empty");
        assert!(room.say("Ann", &"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
        for n in 1..=HISTORY_LENGTH + 5 {
            assert_eq!(room.say("Ann", &n.to_string()).map(|chat| chat.id), Ok(n as u64));
        }
        let history: Vec<serde_json::Value> =
            serde_json::from_str(&room.history_json()).expect("JSON");
        assert_eq!(history.len(), HISTORY_LENGTH);
        assert_eq!(history[0]["text"], "6");
    }
}
