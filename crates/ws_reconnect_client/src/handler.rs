//! The events of a WebSocket client, as browsers and most libraries present them:
//! `on_open`, `on_message`, `on_error`, `on_close`. The connection code in `main.rs`
//! calls them; what they do (here: print) is up to the handler.

use serde::Deserialize;
use tracing::{info, warn};

/// What lesson 07's server sends, as JSON with a `type` field.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMessage {
    Welcome { name: String, online: usize },
    Chat(Chat),
    Joined { name: String, online: usize },
    Left { name: String, online: usize },
    Renamed { old: String, new: String },
    Error { message: String },
}

/// A chat message. `id` grows by one for each message the server sees.
#[derive(Deserialize, Debug)]
pub struct Chat {
    pub id: u64,
    pub from: String,
    pub text: String,
}

/// What a client does when something happens on its connection.
pub trait Handler {
    /// The connection is open and the server has answered 101.
    fn on_open(&mut self, url: &str);
    /// A message arrived.
    fn on_message(&mut self, message: ServerMessage);
    /// Something went wrong: the connection failed, or broke, or the server sent
    /// something we do not understand.
    fn on_error(&mut self, error: &str);
    /// The connection is over, for the reason given.
    fn on_close(&mut self, why: &str);
}

/// Prints chat lines to stdout and the connection's ups and downs to stderr, and
/// remembers the newest message it has shown, so that after a reconnect it can
/// show only what it missed.
#[derive(Default)]
pub struct Printer {
    pub last_id: u64,
}

impl Printer {
    /// Prints a chat message unless it was shown already (the history fetched over
    /// HTTP and the live stream can overlap).
    pub fn show_chat(&mut self, chat: &Chat) {
        if chat.id > self.last_id {
            self.last_id = chat.id;
            println!("{}: {}", chat.from, chat.text);
        }
    }
}

impl Handler for Printer {
    fn on_open(&mut self, url: &str) {
        info!("Connected to {url}");
    }

    fn on_message(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome { name, online } => {
                println!("* you are {name} ({online} online)");
            }
            ServerMessage::Chat(chat) => self.show_chat(&chat),
            ServerMessage::Joined { name, online } => println!("* {name} joined ({online} online)"),
            ServerMessage::Left { name, online } => println!("* {name} left ({online} online)"),
            ServerMessage::Renamed { old, new } => println!("* {old} is now {new}"),
            ServerMessage::Error { message } => println!("* the server says: {message}"),
        }
    }

    fn on_error(&mut self, error: &str) {
        warn!("{error}");
    }

    fn on_close(&mut self, why: &str) {
        warn!("Disconnected: {why}");
    }
}
