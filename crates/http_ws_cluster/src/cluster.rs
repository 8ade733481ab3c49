//! Redis, through which several instances of this server share one room: what is
//! kept there, and the commands that read and change it. This file knows nothing of
//! the room (`room.rs` uses it to say things; `link.rs`, the task that keeps the
//! link, uses both). Three things live in Redis:
//!
//! - a pub/sub channel, `chat:events`: every instance publishes what happens in its
//!   part of the room there, and passes on to its clients what every instance
//!   (itself too) publishes: one order of events for everyone;
//! - who is where: a hash per instance (`chat:online:<instance>`, connection number
//!   to name) and a key that says it is alive (`chat:alive:<instance>`), which
//!   expires unless the instance renews it every second (`link::check_in`). An
//!   instance killed with `kill -9` renews nothing: within `GHOST_BOUND` the others
//!   count its people out;
//! - the history: a list capped at 100 (`chat:history`), and the counter that gives
//!   each chat line its id (`chat:next-id`).
//!
//! Redis out of reach (stopped, restarted, the network gone) splits the room: this
//! instance keeps its own clients chatting, tells them, and tries again with
//! backoff; once back, it writes who is here again, and the others see them return.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hyper::header::HeaderValue;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisResult, Script};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tracing::warn;

/// The channel every instance publishes its room's events to.
pub(crate) const CHANNEL: &str = "chat:events";
/// The shared history, and the counter that numbers its lines.
const HISTORY: &str = "chat:history";
const NEXT_ID: &str = "chat:next-id";
/// Made once, when the history begins: sent as `server-instance`, so a client can
/// tell a history that began again (Redis emptied) from one that went on.
const HISTORY_ID: &str = "chat:history-id";
/// Numbers the guests of every instance, so no two get one name.
const GUESTS: &str = "chat:guests";
/// Every instance that has joined and not yet been seen leaving.
const INSTANCES: &str = "chat:instances";

/// How often an instance checks in: says it is alive and looks at the others.
pub(crate) const CHECK_IN_EVERY: Duration = Duration::from_secs(1);
/// How long that word lasts: an instance silent for this long is taken for dead.
const ALIVE_FOR: Duration = Duration::from_secs(3);
/// The most that people of a dead instance stay counted: it last renewed its key
/// just before dying, the key lasts `ALIVE_FOR`, and the others look every
/// `CHECK_IN_EVERY`.
pub(crate) const GHOST_BOUND: Duration = ALIVE_FOR.saturating_add(CHECK_IN_EVERY);
/// A Redis that does not answer within this is treated as gone.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// A chat line, in one step that nothing can come between: its id (the next
/// number), its place in the history (capped), and its publication. The ids, the
/// history and what every instance hears are then in one order, so a client that
/// moves to another instance can ask for "everything after id N" and miss nothing.
/// `ARGV[1]` is the line as the room's clients get it, with `"id":0` (`UNSAID`),
/// and `ARGV[2]` its `Envelope`, encoded: the script sets the id in both, and
/// changes nothing else.
const SAY: &str = r#"
local id = redis.call('INCR', KEYS[1])
local chat = string.gsub(ARGV[1], '"id":0,', '"id":' .. id .. ',', 1)
local envelope = string.gsub(ARGV[2], '"id":0,', '"id":' .. id .. ',', 1)
redis.call('RPUSH', KEYS[2], chat)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('PUBLISH', ARGV[3], envelope)
return id
"#;

/// The id a chat line has until `SAY` gives it its own: no line's id is 0 (`INCR`
/// starts at 1), and it comes first after `type` in the JSON, so the script finds it.
pub(crate) const UNSAID: u64 = 0;

/// What travels on the channel: the instance that published it, and one of the
/// room's events as its clients get it (JSON with a `type`). On the wire,
/// `<instance> <event>`: an instance's name has no space. Only `encode` writes it
/// and only `decode` reads it (`SAY` sets a chat line's id in what `encode` wrote).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub(crate) instance: &'a str,
    pub(crate) event: &'a str,
}

impl<'a> Envelope<'a> {
    pub(crate) fn encode(&self) -> String {
        format!("{} {}", self.instance, self.event)
    }

