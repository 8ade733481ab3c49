//! Polling and long polling: `GET /api/messages?since=ID` answers at once with the
//! lines after `ID`; with `&wait=SECONDS` it first waits, at most that long, for a
//! line to come. Either way the answer is lesson 07's JSON array, and the client
//! asks again with the newest id it got.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use tokio::sync::watch;
use tracing::debug;

use crate::json::{self, bad_request};
use crate::room::{Chat, Room};
use crate::websocket;

/// The longest a long poll may wait. Proxies cut a request that stays silent too
/// long (lesson 10's nginx after 60 s), and browsers and phones' networks often
/// sooner: 25 s is under all of them, so the answer comes before anyone gives up.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(25);

/// Where a client is in the history: `HISTORY.N` (the `server-instance` header and
/// the id of the last line it has), or `N` alone for this server's history.
#[derive(Debug, PartialEq)]
pub(crate) struct Since {
    pub(crate) history: Option<String>,
    pub(crate) id: u64,
}

impl Since {
    pub(crate) fn parse(text: &str) -> Result<Since, String> {
        let (history, id) = match text.split_once('.') {
            Some((history, id)) => (Some(history.to_string()), id),
            None => (None, text),
        };
        let id = id.parse().map_err(|_| {
            format!("{text:?} is not a place in the history: give HISTORY.N or N, as this server sent them")
        })?;
        Ok(Since { history, id })
    }

    /// The id to go on after in `room`'s history: 0 (all of it) when the client's
    /// lines came from another history, one from before a restart.
    pub(crate) fn in_history(&self, room: &Room) -> (u64, bool) {
        match &self.history {
            Some(history) if history.as_bytes() != room.history_id().as_bytes() => (0, true),
            _ => (self.id, false),
        }
    }
}

/// `GET /api/messages?since=ID[&wait=SECONDS]`.
pub(crate) async fn poll(
    conn: u64,
    query: &str,
    room: &Room,
    shutdown: &watch::Sender<bool>,
) -> Response<Full<Bytes>> {
    let (since, wait) = match read_query(query) {
        Ok(asked) => asked,
        Err(why) => return bad_request(&why),
    };
    let (after, restarted) = since.in_history(room);
    // Subscribe first, then look: a line said between the two wakes us up.
    let mut said = room.said();
    let mut chats = room.since(after);
    if chats.is_empty() && !restarted && !wait.is_zero() {
        let mut stop = shutdown.subscribe();
        debug!("conn #{conn} long poll waits up to {} s for a line after {after}", wait.as_secs());
        tokio::select! {
            _ = said.wait_for(|newest| *newest > after) => {}
            () = tokio::time::sleep(wait) => {}
            // Ctrl-C answers at once: a held request would hold the shutdown up.
            () = websocket::shutting_down(&mut stop) => {}
        }
        chats = room.since(after);
    }
    answer(room, &chats)
}

/// The lines as lesson 07's `GET /api/messages` gives them, with the history's id.
fn answer(room: &Room, chats: &[Chat]) -> Response<Full<Bytes>> {
    let body = serde_json::to_string(chats).expect("chats serialize");
    let mut response = json::response(StatusCode::OK, body);
    response.headers_mut().insert("server-instance", room.history_id());
    response
}

/// `since` (required: polling without it is lesson 07's plain GET) and `wait`.
fn read_query(query: &str) -> Result<(Since, Duration), String> {
    let (mut since, mut wait) = (None, Duration::ZERO);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "since" => since = Some(Since::parse(&value)?),
            "wait" => {
                let seconds: u64 = value
                    .parse()
                    .map_err(|_| format!("wait={value:?} is not a number of seconds"))?;
                wait = Duration::from_secs(seconds);
                if wait > MAX_WAIT {
                    return Err(format!("wait is at most {} seconds", MAX_WAIT.as_secs()));
                }
            }
            other => return Err(format!("unknown parameter {other:?}: use since and wait")),
        }
    }
    let since = since.ok_or("give since=ID, the id of the last line you have (0: none)")?;
    Ok((since, wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_is_history_dot_id_or_an_id() {
        assert_eq!(Since::parse("5"), Ok(Since { history: None, id: 5 }));
        let place = Since::parse("19a0.7");
        assert_eq!(place, Ok(Since { history: Some("19a0".to_string()), id: 7 }));
        assert!(Since::parse("x").is_err());
        assert!(read_query("since=1&wait=26").is_err());
        assert!(read_query("wait=2").is_err());
        assert_eq!(read_query("since=3&wait=2").map(|(_, wait)| wait), Ok(Duration::from_secs(2)));
    }
}
