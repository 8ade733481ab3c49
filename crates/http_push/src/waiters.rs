//! Lesson 07's room, with what a listener that is not in it needs: the lines said
//! after a given one (`since`), and a signal that something was said (`said`).
//!
//! A WebSocket or an event stream joins the room and gets every line through its
//! queue. A poll is a question and an answer, not a member: it asks the history
//! for what is new, and a long poll waits on `said` until there is something.
//! Everything else is lesson 07's `Room`, which this one derefs to, so that the
//! files carried from lesson 07 (`api.rs`, `chat.rs`, `routes.rs`) use it as theirs:
//! `main.rs` names this file `room`.

use std::ops::Deref;

use serde::Deserialize;
use tokio::sync::watch;

use crate::chat_room;
pub(crate) use crate::chat_room::{Chat, ClientMessage, Membership, ServerMessage};

pub(crate) struct Room {
    room: chat_room::Room,
    /// The id of the newest line said. A `watch` channel keeps one value and wakes
    /// whoever waits on it when the value changes; a waiter that comes late still
    /// reads the newest value, so no change is missed.
    newest: watch::Sender<u64>,
}

impl Room {
    pub(crate) fn new() -> Room {
        Room { room: chat_room::Room::new(), newest: watch::channel(0).0 }
    }

    /// Says a line, as lesson 07's room does, then wakes the long polls. The line is
    /// in the history before they wake, so what they read there includes it.
    pub(crate) async fn say(&self, from: &str, text: &str) -> Result<Chat, String> {
        let chat = self.room.say(from, text).await?;
        // Two lines said at once may finish in either order: keep the larger id.
        self.newest.send_if_modified(|newest| {
            let newer = chat.id > *newest;
            if newer {
                *newest = chat.id;
            }
            newer
        });
        Ok(chat)
    }

    /// A receiver that changes whenever a line is said: subscribe before reading
    /// the history, so that a line said between the two is not missed.
    pub(crate) fn said(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }

    /// The lines of the history after line `after`, oldest first.
    pub(crate) fn since(&self, after: u64) -> Vec<Chat> {
        #[derive(Deserialize)]
        struct Kept {
            id: u64,
            from: String,
            text: String,
        }
        let history: Vec<Kept> =
            serde_json::from_str(&self.room.history_json()).expect("the room's own JSON");
        history
            .into_iter()
            .filter(|kept| kept.id > after)
            .map(|Kept { id, from, text }| Chat { id, from, text })
            .collect()
    }
}

impl Deref for Room {
    type Target = chat_room::Room;
    fn deref(&self) -> &chat_room::Room {
        &self.room
    }
}
