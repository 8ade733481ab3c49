//! Someone who says numbered lines over HTTP, through lesson 10's nginx or to any
//! chat server with lesson 07's API, until told to stop: the load of a rolling
//! restart, for its test and its benchmark.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Says `line N` as `say`, with `POST /api/messages`, one line after another.
pub struct Sayer {
    stop: Arc<AtomicBool>,
    said: Arc<AtomicU64>,
    retried: Arc<AtomicU32>,
    thread: JoinHandle<()>,
}

impl Sayer {
    /// Starts saying lines `first`, `first + 1`... to `addr`, waiting `every` after
    /// each answer. A 502 (nginx reached no instance: nothing was said) is said
    /// again; any other answer but 201 fails.
    pub fn start(addr: String, first: u64, every: Duration) -> Sayer {
        let stop = Arc::new(AtomicBool::new(false));
        let said = Arc::new(AtomicU64::new(first - 1));
        let retried = Arc::new(AtomicU32::new(0));
        let (stopping, counting, again) =
            (Arc::clone(&stop), Arc::clone(&said), Arc::clone(&retried));
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let n = counting.load(Ordering::Relaxed) + 1;
                let body = format!(r#"{{"name": "say", "text": "line {n}"}}"#);
                match crate::http::post(&addr, "/api/messages", &body).status {
                    201 => counting.store(n, Ordering::Relaxed),
                    502 => {
                        again.fetch_add(1, Ordering::Relaxed);
                    }
                    status => panic!("line {n}: {status}"),
                }
                std::thread::sleep(every);
            }
        });
        Sayer { stop, said, retried, thread }
    }

    /// Waits until `more` more lines have been said.
    pub fn wait_for_more(&self, more: u64) {
        let target = self.said.load(Ordering::Relaxed) + more;
        let deadline = Instant::now() + crate::TIMEOUT;
        while self.said.load(Ordering::Relaxed) < target {
            assert!(!self.thread.is_finished(), "the sayer stopped");
            assert!(Instant::now() < deadline, "the sayer said nothing more within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops, and returns the last line said and how many were said again after a
    /// 502.
    pub fn stop(self) -> (u64, u32) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sayer");
        (self.said.load(Ordering::Relaxed), self.retried.load(Ordering::Relaxed))
    }
}
