//! Ctrl-C and SIGTERM. Lesson 01's page explains it; every later server lesson
//! (03, 05, 07, 09) carries this file, unchanged.

/// Starts listening for Ctrl-C and SIGTERM (what `kill` and service managers send)
/// and returns a future that completes when either arrives. Listening starts when
/// this is called, not at the first `.await`, so an early Ctrl-C is not missed.
pub(crate) fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = signal(SignalKind::interrupt()).and_then(|interrupt| {
            signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
        });
        async move {
            match signals {
                Ok((mut interrupt, mut terminate)) => tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                },
                // Without our own handlers, Ctrl-C simply ends the program.
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
