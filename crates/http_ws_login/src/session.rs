//! The sessions: who has logged in, under which id, and until when. A session id is
//! the only thing a browser holds (in a cookie, `login.rs`): 128 random bits from
//! the operating system, so that guessing one is hopeless, kept here with the name
//! it stands for. Every WebSocket of a session holds a `Ticket`, which says when the
//! session ends: at logout, or when it expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::members::check_name;

/// How many random bytes a session id has: 16 bytes are 128 bits, the least OWASP
/// asks of a session id (its "Session Management Cheat Sheet").
const ID_BYTES: usize = 16;

/// Everyone logged in, by session id.
pub(crate) struct Sessions {
    /// A plain mutex: held for a moment at a time, never across an `.await`.
    by_id: Mutex<HashMap<String, Session>>,
    /// How long a session lives after its login (`--session`).
    lifetime: Duration,
}

struct Session {
    name: String,
    expires: Instant,
    /// Never sent on: dropping it (the session removed) is the signal. Each of the
    /// session's sockets holds a receiver, whose `changed()` then returns.
    ended: watch::Sender<()>,
}

/// What a request with a live session gets: who it is, and, for a socket to wait
/// on, the end of its session.
pub(crate) struct Ticket {
    pub(crate) name: String,
    expires: Instant,
    ended: watch::Receiver<()>,
}

/// Why a login is refused: the name is not a valid one, or it is held by another
/// live session (409 Conflict).
pub(crate) enum Refused {
    BadName(String),
    Taken(String),
}

impl Sessions {
    pub(crate) fn new(lifetime: Duration) -> Sessions {
        Sessions { by_id: Mutex::new(HashMap::new()), lifetime }
    }

    /// How long a new session lives: the cookie's `Max-Age`.
    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A new session for `name`, if the name is valid and no live session holds it.
    /// Returns its id.
    pub(crate) fn login(&self, name: &str) -> Result<String, Refused> {
        check_name(name).map_err(Refused::BadName)?;
        let id = new_id();
        let now = Instant::now();
        let mut sessions = self.lock();
        // An expired session holds no name: forget those first. (Each login looks at
        // every session: fine for a classroom; a large site keeps an index by name
        // and a timer wheel, or lets Redis expire them, as the box on page 11 says.)
        sessions.retain(|_, session| session.expires > now);
        if sessions.values().any(|session| session.name == name) {
            return Err(Refused::Taken(format!(
                "{name} is logged in already, in another session: pick another name"
            )));
        }
        let (ended, _) = watch::channel(());
        let session = Session { name: name.to_string(), expires: now + self.lifetime, ended };
        sessions.insert(id.clone(), session);
        Ok(id)
    }

    /// The live session with this id, if there is one. An expired one is forgotten.
    pub(crate) fn find(&self, id: &str) -> Option<Ticket> {
        let mut sessions = self.lock();
        let session = sessions.get(id)?;
        if session.expires <= Instant::now() {
            sessions.remove(id);
            return None;
        }
        let ended = session.ended.subscribe();
        Some(Ticket { name: session.name.clone(), expires: session.expires, ended })
    }

    /// Ends the session with this id, if it is live: every socket it holds closes.
    /// Returns its name.
    pub(crate) fn logout(&self, id: &str) -> Option<String> {
        // Removing it drops its `ended` sender: each socket's `Ticket::ended` returns.
        self.lock().remove(id).map(|session| session.name)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_id.lock().expect("no task panics holding the lock")
    }
}

impl Ticket {
    /// Returns when the session ends: logged out (here or in another tab), or
    /// expired, whichever comes first.
    pub(crate) async fn ended(&mut self) {
        tokio::select! {
            // Err: the sender is gone, the session removed. (Nothing is ever sent.)
            _ = self.ended.changed() => {}
            () = tokio::time::sleep_until(self.expires) => {}
        }
    }
}

/// A new session id: `ID_BYTES` from the operating system's generator (getrandom),
/// in hex. Never a counter or the time: those can be guessed.
fn new_id() -> String {
    let mut bytes = [0u8; ID_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    data_encoding::HEXLOWER.encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_is_held_while_its_session_lives() {
        let sessions = Sessions::new(Duration::from_millis(200));
        let id = sessions.login("Ada").ok().expect("a free name");
        assert_eq!(id.len(), 2 * ID_BYTES);
        assert!(matches!(sessions.login("Ada"), Err(Refused::Taken(_))));
        assert!(matches!(sessions.login("no spaces"), Err(Refused::BadName(_))));
        let mut ticket = sessions.find(&id).expect("live");
        assert_eq!(ticket.name, "Ada");
        // Expired: the ticket's wait returns, the id is unknown, the name free.
        tokio::time::timeout(Duration::from_secs(5), ticket.ended()).await.expect("expires");
        assert!(sessions.find(&id).is_none());
        assert!(sessions.login("Ada").is_ok());
    }

    #[tokio::test]
    async fn logout_ends_every_ticket_of_the_session() {
        let sessions = Sessions::new(Duration::from_secs(3600));
        let id = sessions.login("Ada").ok().expect("a free name");
        let (mut one, mut two) =
            (sessions.find(&id).expect("live"), sessions.find(&id).expect("live"));
        assert_eq!(sessions.logout(&id).as_deref(), Some("Ada"));
        let wait = Duration::from_secs(5);
        tokio::time::timeout(wait, one.ended()).await.expect("ended");
        tokio::time::timeout(wait, two.ended()).await.expect("ended");
        assert!(sessions.find(&id).is_none());
        assert!(sessions.logout(&id).is_none());
    }
}
