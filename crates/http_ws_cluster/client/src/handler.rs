//! The events of a WebSocket client, as browsers and most libraries present them:
//! `on_open`, `on_message`, `on_error`, `on_close`, and here `on_history` for what
//! came over HTTP. The connection code in `main.rs` calls them and knows nothing of
//! what they do; what they do (here: print) is all in this file. A browser takes
//! them as callbacks (`ws.onmessage = ...`); in Rust, methods of one type will do.

use serde::Deserialize;
use tracing::{info, warn};

/// What lesson 07's server sends, as JSON with a `type` field.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum ServerMessage {
    Welcome {
        name: String,
        online: usize,
    },
    Chat(Chat),
    Joined {
        name: String,
        online: usize,
    },
    Left {
        name: String,
        online: usize,
    },
    Renamed {
        old: String,
        new: String,
    },
    Error {
        message: String,
    },
    /// News about the room (lesson 09): split when its server lost Redis, or whole.
    Notice {
        text: String,
    },
}

/// A chat message. `id` grows by one for each message the server sees. Lesson 09
/// sends none for a line said while its room is split: it is heard once, and not
/// kept in the history.
#[derive(Deserialize, Debug)]
pub(crate) struct Chat {
    pub(crate) id: Option<u64>,
    pub(crate) from: String,
    pub(crate) text: String,
}

/// What `GET /api/messages` answers (`http.rs` asks).
pub(crate) struct History {
    /// The recent chat messages, oldest first.
    pub(crate) chats: Vec<Chat>,
    /// The server's `server-instance` header: new every time it starts.
    pub(crate) instance: Option<String>,
}

/// Prints chat lines to stdout and the connection's ups and downs to stderr, and
/// remembers the newest message it has shown, so that after a reconnect it can
/// show only what it missed.
#[derive(Default)]
pub(crate) struct Printer {
    /// The id of the newest chat message shown.
    last_id: u64,
    /// The history we saw last, if any yet.
    seen: Seen,
}

/// Whether a history has come yet, and which: a server names each history with its
/// `server-instance` header (a server that sends none leaves it `None`).
#[derive(Default)]
enum Seen {
    #[default]
    NoHistoryYet,
    History {
        instance: Option<String>,
    },
}

impl Printer {
    /// Prints a chat message unless it was shown already (the history fetched over
    /// HTTP and the live stream can overlap).
    fn show_chat(&mut self, chat: &Chat) {
        match chat.id {
            Some(id) if id <= self.last_id => {}
            Some(id) => {
                self.last_id = id;
                common::println!("{}: {}", chat.from, chat.text);
            }
            None => common::println!("{}: {}", chat.from, chat.text),
        }
    }
}

impl Printer {
    /// The history fetched over HTTP: at the start, and before each reconnect. The
    /// second time on, it shows the messages sent while we were away.
    pub(crate) fn on_history(&mut self, history: History) {
        if let Seen::History { instance } = &self.seen {
            if restarted(instance.as_deref(), self.last_id, &history) {
                common::println!("* the server restarted: its history starts again");
                self.last_id = 0;
            }
            let missed = history.chats.iter().filter(|chat| chat.id > Some(self.last_id)).count();
            if missed > 0 {
                common::println!("* {missed} messages while you were away:");
            }
        }
        self.seen = Seen::History { instance: history.instance };
        history.chats.iter().for_each(|chat| self.show_chat(chat));
    }

    pub(crate) fn on_open(&mut self, url: &str) {
        info!("Connected to {url}");
    }

    pub(crate) fn on_message(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome { name, online } => {
                common::println!("* you are {name} ({online} online)");
            }
            ServerMessage::Chat(chat) => self.show_chat(&chat),
            ServerMessage::Joined { name, online } => {
                common::println!("* {name} joined ({online} online)");
            }
            ServerMessage::Left { name, online } => {
                common::println!("* {name} left ({online} online)");
            }
            ServerMessage::Renamed { old, new } => common::println!("* {old} is now {new}"),
            ServerMessage::Error { message } => common::println!("* the server says: {message}"),
            ServerMessage::Notice { text } => common::println!("* {text}"),
        }
    }

    pub(crate) fn on_error(&mut self, error: &str) {
        warn!("{error}");
    }

    pub(crate) fn on_close(&mut self, why: &str) {
        warn!("Disconnected: {why}");
    }
}

/// Whether the server restarted since the history we saw last, from run `instance`
/// with newest message `last_id`. A server that restarted has a new instance and a
/// history that began again (ids from 1), so every message in it is new to us.
/// Comparing ids alone would miss a restart after which the new server already has
/// as many messages as we saw; ids going back is the sign we keep for a server that
/// sends no instance.
fn restarted(instance: Option<&str>, last_id: u64, history: &History) -> bool {
    let newest = history.chats.last().and_then(|chat| chat.id).unwrap_or(0);
    let new_instance = history.instance.is_some() && history.instance.as_deref() != instance;
    new_instance || newest < last_id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(instance: Option<&str>, ids: &[u64]) -> History {
        let chats = ids
            .iter()
            .map(|&id| Chat { id: Some(id), from: "a".to_string(), text: "hi".to_string() })
            .collect();
        History { chats, instance: instance.map(str::to_string) }
    }

    #[test]
    fn the_same_server_with_more_messages_did_not_restart() {
        assert!(!restarted(Some("a1"), 3, &history(Some("a1"), &[2, 3, 4, 5])));
    }

    #[test]
    fn a_new_instance_is_a_restart_even_with_as_many_messages() {
        assert!(restarted(Some("a1"), 3, &history(Some("b2"), &[1, 2, 3])));
    }

    #[test]
    fn without_instances_ids_going_back_is_a_restart() {
        assert!(restarted(None, 3, &history(None, &[1])));
        assert!(!restarted(None, 3, &history(None, &[3, 4])));
    }

    #[test]
    fn a_message_shown_once_is_not_shown_again() {
        let mut printer = Printer::default();
        printer.on_history(history(Some("a1"), &[1, 2]));
        assert_eq!(printer.last_id, 2);
        printer.on_history(history(Some("a1"), &[1, 2, 3]));
        assert_eq!(printer.last_id, 3);
        printer.on_history(history(Some("b2"), &[1]));
        assert_eq!(printer.last_id, 1, "after a restart, the count starts again");
    }
}
