//! The chat room of lesson 07, shared with other instances through Redis: who is
//! online here and on the others, the last lines said (a copy of the history kept in
//! Redis), and a queue of lines for every connection's task to pass on at its own
//! pace. What is said here goes to Redis (`cluster.rs`), and reaches the queues when
//! Redis passes it back (`pass_on_published`, called by the link task in `link.rs`),
//! so every instance hears everything in one order. While Redis is out of reach, the
//! room is split: this instance's people still hear each other.
//!
//! Three locks, each a plain mutex held for a moment and never across an `.await`:
//! `members`, `history` and `elsewhere`. Each is taken through its accessor
//! (`members()`, `history()`, `elsewhere()`), and the one pair ever held together
//! through `members_and_elsewhere()`, which takes `members` first; `history` is
//! never held with another. (The cluster's own lock is taken only with none of
//! these held.) One order means no two tasks can each hold the lock the other
//! waits for.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::cluster::{Cluster, UNSAID};
use crate::members::Line;
use crate::members::{self, Member, Members, check_name, offer};

/// Above this many people, joins and leaves are not announced: every notice goes to
/// everyone, so 5,000 people joining would be 12.5 million notices.
const QUIET_ABOVE: usize = 100;
/// How many chat messages `GET /api/messages` returns: the most recent.
pub(crate) const HISTORY_LENGTH: usize = 100;
/// The longest chat message, in characters.
const MAX_TEXT_CHARS: usize = 2000;
/// How many chat lines may wait to go to Redis (see `pass_to_redis`); whoever says
/// one more waits until there is room.
const SAYING_LENGTH: usize = 1024;
/// How many lines go to Redis in one round trip, at most.
const SAY_AT_ONCE: usize = 128;

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
    /// News about the room itself: split (Redis is out of reach), or whole again.
    Notice {
        text: &'a str,
    },
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
/// for each message, so a client can tell which ones it has not seen; Redis hands it
/// out, so it is the same on every instance. A message said while the room is split
/// has none: it is heard here only, and not kept.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct Chat {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<u64>,
    pub(crate) from: String,
    pub(crate) text: String,
}

/// What a message that Redis passes on is, as far as the room's records go: a chat
/// line for the history, or someone on another instance coming, going, renamed.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Event {
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
    #[serde(other)]
    Other,
}

/// The chat room: who is online, what was said lately, and a queue of lines for
/// each of them.
pub(crate) struct Room {
    /// Everyone in the room, by connection number. A plain (not async) mutex: it is
    /// held for a moment at a time and never across an `.await`.
    members: Members,
    /// The last `HISTORY_LENGTH` messages, kept in the order Redis passes them on
    /// (the order of their ids: see `Cluster::say`).
    history: Mutex<History>,
    /// How many guests have joined so far, to number their names. Redis counts them
    /// for the whole room; this count takes over while the room is split.
    guests: AtomicU64,
    /// Who is on the other instances.
    elsewhere: Mutex<Elsewhere>,
    /// The link to Redis, and through it to the other instances.
    pub(crate) cluster: Cluster,
    /// Chat lines on their way to Redis, in the order they were said, and the other
    /// end of that queue until `pass_to_redis` takes it.
    sayer: mpsc::Sender<Saying>,
    saying: Mutex<Option<mpsc::Receiver<Saying>>>,
}

/// A chat line on its way to Redis, and where its id goes.
struct Saying {
    chat: Chat,
    json: String,
    id: oneshot::Sender<Option<u64>>,
}

/// A chat line the room has taken: its place among the lines is fixed, and its id
/// comes once Redis has given it one.
pub(crate) struct Said {
    chat: Chat,
    id: oneshot::Receiver<Option<u64>>,
}

impl Said {
    /// The line with its id, once Redis has said it (no id while the room is split).
    pub(crate) async fn chat(self) -> Chat {
        let id = self.id.await.ok().flatten();
        Chat { id, ..self.chat }
    }
}

/// What a connection gets on joining: its name, how many are online with it, its
/// queue of lines, and a signal that fires if the room puts it out for not reading.
pub(crate) struct Membership {
    pub(crate) name: String,
    pub(crate) online: usize,
    pub(crate) lines: mpsc::Receiver<Line>,
    pub(crate) put_out: oneshot::Receiver<()>,
}

