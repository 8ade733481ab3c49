//! The chat room of lesson 05, now speaking JSON and keeping a history: who is online,
//! the last lines said, and a queue of lines for every connection's task to pass on
//! at its own pace.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::members::Line;
use crate::members::{self, Member, Members, check_name, offer};

/// Above this many people, joins and leaves are not announced: every notice goes to
/// everyone, so 5,000 people joining would be 12.5 million notices.
const QUIET_ABOVE: usize = 100;
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
/// each of them.
pub(crate) struct Room {
    /// Everyone in the room, by connection number. A plain (not async) mutex: it is
    /// held for a moment at a time and never across an `.await`.
    members: Members,
    /// The last `HISTORY_LENGTH` messages. Locked only while `members` is, so the
    /// ids, the history and every queue agree on the order of the messages.
    history: Mutex<History>,
    /// How many guests have joined so far, to number their names.
    guests: AtomicU64,
    /// New at every start, sent with the history: a client that sees it change knows
    /// the server restarted and its history (kept in memory) began again.
    history_id: HeaderValue,
}

/// What a connection gets on joining: its name, how many are online with it, its
/// queue of lines, and a signal that fires if the room puts it out for not reading.
pub(crate) struct Membership {
    pub(crate) name: String,
    pub(crate) online: usize,
    pub(crate) lines: mpsc::Receiver<Line>,
    pub(crate) put_out: oneshot::Receiver<()>,
}

struct History {
    /// Oldest first: a bounded ring.
    chats: VecDeque<Chat>,
    next_id: u64,
}

impl Room {
    pub(crate) fn new() -> Room {
        let history = History { chats: VecDeque::new(), next_id: 1 };
        Room {
            members: Mutex::new(BTreeMap::new()),
            history: Mutex::new(history),
            guests: AtomicU64::new(0),
            history_id: new_history_id(),
        }
    }

    /// The history's id: lesson 08's client compares it to tell a new history.
    pub(crate) fn history_id(&self) -> HeaderValue {
        self.history_id.clone()
    }

    /// Adds a connection to the room under a guest name (`join_as`).
    pub(crate) async fn join(&self, conn: u64) -> Membership {
        let name = format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1);
        self.join_as(conn, name).await
    }

    /// Adds a connection to the room under `name`, and tells everyone (the newcomer
    /// too: its queue is in place first).
    pub(crate) async fn join_as(&self, conn: u64, name: String) -> Membership {
        let (member, lines, put_out) = Member::new(name.clone());
        let (text, waiting, online) = {
            let mut members = self.members.lock().expect("no task panics holding the lock");
            members.insert(conn, member);
            let online = members.len();
            let text = ServerMessage::Joined { name: &name, online }.to_json();
            let waiting = offer(&members, None, &text, online <= QUIET_ABOVE);
            (text, waiting, online)
        };
        members::wait_for(&self.members, waiting, text).await;
        Membership { name, online, lines, put_out }
    }

    /// Removes a connection, however it ended, and tells everyone who is left. This
    /// runs for every connection that joined, so the count stays right even when a
    /// client vanishes without a word.
    pub(crate) async fn leave(&self, conn: u64) {
        let (text, waiting) = {
            let mut members = self.members.lock().expect("no task panics holding the lock");
            let Some(member) = members.remove(&conn) else { return };
            let online = members.len();
            let text = ServerMessage::Left { name: &member.name, online }.to_json();
            let waiting = offer(&members, None, &text, online < QUIET_ABOVE);
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
            let text = ServerMessage::Renamed { old: &member.name, new }.to_json();
            member.name = new.to_string();
            let waiting = offer(&members, None, &text, true);
            (text, waiting)
        };
        members::wait_for(&self.members, waiting, text).await;
        Ok(())
    }

    /// Adds a chat message to the history and passes it to everyone, from a
    /// WebSocket client or from `POST /api/messages`. Returns it, with its id. If
    /// someone's queue is full, this waits for it (at most `STALL_LIMIT`), as in
    /// lesson 05: a flood slows down to the pace of the slowest reader.
    pub(crate) async fn say(&self, from: &str, text: &str) -> Result<Chat, String> {
        check_name(from)?;
        if text.trim().is_empty() {
            return Err("the text is empty".to_string());
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("the text is longer than {MAX_TEXT_CHARS} characters"));
        }
        let (chat, json, waiting) = {
            let members = self.members.lock().expect("no task panics holding the lock");
            let mut history = self.history.lock().expect("no task panics holding the lock");
            let chat = Chat { id: history.next_id, from: from.to_string(), text: text.to_string() };
            history.next_id += 1;
            if history.chats.len() == HISTORY_LENGTH {
                history.chats.pop_front();
            }
            history.chats.push_back(chat.clone());
            let json = ServerMessage::Chat(&chat).to_json();
            let waiting = offer(&members, None, &json, true);
            (chat, json, waiting)
        };
        members::wait_for(&self.members, waiting, json).await;
        Ok(chat)
    }

    /// Message `id`, if it is still in the history.
    pub(crate) fn message(&self, id: u64) -> Option<Chat> {
        let history = self.history.lock().expect("no task panics holding the lock");
        history.chats.iter().find(|chat| chat.id == id).cloned()
    }

    /// The recent history as a JSON array, oldest first.
    pub(crate) fn history_json(&self) -> String {
        let history = self.history.lock().expect("no task panics holding the lock");
        serde_json::to_string(&history.chats).expect("chats always serialize")
    }

    /// The names of everyone online as a JSON array.
    pub(crate) fn online_json(&self) -> String {
        let members = self.members.lock().expect("no task panics holding the lock");
        let names: Vec<&String> = members.values().map(|member| &member.name).collect();
        serde_json::to_string(&names).expect("names serialize")
    }
}

