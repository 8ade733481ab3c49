//! How long to wait before each reconnect: exponential backoff with jitter.

use std::time::Duration;

/// The first wait before reconnecting; it doubles after each failure...
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(500);
/// ...up to this.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connection that lasted this long was a success: the next wait starts afresh.
pub(crate) const STABLE_AFTER: Duration = Duration::from_secs(10);

/// How long to wait before each reconnect: twice as long after each failure, up to
/// BACKOFF_MAX, and a random part of it (jitter), so that a hundred clients do not
/// all come back at the same instant when the server restarts.
pub(crate) struct Backoff {
    delay: Duration,
    /// Attempts since the last connection that opened.
    pub(crate) attempt: u32,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { delay: BACKOFF_START, attempt: 0 }
    }

    /// The next wait: between half and all of the current delay, as `random` (from
    /// 0 to 1) says. The delay then doubles.
    pub(crate) fn next_wait(&mut self, random: f64) -> Duration {
        self.attempt += 1;
        let wait = self.delay.mul_f64(0.5 + random * 0.5);
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        wait
    }

    /// A connection opened and lasted `lasted`. One that lasted STABLE_AFTER was a
    /// success: the next wait starts afresh.
    pub(crate) fn connected_for(&mut self, lasted: Duration) {
        self.attempt = 0;
        if lasted >= STABLE_AFTER {
            self.delay = BACKOFF_START;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_maximum_with_jitter_of_half() {
        let mut backoff = Backoff::new();
        assert_eq!(backoff.next_wait(1.0), Duration::from_millis(500));
        assert_eq!(backoff.next_wait(0.0), Duration::from_millis(500));
        assert_eq!(backoff.next_wait(1.0), Duration::from_secs(2));
        for _ in 0..10 {
            backoff.next_wait(0.5);
        }
        assert_eq!(backoff.next_wait(1.0), BACKOFF_MAX);
        assert_eq!(backoff.next_wait(0.0), BACKOFF_MAX / 2);
        assert_eq!(backoff.attempt, 15);
    }

    #[test]
    fn a_stable_connection_starts_the_waits_afresh_and_a_short_one_does_not() {
        let mut backoff = Backoff::new();
        backoff.next_wait(1.0);
        backoff.next_wait(1.0);
        backoff.connected_for(Duration::from_secs(1));
        assert_eq!(backoff.attempt, 0);
        assert_eq!(backoff.next_wait(1.0), Duration::from_secs(2));
        backoff.connected_for(STABLE_AFTER);
        assert_eq!(backoff.next_wait(1.0), BACKOFF_START);
    }
}
