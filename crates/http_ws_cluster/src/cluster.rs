//! The link to Redis, through which several instances of this server share one
//! room. Three things live in Redis:
//!
//! - a pub/sub channel, `chat:events`: every instance publishes what happens in its
//!   part of the room there, and passes on to its clients what every instance
//!   (itself too) publishes: one order of events for everyone;
//! - who is where: a hash per instance (`chat:online:<instance>`, connection number
//!   to name) and a key that says it is alive (`chat:alive:<instance>`), which
//!   expires unless the instance renews it every second. An instance killed with
//!   `kill -9` renews nothing: within `GHOST_BOUND` the others count its people out;
//! - the history: a list capped at 100 (`chat:history`), and the counter that gives
//!   each chat line its id (`chat:next-id`).
//!
//! Redis out of reach (stopped, restarted, the network gone) splits the room: this
//! instance keeps its own clients chatting, tells them, and tries again with
//! backoff; once back, it writes who is here again, and the others see them return.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use hyper::header::HeaderValue;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisResult, Script};
use tokio::sync::{Notify, mpsc};
use tracing::{info, warn};

use crate::Shared;
use crate::room::{Chat, HISTORY_LENGTH, Room};

/// The channel every instance publishes its room's events to.
const CHANNEL: &str = "chat:events";
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

/// How often an instance says it is alive and looks at the others.
const BEAT: Duration = Duration::from_secs(1);
/// How long that word lasts: an instance silent for this long is taken for dead.
const ALIVE_FOR: Duration = Duration::from_secs(3);
/// The most that people of a dead instance stay counted: it last renewed its key
/// just before dying, the key lasts `ALIVE_FOR`, and the others look every `BEAT`.
const GHOST_BOUND: Duration = ALIVE_FOR.saturating_add(BEAT);
/// How many events an instance may be behind Redis, waiting to be passed on to its
/// clients. Further behind (its clients read slower than the room talks, for long),
/// it leaves the room and joins it again, as Redis cuts off a subscriber that does
/// not read: what waits in its memory stays bounded.
const MOST_BEHIND: usize = 4096;
/// A Redis that does not answer within this is treated as gone.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnecting to Redis waits twice as long after each failure, up to this.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// A chat line, in one step that nothing can come between: its id (the next
/// number), its place in the history (capped), and its publication. The ids, the
/// history and what every instance hears are then in one order, so a client that
/// moves to another instance can ask for "everything after id N" and miss nothing.
/// `ARGV[1]` is the line as JSON without its id, `{"from":...,"text":...}`.
const SAY: &str = r#"
local id = redis.call('INCR', KEYS[1])
local chat = '{"id":' .. id .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], chat)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' {"type":"chat",' .. string.sub(chat, 2))
return id
"#;

/// This instance's side of the link.
pub(crate) struct Cluster {
    client: Client,
    /// This instance's name in Redis: its address and a random tag (a restarted
    /// instance on the same port must not be taken for its dead predecessor).
    pub(crate) instance: String,
    /// The connection commands go through while linked; `None` while split.
    link: Mutex<Option<MultiplexedConnection>>,
    /// A command failed: the link task then takes the room out of Redis.
    trouble: Notify,
    /// The history's id, from Redis (see `HISTORY_ID`).
    history_id: Mutex<HeaderValue>,
    say: Script,
}

/// A connection to Redis with this instance subscribed to the channel.
pub(crate) struct Link {
    connection: MultiplexedConnection,
    events: PubSubStream,
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
    /// Connects to Redis at startup, or ends the program with one line that says what
    /// to do.
    pub(crate) async fn start(client: Client, addr: &std::net::SocketAddr) -> (Cluster, Link) {
        let cluster = Cluster::new(client, &addr.to_string());
        match cluster.open().await {
            Ok(link) => (cluster, link),
            Err(err) => cluster.cannot_start(&err),
        }
    }

