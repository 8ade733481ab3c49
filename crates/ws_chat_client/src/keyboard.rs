//! The keyboard and Ctrl-C, as things `select!` can wait on. Lesson 06's page
//! explains it; lesson 08 carries this file, unchanged.

use tokio::sync::mpsc;

/// The lines typed on the keyboard (or piped in), as a channel that `select!` can
/// wait on. Reading the terminal blocks, and a blocking read cannot be cancelled, so
/// it gets a thread of its own instead of a task: tokio's own `stdin` would keep the
/// program from exiting until you pressed Enter.
pub(crate) fn lines() -> mpsc::Receiver<String> {
    let (lines, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            // `blocking_send` waits while the channel is full: if the network is
            // slower than the typing, the keyboard waits, not our memory.
            if lines.blocking_send(line).is_err() {
                break;
            }
        }
        // Dropping `lines` here closes the channel: `recv` then returns `None`.
    });
    receiver
}

/// Starts listening for Ctrl-C now, so that one pressed early is not missed, and
/// returns a future that completes when it comes. Without a handler of our own,
/// Ctrl-C ends the program at once, and the server never hears a Close.
pub(crate) fn ctrl_c() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match interrupt {
                Ok(mut interrupt) => {
                    interrupt.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