    /// `None` for a payload that no instance of this room published.
    pub(crate) fn decode(payload: &'a str) -> Option<Envelope<'a>> {
        let (instance, event) = payload.split_once(' ')?;
        event.starts_with('{').then_some(Envelope { instance, event })
    }
}

/// This instance's side of the link.
pub(crate) struct Cluster {
    client: Client,
    /// This instance's name in Redis: its address and a random tag (a restarted
    /// instance on the same port must not be taken for its dead predecessor).
    pub(crate) instance: String,
    /// The connection and the history's id. One lock, held for a moment at a time
    /// and never with another (the room's are taken and let go before it is).
    state: Mutex<State>,
    /// A command failed: the link task then takes the room out of Redis.
    trouble: Notify,
    say: Script,
}

struct State {
    /// The connection commands go through while linked; `None` while split.
    connection: Option<MultiplexedConnection>,
    /// The history's id, from Redis (see `HISTORY_ID`).
    history_id: HeaderValue,
}

/// A connection to Redis with this instance subscribed to the channel.
pub(crate) struct Link {
    pub(crate) connection: MultiplexedConnection,
    pub(crate) events: PubSubStream,
}

/// Reads `--redis`: a `redis://` URL whose host is an IP address (this course dials
/// no host names).
pub(crate) fn redis_url(input: &str) -> Result<Client, String> {
    let client = Client::open(input.trim()).map_err(|err| format!("not a Redis URL: {err}"))?;
    match client.get_connection_info().addr() {
        redis::ConnectionAddr::Tcp(host, _) if host.parse::<std::net::IpAddr>().is_ok() => {
            Ok(client)
        }
        _ => Err("write redis://IP:PORT, such as redis://127.0.0.1:6379".to_string()),
    }
}

impl Cluster {
    /// Connects to Redis at startup, or says in one line what to do.
    pub(crate) async fn connect(
        client: Client,
        addr: &SocketAddr,
    ) -> anyhow::Result<(Cluster, Link)> {
        let cluster = Cluster::new(client, &addr.to_string());
        match cluster.open().await {
            Ok(link) => Ok((cluster, link)),
            Err(err) => Err(anyhow::anyhow!(cluster.cannot_start(&err))),
        }
    }

    fn new(client: Client, addr: &str) -> Cluster {
        let state = State { connection: None, history_id: HeaderValue::from_static("0") };
        Cluster {
            client,
            instance: format!("{addr}/{:04x}", fastrand::u16(..)),
            state: Mutex::new(state),
            trouble: Notify::new(),
            say: Script::new(SAY),
        }
    }

    /// The one line for a Redis that is not there at startup.
    pub(crate) fn cannot_start(&self, err: &redis::RedisError) -> String {
        format!(
            "cannot reach Redis at redis://{} ({}). Start it in another terminal: \
             redis-server --port 6379 --bind 127.0.0.1 (or point to yours: --redis redis://IP:PORT)",
            self.client.get_connection_info().addr(),
            describe(err),
        )
    }

    /// Connects to Redis and subscribes to the channel, within `REDIS_TIMEOUT`.
    pub(crate) async fn open(&self) -> RedisResult<Link> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let opening = async {
            let connection = self.client.get_multiplexed_async_connection_with_config(&config);
            let mut connection = connection.await?;
            let _: () = redis::cmd("PING").query_async(&mut connection).await?;
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok(Link { connection, events: pubsub.into_on_message() })
        };
        tokio::time::timeout(REDIS_TIMEOUT, opening).await.unwrap_or_else(|_| {
            Err(redis::RedisError::from((redis::ErrorKind::Io, "no answer in time")))
        })
    }

    /// A cluster of one that never reaches Redis: the room's own tests run split.
    #[cfg(test)]
    pub(crate) fn split_for_tests() -> Cluster {
        Cluster::new(redis_url("redis://127.0.0.1:1").expect("a URL"), "test")
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("no task panics holding the lock")
    }

    /// The connection, while linked.
    fn connection(&self) -> Option<MultiplexedConnection> {
        self.state().connection.clone()
    }

    /// Whether commands go through Redis (`false` while split).
    pub(crate) fn is_linked(&self) -> bool {
        self.state().connection.is_some()
    }