    fn new(client: Client, addr: &str) -> Cluster {
        Cluster {
            client,
            instance: format!("{addr}/{:04x}", fastrand::u16(..)),
            link: Mutex::new(None),
            trouble: Notify::new(),
            history_id: Mutex::new(HeaderValue::from_static("0")),
            say: Script::new(SAY),
        }
    }

    /// The one line for a Redis that is not there at startup, and the exit.
    fn cannot_start(&self, err: &redis::RedisError) -> ! {
        eprintln!(
            "error: cannot reach Redis at redis://{} ({}). Start it in another terminal: \
             redis-server --port 6379 --bind 127.0.0.1 (or point to yours: --redis redis://IP:PORT)",
            self.client.get_connection_info().addr(),
            describe(err),
        );
        std::process::exit(1);
    }

    /// Connects to Redis and subscribes to the channel, within `REDIS_TIMEOUT`.
    async fn open(&self) -> RedisResult<Link> {
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

    /// The connection, while linked.
    fn connection(&self) -> Option<MultiplexedConnection> {
        self.link.lock().expect("no task panics holding the lock").clone()
    }

    /// A command failed: tell the link task, which splits the room.
    fn failed(&self, err: &redis::RedisError) {
        if self.link.lock().expect("no task panics holding the lock").take().is_some() {
            warn!("Redis: {}", describe(err));
            // Wakes the link task if it is waiting (see `stay`); if it is not, it is
            // already busy with the trouble.
            self.trouble.notify_waiters();
        }
    }

    /// The history's id, for `GET /api/messages`.
    pub(crate) fn history_id(&self) -> HeaderValue {
        self.history_id.lock().expect("no task panics holding the lock").clone()
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
        pipe.publish(CHANNEL, format!("{} {text}", self.instance)).ignore();
        let sent: RedisResult<()> = pipe.query_async(&mut connection).await;
        sent.inspect_err(|err| self.failed(err)).is_ok()
    }

    /// Says a chat line through Redis (`SAY`), and returns its id; `None` while split.
    pub(crate) async fn say(&self, chat: &Chat) -> Option<u64> {
        let mut connection = self.connection()?;
        let json = serde_json::to_string(chat).expect("a chat serializes");
        let mut invocation = self.say.key(NEXT_ID);
        invocation.key(HISTORY).arg(json).arg(CHANNEL).arg(&self.instance).arg(HISTORY_LENGTH);
        let id = invocation.invoke_async(&mut connection).await;
        id.inspect_err(|err| self.failed(err)).ok()
    }

    /// The history as Redis keeps it; `None` while split.
    pub(crate) async fn history(&self) -> Option<Vec<Chat>> {
        let mut connection = self.connection()?;
        let history: RedisResult<Vec<String>> = connection.lrange(HISTORY, 0, -1).await;
        let history = history.inspect_err(|err| self.failed(err)).ok()?;
        Some(history.iter().filter_map(|chat| serde_json::from_str(chat).ok()).collect())
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

/// A Redis error in a few words.
fn describe(err: &redis::RedisError) -> String {
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

/// Joins the room in Redis at startup (see `rejoin`), or ends the program.
pub(crate) async fn join(room: &Room, link: &Link) {
    if let Err(err) = rejoin(room, link.connection.clone(), false).await {
        room.cluster.cannot_start(&err);
    }
}

/// The link task: passes on what Redis publishes and beats (`stay`); when Redis
/// goes away, splits the room, reconnects with backoff and heals it. Runs until the
/// server stops (`main` aborts it).
pub(crate) async fn run(shared: Arc<Shared>, mut link: Link) {
    let room = &shared.room;
    loop {
        stay(room, link).await;
        *room.cluster.link.lock().expect("no task panics holding the lock") = None;
        warn!("Lost Redis: the room is split; trying again with backoff");
        room.split().await;
        link = reconnect(room).await;
    }
}

/// Tries Redis again and again, waiting twice as long each time (up to
/// `MOST_BACKOFF`), until it answers and the room is whole again.
async fn reconnect(room: &Room) -> Link {
    let mut wait = Duration::from_millis(250);
    loop {
        // Half to all of `wait`, at random (jitter), as lesson 08 does: several
        // instances must not all knock at once when Redis comes back.
        tokio::time::sleep(wait.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
        wait = (wait * 2).min(MOST_BACKOFF);
        let opened = room.cluster.open().await;
        match opened {
            Ok(link) => match rejoin(room, link.connection.clone(), true).await {
                Ok(()) => return link,
                Err(err) => room.cluster.failed(&err),
            },
            Err(err) => info!("Redis still out of reach: {}", describe(&err)),
        }
    }
}

/// Joins (or, after a split, rejoins) the room in Redis: the link is used from
/// now on, this instance's people are written in again, the history is read, the
/// others are counted, and after a split everyone here hears that the room is whole.
async fn rejoin(
    room: &Room,
    mut connection: MultiplexedConnection,
    healing: bool,
) -> RedisResult<()> {
    let started = format!("{:x}", std::time::UNIX_EPOCH.elapsed().unwrap_or_default().as_millis());
    let _: bool = connection.set_nx(HISTORY_ID, started).await?;
    let id: String = connection.get(HISTORY_ID).await?;
    if let Ok(id) = HeaderValue::from_str(&id) {
        *room.cluster.history_id.lock().expect("no task panics holding the lock") = id;
    }
    // From here on, joins and lines go through Redis; then everyone already here is
    // written in (a join meanwhile writes itself too: writing twice does no harm).
    *room.cluster.link.lock().expect("no task panics holding the lock") = Some(connection.clone());
    write_here(room, &mut connection).await?;
    let history: Vec<String> = connection.lrange(HISTORY, 0, -1).await?;
    room.load_history(history.iter().filter_map(|chat| serde_json::from_str(chat).ok()));
    beat(room, &mut connection, false).await?;
    info!("Joined the room in Redis as {}", room.cluster.instance);
    if healing {
        info!("Redis is back: the room is whole again");
        room.whole().await;
    }
    Ok(())
}

/// Writes everyone here into this instance's hash in Redis, afresh.
async fn write_here(room: &Room, connection: &mut MultiplexedConnection) -> RedisResult<()> {
    let here = room.here();
    let mut pipe = redis::pipe();
    pipe.del(online_key(&room.cluster.instance)).ignore();
    if !here.is_empty() {
        pipe.hset_multiple(online_key(&room.cluster.instance), &here).ignore();
    }
    pipe.query_async(connection).await
}

/// While linked: passes on what Redis publishes, and beats every `BEAT` beside it, in
/// the same `select!` (passing a line on may wait for a slow reader; the beat must
/// not). Returns when the link breaks, or this instance falls too far behind.
async fn stay(room: &Room, Link { mut connection, events }: Link) {
    // A command that failed while we were (re)joining has set the link aside already.
    if room.cluster.connection().is_none() {
        return;
    }
    let beating = async {
        let mut beats = tokio::time::interval(BEAT);
        loop {
            beats.tick().await;
            if let Err(err) = beat(room, &mut connection, true).await {
                return err;
            }
        }
    };
    // What Redis publishes is taken in as it comes (`take_in`) and passed on to the
    // clients here at their pace (`heard` may wait for a slow reader), through a
    // queue of at most `MOST_BEHIND` events.
    let (queue, mut behind) = mpsc::channel::<String>(MOST_BEHIND);
    let mut payloads =
        events.map(|message| String::from_utf8_lossy(message.get_payload_bytes()).into_owned());
    let passing_on = async {
        while let Some(payload) = behind.recv().await {
            match payload.split_once(' ') {
                Some((instance, text)) => room.heard(instance, text).await,
                None => warn!("an event on {CHANNEL} that is not ours: {payload}"),
            }
        }
    };
    tokio::select! {
        err = beating => room.cluster.failed(&err),
        ended = take_in(&mut payloads, &queue) => match ended {
            Ok(()) => info!("Redis closed the subscription"),
            Err(()) => warn!(
                "This instance fell {MOST_BEHIND} events behind Redis (its clients read too \
                 slowly): leaving the room to join it again"
            ),
        },
        () = passing_on => {}
        () = room.cluster.trouble.notified() => {}
    }
}

/// Moves each event into `queue` as it arrives, until the subscription ends (`Ok`)
/// or the queue is full (`Err`: this instance is too far behind).
async fn take_in(
    events: &mut (impl Stream<Item = String> + Unpin),
    queue: &mpsc::Sender<String>,
) -> Result<(), ()> {
    while let Some(event) = events.next().await {
        queue.try_send(event).map_err(|_| ())?;
    }
    Ok(())
}

/// Says this instance is alive, and looks at the others: one that stopped beating is
/// counted out (its people leave), one that appeared is counted in (its people
/// join; `announce`d to everyone here unless this is our own (re)joining).
async fn beat(
    room: &Room,
    connection: &mut MultiplexedConnection,
    announce: bool,
) -> RedisResult<()> {
    let me = &room.cluster.instance;
    // Still on the list? An instance that was frozen (or cut off) longer than
    // `ALIVE_FOR` finds itself counted out by the others: it writes its people in
    // again before it says it is alive, so the others find them when they see it.
    let added: usize = connection.sadd(INSTANCES, me).await?;
    if added == 1 && announce {
        warn!(
            "Redis had counted this instance out (frozen or cut off?): writing its people in again"
        );
        write_here(room, connection).await?;
    }
    let ms = u64::try_from(ALIVE_FOR.as_millis()).unwrap_or(u64::MAX);
    let mut pipe = redis::pipe();
    pipe.pset_ex(alive_key(me), 1, ms).ignore();
    pipe.pexpire(online_key(me), i64::try_from(ms).unwrap_or(i64::MAX)).ignore();
    pipe.smembers(INSTANCES);
    let (instances,): (BTreeSet<String>,) = pipe.query_async(&mut *connection).await?;
    let others: Vec<&String> = instances.iter().filter(|instance| *instance != me).collect();
    if others.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for instance in &others {
        pipe.exists(alive_key(instance));
    }
    let alive: Vec<bool> = pipe.query_async(&mut *connection).await?;
    let (counted, known) = room.known();
    for (instance, alive) in others.into_iter().zip(alive) {
        if !alive {
            // Dead: counted out here, and taken out of Redis (by whoever sees it first).
            let mut pipe = redis::pipe();
            pipe.srem(INSTANCES, instance).del(online_key(instance));
            let _: () = pipe.query_async(&mut *connection).await?;
            if known.contains(instance) {
                let bound = GHOST_BOUND.as_secs();
                warn!(
                    "Instance {instance} stopped beating: its people are counted out (within {bound} s)"
                );
                room.gone(instance).await;
            }
        } else if !counted.contains(instance) {
            let names: Vec<String> = connection.hvals(online_key(instance)).await?;
            if announce {
                info!("Instance {instance} joined the room with {} online", names.len());
            }
            room.arrived(instance, names, announce).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_instance_too_far_behind_stops_taking_events_in() {
        let (queue, mut behind) = mpsc::channel(3);
        let mut events = futures_util::stream::iter((1..=5).map(|n| n.to_string()));
        assert_eq!(take_in(&mut events, &queue).await, Err(()));
        // Three waited; the fourth found the queue full, and nothing more was read.
        assert_eq!(behind.recv().await.as_deref(), Some("1"));
        assert_eq!(events.next().await.as_deref(), Some("5"));
        // Kept up with, a subscription is taken in to its end.
        let mut events = futures_util::stream::iter(["a".to_string()]);
        let (queue, _behind) = mpsc::channel(3);
        assert_eq!(take_in(&mut events, &queue).await, Ok(()));
    }
}