/// The other instances, as this one knows them.
#[derive(Default)]
struct Elsewhere {
    /// Who is on each, by instance: counted in `online`, listed by `GET
    /// /api/online`, kept up to date by what they say through Redis.
    people: BTreeMap<String, BTreeSet<String>>,
    /// Those that checking in has counted in, from their lists in Redis (see
    /// `arrived`). One heard of only through its messages (new, or back after being
    /// counted out) is counted in at the next check-in.
    counted: BTreeSet<String>,
}

/// The other instances one instance knows of, for checking in (`link.rs`).
pub(crate) struct Known {
    /// Those that checking in has counted in.
    pub(crate) counted: BTreeSet<String>,
    /// All of them: those, and those heard of only through their messages.
    pub(crate) all: BTreeSet<String>,
}

impl Elsewhere {
    fn online(&self) -> usize {
        self.people.values().map(BTreeSet::len).sum()
    }
}

struct History {
    /// Oldest first: a bounded ring, a copy of the one in Redis.
    chats: VecDeque<Chat>,
}

impl Room {
    pub(crate) fn new(cluster: Cluster) -> Room {
        let history = History { chats: VecDeque::new() };
        let (sayer, saying) = mpsc::channel(SAYING_LENGTH);
        Room {
            members: Mutex::new(BTreeMap::new()),
            history: Mutex::new(history),
            guests: AtomicU64::new(0),
            elsewhere: Mutex::new(Elsewhere::default()),
            cluster,
            sayer,
            saying: Mutex::new(Some(saying)),
        }
    }