    /// From now on, commands go through `connection`, and the history's id is the one
    /// Redis keeps (made now if the history begins now).
    pub(crate) async fn link_up(&self, connection: &mut MultiplexedConnection) -> RedisResult<()> {
        let started =
            format!("{:x}", std::time::UNIX_EPOCH.elapsed().unwrap_or_default().as_millis());
        let _: bool = connection.set_nx(HISTORY_ID, started).await?;
        let id: String = connection.get(HISTORY_ID).await?;
        // `say` sends SAY by its hash only (EVALSHA, pipelined): Redis must know it.
        // A Redis that restarts forgets it, and this runs again once it is back.
        self.say.load_async(connection).await?;
        let mut state = self.state();
        if let Ok(id) = HeaderValue::from_str(&id) {
            state.history_id = id;
        }
        state.connection = Some(connection.clone());
        Ok(())
    }

    /// The link is gone: commands stop going through Redis.
    pub(crate) fn unlink(&self) {
        self.state().connection = None;
    }

    /// A command failed: tell the link task, which splits the room.
    pub(crate) fn failed(&self, err: &redis::RedisError) {
        if self.state().connection.take().is_some() {
            warn!("Redis: {}", describe(err));
            // Wakes the link task if it is waiting (see `link::while_linked`); if it
            // is not, it is already busy with the trouble.
            self.trouble.notify_waiters();
        }
    }

    /// Completes when a command fails (see `failed`).
    pub(crate) fn trouble(&self) -> Notified<'_> {
        self.trouble.notified()
    }

    /// The history's id, for `GET /api/messages`.
    pub(crate) fn history_id(&self) -> HeaderValue {
        self.state().history_id.clone()
    }

    /// The next guest number of the whole room, or `None` while split.
    pub(crate) async fn count_guest(&self) -> Option<u64> {
        let mut connection = self.connection()?;
        connection.incr(GUESTS, 1).await.inspect_err(|err| self.failed(err)).ok()
    }

    /// Publishes `text` to every instance, with the change to who is here, if any
    /// (a connection and its name, or `None` when it left), in one round trip.
    /// Returns false while split: the caller then tells the people here itself.
    pub(crate) async fn tell(&self, text: &str, presence: Option<(u64, Option<&str>)>) -> bool {
        let Some(mut connection) = self.connection() else { return false };
        let mut pipe = redis::pipe();
        match presence {
            Some((conn, Some(name))) => pipe.hset(online_key(&self.instance), conn, name).ignore(),
            Some((conn, None)) => pipe.hdel(online_key(&self.instance), conn).ignore(),
            None => &mut pipe,
        };
        pipe.publish(CHANNEL, Envelope { instance: &self.instance, event: text }.encode()).ignore();
        let sent: RedisResult<()> = pipe.query_async(&mut connection).await;
        sent.inspect_err(|err| self.failed(err)).is_ok()
    }

    /// Says chat lines through Redis (`SAY` for each), in the order given: `chats`
    /// are their JSON as the room's clients get them, with the id `UNSAID`; the
    /// history keeps the last `keep`. Returns their ids; `None` while split. All of them go in one round trip: pipelined, the
    /// commands go out one after another on one connection, and Redis runs them in
    /// that order, so the ids keep the order the lines were said in.
    pub(crate) async fn say(&self, chats: &[&str], keep: usize) -> Option<Vec<u64>> {
        let mut connection = self.connection()?;
        let mut pipe = redis::pipe();
        for chat in chats {
            let envelope = Envelope { instance: &self.instance, event: chat }.encode();
            let mut invocation = self.say.key(NEXT_ID);
            invocation.key(HISTORY).arg(*chat).arg(envelope).arg(CHANNEL).arg(keep);
            pipe.invoke_script(&invocation);
        }
        let ids = pipe.query_async(&mut connection).await;
        ids.inspect_err(|err| self.failed(err)).ok()
    }

    /// The history as Redis keeps it, oldest first; `None` while split.
    pub(crate) async fn history<T: DeserializeOwned>(&self) -> Option<Vec<T>> {
        let mut connection = self.connection()?;
        let history = read_history(&mut connection).await;
        history.inspect_err(|err| self.failed(err)).ok()
    }

    /// Writes who is here (connection number and name) into this instance's hash,
    /// afresh.
    pub(crate) async fn write_here(
        &self,
        connection: &mut MultiplexedConnection,
        here: &[(u64, String)],
    ) -> RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.del(online_key(&self.instance)).ignore();
        if !here.is_empty() {
            pipe.hset_multiple(online_key(&self.instance), here).ignore();
        }
        pipe.query_async(connection).await
    }

    /// Puts this instance on the list of instances. Returns false if it was there
    /// already; true if it was not (new, or counted out by the others while it was
    /// frozen or cut off).
    pub(crate) async fn enlist(&self, connection: &mut MultiplexedConnection) -> RedisResult<bool> {
        let added: usize = connection.sadd(INSTANCES, &self.instance).await?;
        Ok(added == 1)
    }

    /// Says this instance is alive for `ALIVE_FOR` more, and returns the others on
    /// the list, each with whether it is alive.
    pub(crate) async fn renew(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> RedisResult<Vec<(String, bool)>> {
        let me = &self.instance;
        let ms = u64::try_from(ALIVE_FOR.as_millis()).unwrap_or(u64::MAX);
        let mut pipe = redis::pipe();
        pipe.pset_ex(alive_key(me), 1, ms).ignore();
        pipe.pexpire(online_key(me), i64::try_from(ms).unwrap_or(i64::MAX)).ignore();
        pipe.smembers(INSTANCES);
        let (instances,): (BTreeSet<String>,) = pipe.query_async(&mut *connection).await?;
        let others: Vec<String> = instances.into_iter().filter(|other| other != me).collect();
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for other in &others {
            pipe.exists(alive_key(other));
        }
        let alive: Vec<bool> = pipe.query_async(&mut *connection).await?;
        Ok(others.into_iter().zip(alive).collect())
    }

    /// Takes a dead instance off the list, with its people.
    pub(crate) async fn strike_off(
        &self,
        connection: &mut MultiplexedConnection,
        instance: &str,
    ) -> RedisResult<()> {
        let mut pipe = redis::pipe();
        pipe.srem(INSTANCES, instance).del(online_key(instance));
        pipe.query_async(connection).await
    }

    /// The names of the people on `instance`.
    pub(crate) async fn names_on(
        &self,
        connection: &mut MultiplexedConnection,
        instance: &str,
    ) -> RedisResult<Vec<String>> {
        connection.hvals(online_key(instance)).await
    }

    /// Takes this instance out of Redis when it stops, so nobody waits `GHOST_BOUND`
    /// to count its people out.
    pub(crate) async fn goodbye(&self) {
        let Some(mut connection) = self.connection() else { return };
        let mut pipe = redis::pipe();
        pipe.del(alive_key(&self.instance)).del(online_key(&self.instance));
        pipe.srem(INSTANCES, &self.instance);
        let _: RedisResult<()> = pipe.query_async(&mut connection).await;
    }
}

