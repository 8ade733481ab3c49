//! The link task: keeps this instance in the room through Redis. While linked, it
//! passes on to the room what Redis publishes, and checks in every second (says
//! this instance is alive, counts the others in and out). When Redis goes away, it
//! splits the room, reconnects with backoff and heals it. It uses the room
//! (`room.rs`) and the Redis commands (`cluster.rs`); neither of those uses it.
//!
//! Needs from the crate that includes it (lesson 09's or 10's): the modules `room`
//! and `cluster`.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use redis::Client;
use redis::RedisResult;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::cluster::{self, CHANNEL, CHECK_IN_EVERY, Cluster, Envelope, GHOST_BOUND, Link};
use crate::room::Room;

/// How many events an instance may be behind Redis, waiting to be passed on to its
/// clients. Further behind (its clients read slower than the room talks, for long),
/// it leaves the room and joins it again, as Redis cuts off a subscriber that does
/// not read: what waits in its memory stays bounded.
const MOST_BEHIND: usize = 4096;
/// Reconnecting to Redis waits twice as long after each failure, up to this.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// At startup: connects to Redis and joins the room there (see `rejoin`), or says in
/// one line why not.
pub(crate) async fn start(
    client: Client,
    addr: &std::net::SocketAddr,
) -> anyhow::Result<(Room, Link)> {
    let (cluster, link) = Cluster::connect(client, addr).await?;
    let room = Room::new(cluster);
    let joined = rejoin(&room, link.connection.clone(), false).await;
    joined.map_err(|err| anyhow::anyhow!(room.cluster.cannot_start(&err)))?;
    Ok((room, link))
}

/// The link task: follows Redis while linked (`while_linked`); when Redis goes away,
/// splits the room, reconnects with backoff and heals it. Beside that, it passes the
/// lines said here to Redis (`Room::pass_to_redis`). Runs until the server stops
/// (`main` aborts it).
pub(crate) async fn run(room: &Room, link: Link) {
    tokio::join!(follow(room, link), room.pass_to_redis());
}

/// Follows Redis, and after a split, reconnects and heals the room: for ever.
async fn follow(room: &Room, mut link: Link) {
    loop {
        while_linked(room, link).await;
        room.cluster.unlink();
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
            Err(err) => info!("Redis still out of reach: {}", cluster::describe(&err)),
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
    // From here on, joins and lines go through Redis; then everyone already here is
    // written in (a join meanwhile writes itself too: writing twice does no harm).
    room.cluster.link_up(&mut connection).await?;
    room.cluster.write_here(&mut connection, &room.here()).await?;
    room.load_history(cluster::read_history(&mut connection).await?);
    check_in(room, &mut connection, false).await?;
    info!("Joined the room in Redis as {}", room.cluster.instance);
    if healing {
        info!("Redis is back: the room is whole again");
        room.whole().await;
    }
    Ok(())
}

/// While linked: passes on what Redis publishes, and checks in every
/// `CHECK_IN_EVERY` beside it, in the same `select!` (passing a line on may wait for
/// a slow reader; checking in must not). Returns when the link breaks, or this
/// instance falls too far behind.
async fn while_linked(room: &Room, Link { mut connection, events }: Link) {
    // A command that failed while we were (re)joining has set the link aside already.
    if !room.cluster.is_linked() {
        return;
    }
    let checking_in = async {
        let mut every = tokio::time::interval(CHECK_IN_EVERY);
        loop {
            every.tick().await;
            if let Err(err) = check_in(room, &mut connection, true).await {
                return err;
            }
        }
    };
    // What Redis publishes is taken in as it comes (`take_in`) and passed on to the
    // clients here at their pace (`pass_on_published` may wait for a slow reader),
    // through a queue of at most `MOST_BEHIND` events.
    let (queue, mut behind) = mpsc::channel::<String>(MOST_BEHIND);
    let mut payloads =
        events.map(|message| String::from_utf8_lossy(message.get_payload_bytes()).into_owned());
    let passing_on = async {
        while let Some(payload) = behind.recv().await {
            match Envelope::decode(&payload) {
                Some(Envelope { instance, event }) => room.pass_on_published(instance, event).await,
                None => warn!("an event on {CHANNEL} that is not ours: {payload}"),
            }
        }
    };
    tokio::select! {
        err = checking_in => room.cluster.failed(&err),
        ended = take_in(&mut payloads, &queue) => match ended {
            Ok(()) => info!("Redis closed the subscription"),
            Err(()) => warn!(
                "This instance fell {MOST_BEHIND} events behind Redis (its clients read too \
                 slowly): leaving the room to join it again"
            ),
        },
        () = passing_on => {}
        () = room.cluster.trouble() => {}
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

/// Checks in: says this instance is alive, and looks at the others. One that
/// stopped checking in is counted out (its people leave), one that appeared is
/// counted in (its people join; `announce`d to everyone here unless this is our own
/// (re)joining).
async fn check_in(
    room: &Room,
    connection: &mut MultiplexedConnection,
    announce: bool,
) -> RedisResult<()> {
    let cluster = &room.cluster;
    // Still on the list? An instance that was frozen (or cut off) longer than the
    // others wait finds itself counted out: it writes its people in again before it
    // says it is alive, so the others find them when they see it.
    if cluster.enlist(connection).await? && announce {
        warn!(
            "Redis had counted this instance out (frozen or cut off?): writing its people in again"
        );
        cluster.write_here(connection, &room.here()).await?;
    }
    let others = cluster.renew(connection).await?;
    if others.is_empty() {
        return Ok(());
    }
    let known = room.known();
    for (instance, alive) in others {
        if !alive {
            // Dead: counted out here, and taken out of Redis (by whoever sees it first).
            cluster.strike_off(connection, &instance).await?;
            if known.all.contains(&instance) {
                let bound = GHOST_BOUND.as_secs();
                warn!(
                    "Instance {instance} stopped checking in: its people are counted out (within {bound} s)"
                );
                room.gone(&instance).await;
            }
        } else if !known.counted.contains(&instance) {
            let names = cluster.names_on(connection, &instance).await?;
            if announce {
                info!("Instance {instance} joined the room with {} online", names.len());
            }
            room.arrived(&instance, names, announce).await;
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
