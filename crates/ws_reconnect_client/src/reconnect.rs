//! Coming back: the wait between two connections and the history asked for after
//! it (`reconnect`), and the history once more once the WebSocket is open
//! (`catch_up`). Lesson 12 carries this file, unchanged.
//!
//! Needs from the crate that includes it: the modules `backoff`, `handler`, `http`
//! and `session`.

use std::collections::VecDeque;
use std::path::Path;

use tracing::info;

use crate::backoff::Backoff;
use crate::handler::Printer;
use crate::http::{FetchError, fetch_history};
use crate::session::{Keyboard, wait_offline};

/// The history again, right after the WebSocket opened, showing only what the
/// last one lacked. If it cannot be had, the session goes on: it said so.
pub(crate) async fn catch_up(addr: &common::Address, ca: Option<&Path>, handler: &mut Printer) {
    match fetch_history(addr, ca).await {
        Ok(history) => handler.on_history(history),
        Err(FetchError::Refused) => handler.on_error(&format!("{addr} is not answering")),
        Err(FetchError::Other(err)) => handler.on_error(&err),
    }
}

/// Waits, then asks for the history over HTTP (what did we miss? is the server back
/// at all?), again and again until the server answers. Returns false if the user
/// leaves meanwhile.
pub(crate) async fn reconnect(
    addr: &common::Address,
    ca: Option<&Path>,
    backoff: &mut Backoff,
    handler: &mut Printer,
    keyboard: &mut Keyboard,
    outbox: &mut VecDeque<String>,
) -> bool {
    loop {
        let wait = backoff.next_wait(fastrand::f64());
        info!("Reconnecting in {:.1} s (attempt {})", wait.as_secs_f64(), backoff.attempt);
        if wait_offline(wait, keyboard, outbox).await {
            return false;
        }
        match fetch_history(addr, ca).await {
            Ok(history) => {
                handler.on_history(history);
                return true;
            }
            Err(FetchError::Refused) => handler.on_error(&format!("{addr} is not answering yet")),
            Err(FetchError::Other(err)) => handler.on_error(&err),
        }
    }
}