    fn members(&self) -> MutexGuard<'_, BTreeMap<u64, Member>> {
        self.members.lock().expect("no task panics holding the lock")
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().expect("no task panics holding the lock")
    }

    /// Only with no other lock held: with `members`, use `members_and_elsewhere`.
    fn elsewhere(&self) -> MutexGuard<'_, Elsewhere> {
        self.elsewhere.lock().expect("no task panics holding the lock")
    }

    /// The one pair of locks ever held together, in the one order.
    fn members_and_elsewhere(
        &self,
    ) -> (MutexGuard<'_, BTreeMap<u64, Member>>, MutexGuard<'_, Elsewhere>) {
        let members = self.members();
        (members, self.elsewhere())
    }

    /// Adds a connection to the room under a guest name, and tells everyone (the
    /// newcomer too: its queue is in place first).
    pub(crate) async fn join(&self, conn: u64) -> Membership {
        // Redis numbers the guests of every instance, so that no two have one name.
        let number = match self.cluster.count_guest().await {
            Some(number) => self.guests.fetch_max(number, Ordering::Relaxed).max(number),
            None => self.guests.fetch_add(1, Ordering::Relaxed) + 1,
        };
        let name = format!("guest-{number}");
        let (member, lines, put_out) = Member::new(name.clone());
        let (text, online) = {
            let (mut members, elsewhere) = self.members_and_elsewhere();
            members.insert(conn, member);
            let online = members.len() + elsewhere.online();
            (ServerMessage::Joined { name: &name, online }.to_json(), online)
        };
        self.tell(&text, Some((conn, Some(&name))), online <= QUIET_ABOVE).await;
        Membership { name, online, lines, put_out }
    }

    /// Removes a connection, however it ended, and tells everyone who is left. This
    /// runs for every connection that joined, so the count stays right even when a
    /// client vanishes without a word.
    pub(crate) async fn leave(&self, conn: u64) {
        let (text, online) = {
            let (mut members, elsewhere) = self.members_and_elsewhere();
            let Some(member) = members.remove(&conn) else { return };
            let online = members.len() + elsewhere.online();
            (ServerMessage::Left { name: &member.name, online }.to_json(), online)
        };
        self.tell(&text, Some((conn, None)), online < QUIET_ABOVE).await;
    }

    /// Renames a connection, if the new name is valid and free here and, as far as
    /// this instance knows, on the others.
    pub(crate) async fn rename(&self, conn: u64, new: &str) -> Result<(), String> {
        check_name(new)?;
        let text = {
            let (mut members, elsewhere) = self.members_and_elsewhere();
            if members.iter().any(|(other, member)| member.name == new && *other != conn)
                || elsewhere.people.values().any(|names| names.contains(new))
            {
                return Err(format!("{new} is taken"));
            }
            let member = members.get_mut(&conn).expect("a connection renames only while in");
            let text = ServerMessage::Renamed { old: &member.name, new }.to_json();
            member.name = new.to_string();
            text
        };
        self.tell(&text, Some((conn, Some(new))), true).await;
        Ok(())
    }

    /// Passes a chat message to everyone, from a WebSocket client or from `POST
    /// /api/messages`. It joins the queue to Redis (`pass_to_redis`) and returns: a
    /// client's next line need not wait for Redis to answer about this one, and its
    /// order is fixed. A full queue is waited for.
    pub(crate) async fn say(&self, from: &str, text: &str) -> Result<Said, String> {
        check_name(from)?;
        if text.trim().is_empty() {
            return Err("the text is empty".to_string());
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("the text is longer than {MAX_TEXT_CHARS} characters"));
        }
        let chat = Chat { id: None, from: from.to_string(), text: text.to_string() };
        // As the room's clients will get it, with the id Redis replaces (`SAY`).
        let unsaid = Chat { id: Some(UNSAID), ..chat.clone() };
        let json = ServerMessage::Chat(&unsaid).to_json();
        let (id_tx, id) = oneshot::channel();
        // The queue lasts as long as the room: sending cannot fail.
        let _ = self.sayer.send(Saying { chat: chat.clone(), json, id: id_tx }).await;
        Ok(Said { chat, id })
    }

    /// Passes the lines said here to Redis, as many as are waiting in one round trip
    /// (`Cluster::say`): Redis gives each its id, keeps it in the history and passes
    /// it on. While the room is split, they are heard here only, as in lesson 07 (a
    /// full queue is waited for at most `STALL_LIMIT`). Runs as long as the room (the
    /// link task runs it beside its own work).
    pub(crate) async fn pass_to_redis(&self) {
        let taken = self.saying.lock().expect("no task panics holding the lock").take();
        let Some(mut saying) = taken else { return };
        let mut batch = Vec::with_capacity(SAY_AT_ONCE);
        while saying.recv_many(&mut batch, SAY_AT_ONCE).await > 0 {
            let chats: Vec<&str> = batch.iter().map(|line| line.json.as_str()).collect();
            let ids = self.cluster.say(&chats, HISTORY_LENGTH).await;
            for (n, line) in batch.drain(..).enumerate() {
                let id = ids.as_ref().and_then(|ids| ids.get(n).copied());
                if id.is_none() {
                    self.tell_here(&ServerMessage::Chat(&line.chat).to_json(), true).await;
                }
                let _ = line.id.send(id);
            }
        }
    }

    /// Message `id`, if it is still in the history: Redis's, which has it as soon as
    /// it is said (this instance's copy has it only once Redis has passed it on);
    /// while the room is split, this instance's copy.
    pub(crate) async fn message(&self, id: u64) -> Option<Chat> {
        if let Some(history) = self.cluster.history::<Chat>().await {
            return history.into_iter().find(|chat| chat.id == Some(id));
        }
        self.history().chats.iter().find(|chat| chat.id == Some(id)).cloned()
    }

    /// The history's id, the same on every instance (see `cluster.rs`): lesson 08's
    /// client compares it to tell a new history.
    pub(crate) fn history_id(&self) -> HeaderValue {
        self.cluster.history_id()
    }

    /// The recent history as a JSON array, oldest first: Redis's, which has a line as
    /// soon as it is said; while the room is split, this instance's copy. The copy
    /// has a line only once Redis has passed it on, and a client that has just moved
    /// here (lesson 08's catch-up, asked through a proxy that may choose another
    /// instance) would miss a line said a moment before it joined.
    pub(crate) async fn history_json(&self) -> String {
        if let Some(history) = self.cluster.history::<Chat>().await {
            return serde_json::to_string(&history).expect("chats always serialize");
        }
        serde_json::to_string(&self.history().chats).expect("chats always serialize")
    }

    /// The names of everyone online, here and on the other instances, as a JSON array.
    pub(crate) fn online_json(&self) -> String {
        let (members, elsewhere) = self.members_and_elsewhere();
        let here = members.values().map(|member| &member.name);
        let names: Vec<&String> = here.chain(elsewhere.people.values().flatten()).collect();
        serde_json::to_string(&names).expect("names serialize")
    }

    /// Tells everyone: through Redis (with the change to who is here, `presence`),
    /// or, while the room is split, the people here.
    async fn tell(&self, text: &str, presence: Option<(u64, Option<&str>)>, loud: bool) {
        if !self.cluster.tell(text, presence).await {
            self.tell_here(text, loud).await;
        }
    }

    /// Tells the people on this instance, if `loud`.
    async fn tell_here(&self, text: &str, loud: bool) {
        let waiting = offer(&self.members(), None, text, loud);
        members::wait_for(&self.members, waiting, text).await;
    }

    /// A message Redis passed on, from `instance` (this one too): noted in the
    /// history or in who is where, then passed to everyone here.
    pub(crate) async fn pass_on_published(&self, instance: &str, text: &str) {
        let Ok(event) = serde_json::from_str::<Event>(text) else {
            warn!("a message from {instance} that this room does not understand: {text}");
            return;
        };
        let loud = self.record(instance, event);
        self.tell_here(text, loud).await;
    }

    /// Records what an event changes: the history, or who is on another instance.
    /// Returns whether to pass it on (joins and leaves are quiet in a big room).
    fn record(&self, instance: &str, event: Event) -> bool {
        let from_another = instance != self.cluster.instance;
        if let Event::Chat(chat) = event {
            self.remember(chat);
            return true;
        }
        let mut elsewhere = self.elsewhere();
        let others = &mut elsewhere.people;
        match event {
            Event::Chat(_) | Event::Other => true,
            Event::Joined { name, online } => {
                if from_another {
                    others.entry(instance.to_string()).or_default().insert(name);
                }
                online <= QUIET_ABOVE
            }
            Event::Left { name, online } => {
                if from_another && let Some(names) = others.get_mut(instance) {
                    names.remove(&name);
                }
                online < QUIET_ABOVE
            }
            Event::Renamed { old, new } => {
                if from_another && let Some(names) = others.get_mut(instance) {
                    names.remove(&old);
                    names.insert(new);
                }
                true
            }
        }
    }

    /// Keeps a chat line from Redis in the copy of the history, unless it is there.
    fn remember(&self, chat: Chat) {
        let mut history = self.history();
        if chat.id <= history.chats.back().and_then(|newest| newest.id) {
            return;
        }
        if history.chats.len() == HISTORY_LENGTH {
            history.chats.pop_front();
        }
        history.chats.push_back(chat);
    }

    /// Replaces the copy of the history with Redis's, after (re)joining it.
    pub(crate) fn load_history(&self, chats: impl IntoIterator<Item = Chat>) {
        self.history().chats = chats.into_iter().collect();
    }

    /// How many are online, here and on the other instances.
    fn online(&self) -> usize {
        let (members, elsewhere) = self.members_and_elsewhere();
        members.len() + elsewhere.online()
    }

    /// Everyone here, by connection number: what this instance writes to Redis when
    /// it (re)joins, so that the others count them.
    pub(crate) fn here(&self) -> Vec<(u64, String)> {
        self.members().iter().map(|(conn, member)| (*conn, member.name.clone())).collect()
    }

    /// The other instances this one knows of (`Known`).
    pub(crate) fn known(&self) -> Known {
        let elsewhere = self.elsewhere();
        let all = elsewhere.counted.iter().chain(elsewhere.people.keys()).cloned().collect();
        Known { counted: elsewhere.counted.clone(), all }
    }

    /// Another instance showed up (a new one, or one back from a split) with these
    /// people on it: counted from now on, and, if `announce`, introduced here.
    pub(crate) async fn arrived(&self, instance: &str, names: Vec<String>, announce: bool) {
        {
            let mut elsewhere = self.elsewhere();
            elsewhere.counted.insert(instance.into());
            elsewhere.people.entry(instance.into()).or_default();
        }
        for name in names {
            let online = {
                let (members, mut elsewhere) = self.members_and_elsewhere();
                let names = elsewhere.people.entry(instance.to_string()).or_default();
                if !names.insert(name.clone()) {
                    continue;
                }
                members.len() + elsewhere.online()
            };
            if announce {
                let text = ServerMessage::Joined { name: &name, online }.to_json();
                self.tell_here(&text, online <= QUIET_ABOVE).await;
            }
        }
    }

    /// Another instance stopped checking in (killed, frozen, cut off from Redis): its
    /// people are no longer counted, and everyone here is told they left.
    pub(crate) async fn gone(&self, instance: &str) {
        let names = {
            let mut elsewhere = self.elsewhere();
            elsewhere.counted.remove(instance);
            elsewhere.people.remove(instance).unwrap_or_default()
        };
        let online = self.online();
        // One by one, as if they left one after another: the count goes down to the
        // right one.
        for (still, name) in names.iter().enumerate().rev() {
            let online = online + still;
            let text = ServerMessage::Left { name, online }.to_json();
            self.tell_here(&text, online < QUIET_ABOVE).await;
        }
    }

    /// Redis is out of reach: from now on, only the people here hear each other.
    pub(crate) async fn split(&self) {
        *self.elsewhere() = Elsewhere::default();
        let online = self.members().len();
        let text = format!(
            "the room is split: this server lost Redis, so only the {online} online here hear you"
        );
        self.tell_here(&ServerMessage::Notice { text: &text }.to_json(), true).await;
    }

    /// Redis is back: everyone hears everyone again.
    pub(crate) async fn whole(&self) {
        let online = self.online();
        let text = format!("the room is whole again: {online} online");
        self.tell_here(&ServerMessage::Notice { text: &text }.to_json(), true).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::QUEUE_LENGTH;

    /// The room, with its lines on their way to Redis (split here: to the people here).
    fn passing_to_redis(room: Room) -> std::sync::Arc<Room> {
        let room = std::sync::Arc::new(room);
        let passing = std::sync::Arc::clone(&room);
        tokio::spawn(async move { passing.pass_to_redis().await });
        room
    }

    fn chat(id: u64) -> Chat {
        Chat { id: Some(id), from: "Ann".to_string(), text: id.to_string() }
    }

    #[tokio::test]
    async fn the_history_keeps_the_last_messages_once_each() {
        let room = passing_to_redis(Room::new(Cluster::split_for_tests()));
        assert!(room.say("Ann", "  ").await.is_err_and(|why| why == "the text is empty"));
        assert!(room.say("Ann", &"x".repeat(MAX_TEXT_CHARS + 1)).await.is_err());
        // Split, a line has no id and is not kept: Redis's history is the history.
        assert_eq!(room.say("Ann", "hi").await.expect("a valid line").chat().await.id, None);
        for id in 1..=HISTORY_LENGTH as u64 + 5 {
            room.remember(chat(id));
            room.remember(chat(id));
        }
        let history: Vec<serde_json::Value> =
            serde_json::from_str(&room.history_json().await).expect("JSON");
        assert_eq!(history.len(), HISTORY_LENGTH);
        assert_eq!(history[0]["id"], 6);
        assert_eq!(history[HISTORY_LENGTH - 1]["id"], HISTORY_LENGTH as u64 + 5);
    }

    /// The next line in a member's queue.
    fn next(member: &mut Membership) -> String {
        member.lines.try_recv().map(|line| line.to_string()).unwrap_or_default()
    }

    #[tokio::test]
    async fn another_instance_is_counted_in_and_out_one_by_one() {
        let room = Room::new(Cluster::split_for_tests());
        let mut here = room.join(1).await;
        assert_eq!(next(&mut here), r#"{"type":"joined","name":"guest-1","online":1}"#);
        room.arrived("B", vec!["ann".into(), "bob".into()], true).await;
        assert_eq!(next(&mut here), r#"{"type":"joined","name":"ann","online":2}"#);
        assert_eq!(next(&mut here), r#"{"type":"joined","name":"bob","online":3}"#);
        assert_eq!(room.online_json(), r#"["guest-1","ann","bob"]"#);
        // Heard of again (its next check-in): nobody is introduced twice.
        room.arrived("B", vec!["ann".into(), "bob".into()], true).await;
        assert!(here.lines.is_empty());
        assert_eq!(room.rename(1, "bob").await, Err("bob is taken".to_string()));
        room.gone("B").await;
        assert_eq!(next(&mut here), r#"{"type":"left","name":"bob","online":2}"#);
        assert_eq!(next(&mut here), r#"{"type":"left","name":"ann","online":1}"#);
        assert_eq!(room.online_json(), r#"["guest-1"]"#);
    }

    #[tokio::test]
    async fn a_reader_gets_every_line_and_a_non_reader_is_put_out() {
        let room = passing_to_redis(Room::new(Cluster::split_for_tests()));
        let mut reader = room.join(1).await;
        let mut stuck = room.join(2).await;
        let lines = 3 * QUEUE_LENGTH;
        // The reader reads all the time, the stuck one never: the speaker waits for
        // the reader when its queue is full, and for the stuck one only STALL_LIMIT.
        let reading = tokio::spawn(async move {
            let mut got: Vec<usize> = Vec::new();
            while got.len() < lines {
                let line = reader.lines.recv().await.expect("the reader stays in");
                let message: serde_json::Value = serde_json::from_str(&line).expect("JSON");
                if message["type"] == "chat" {
                    got.push(message["text"].as_str().expect("a text").parse().expect("a number"));
                }
            }
            got
        });
        for n in 0..lines {
            room.say("Ann", &n.to_string()).await.expect("a valid message");
        }
        let got = reading.await.expect("the reader");
        assert_eq!(got, (0..lines).collect::<Vec<_>>());
        assert!(stuck.put_out.try_recv().is_ok(), "the stuck one was put out");
    }
}