/// The history as Redis keeps it, oldest first, through `connection`.
pub(crate) async fn read_history<T: DeserializeOwned>(
    connection: &mut MultiplexedConnection,
) -> RedisResult<Vec<T>> {
    let history: Vec<String> = connection.lrange(HISTORY, 0, -1).await?;
    Ok(history.iter().filter_map(|item| serde_json::from_str(item).ok()).collect())
}

/// A Redis error in a few words.
pub(crate) fn describe(err: &redis::RedisError) -> String {
    if err.is_connection_refusal() {
        "connection refused: nothing listens there".to_string()
    } else if err.is_timeout() {
        format!("no answer within {} s", REDIS_TIMEOUT.as_secs())
    } else {
        err.to_string()
    }
}

fn alive_key(instance: &str) -> String {
    format!("chat:alive:{instance}")
}

fn online_key(instance: &str) -> String {
    format!("chat:online:{instance}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_decodes_to_what_was_encoded() {
        let event = r#"{"type":"joined","name":"Ann B","online":2}"#;
        let envelope = Envelope { instance: "127.0.0.1:5004/2a38", event };
        let wire = envelope.encode();
        assert_eq!(wire, format!("127.0.0.1:5004/2a38 {event}"));
        assert_eq!(Envelope::decode(&wire), Some(envelope));
        assert_eq!(Envelope::decode("hello"), None);
        assert_eq!(Envelope::decode("someone else's words"), None);
    }
}