/// An id for this run's history: the time the server started, in milliseconds, in
/// hex.
fn new_history_id() -> HeaderValue {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    HeaderValue::from_str(&format!("{started:x}")).expect("hex digits are a valid header")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::QUEUE_LENGTH;

    #[tokio::test]
    async fn the_history_keeps_the_last_messages_with_growing_ids() {
        let room = Room::new();
        assert_eq!(room.say("Ann", "  ").await.unwrap_err(), "the text is empty");
        assert!(room.say("Ann", &"x".repeat(MAX_TEXT_CHARS + 1)).await.is_err());
        for n in 1..=HISTORY_LENGTH + 5 {
            let said = room.say("Ann", &n.to_string()).await;
            assert_eq!(said.map(|chat| chat.id), Ok(n as u64));
        }
        let history: Vec<serde_json::Value> =
            serde_json::from_str(&room.history_json()).expect("JSON");
        assert_eq!(history.len(), HISTORY_LENGTH);
        assert_eq!(history[0]["text"], "6");
    }

    #[tokio::test]
    async fn a_reader_gets_every_line_and_a_non_reader_is_put_out() {
        let room = Room::new();
        let mut reader = room.join(1).await;
        let mut stuck = room.join(2).await;
        let lines = 3 * QUEUE_LENGTH;
        // The reader reads all the time, the stuck one never: the speaker waits for
        // the reader when its queue is full, and for the stuck one only STALL_LIMIT.
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < lines {
                let line = reader.lines.recv().await.expect("the reader stays in");
                let message: serde_json::Value = serde_json::from_str(&line).expect("JSON");
                if message["type"] == "chat" {
                    got.push(message["id"].as_u64().expect("an id"));
                }
            }
            got
        });
        for n in 0..lines {
            room.say("Ann", &n.to_string()).await.expect("a valid message");
        }
        let got = reading.await.expect("the reader");
        assert_eq!(got, (1..=lines as u64).collect::<Vec<_>>());
        assert!(stuck.put_out.try_recv().is_ok(), "the stuck one was put out");
    }
}
