//! Chat fan-out: one line to many clients, a flood past a client that never reads,
//! a join storm, and thousands of idle connections.

use super::*;

/// Who is in a fan-out case: `clients` that read (the first `senders` of them also
/// send) and `stuck` ones that never read.
#[derive(Clone, Copy)]
struct Crowd {
    clients: usize,
    senders: usize,
    stuck: usize,
}

impl Crowd {
    fn scenario(self) -> String {
        format!(
            "{} clients, {} sender{}{}",
            self.clients,
            self.senders,
            if self.senders == 1 { "" } else { "s" },
            if self.stuck == 1 { ", 1 never reads" } else { "" }
        )
    }
}

/// What the repeated runs of one server in one fan-out case measured.
#[derive(Default)]
struct FanoutRuns {
    rates: Vec<f64>,
    /// Per cent of the deliveries lost or out of order, in the flood...
    lost: Vec<f64>,
    rss: Vec<f64>,
    /// ...and at 100 messages a second.
    paced_lost: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    max: Vec<f64>,
}

/// What a fan-out row is compared with.
#[derive(Clone, Copy)]
struct FanoutCompare {
    /// The lossless baseline's flood rate and p99, in the same case.
    reference: Option<(f64, f64)>,
    /// This server's p99 in the same case without the stuck client.
    p99_without_stuck: Option<f64>,
    /// Whether to judge the goals: for the lessons, not for the baselines.
    with_goals: bool,
}

/// Samples a process's memory every 20 ms until told to stop; returns the peak, KiB.
fn watch_peak_rss(pid: u32) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<u64>) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let peak = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            peak = peak.max(testkit::rss_kib(pid));
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stopped.changed() => return peak.max(testkit::rss_kib(pid)),
            }
        }
    });
    (stop, peak)
}

impl Bench {
    pub(super) async fn fanout(&mut self) -> anyhow::Result<()> {
        let mut cases = vec![(100usize, 1usize), (100, 4), (1000, 1)];
        if self.quick {
            cases.truncate(1);
        }
        for (clients, senders) in cases {
            let mut p99_without_stuck = HashMap::new();
            for stuck in [0usize, 1] {
                let crowd = Crowd { clients, senders, stuck };
                let scenario = crowd.scenario();
                // The first is the reference: it loses nothing, whatever it costs.
                let specs = [
                    (self.baseline(Baseline::Queues), Protocol::Text),
                    (self.baseline(Baseline::Ring), Protocol::Text),
                    (self.lesson("ws_chat_server", "warn"), Protocol::Text),
                    (self.lesson("http_ws_server", "warn"), Protocol::Json),
                ];
                let mut reference = None;
                for (spec, protocol) in specs {
                    self.progress(&format!("fan-out, {scenario}: {}", spec.label));
                    let runs = self.fanout_runs(&spec, protocol, crowd).await?;
                    let at = Place::new("Chat fan-out", &scenario, &spec.label);
                    let is_lesson = reference.is_some() && spec.label != Baseline::Ring.label();
                    let compare = FanoutCompare {
                        reference,
                        p99_without_stuck: p99_without_stuck.get(&spec.label).copied(),
                        with_goals: is_lesson,
                    };
                    let (rate, p99) = self.fanout_rows(&at, &runs, compare);
                    if stuck == 0 {
                        p99_without_stuck.insert(spec.label.clone(), p99);
                    }
                    reference.get_or_insert((rate, p99));
                }
            }
        }
        Ok(())
    }

    /// Runs one fan-out case on a fresh server `repeats` times, each time twice: a
    /// flood (as fast as the server takes it) for throughput, loss and memory, and
    /// 100 messages a second for latency.
    async fn fanout_runs(
        &self,
        spec: &Spec,
        protocol: Protocol,
        crowd: Crowd,
    ) -> anyhow::Result<FanoutRuns> {
        let path = if protocol == Protocol::Json { "/ws" } else { "/" };
        // Throughput: this many messages in all, sent as fast as the server takes
        // them. Latency: 100 messages a second in all, for 2 s, well below capacity.
        let total = if self.quick { 300 } else { 1000 };
        let latency_seconds = if self.quick { 0.5 } else { 2.0 };
        let flood = FanoutPlan {
            clients: crowd.clients,
            senders: crowd.senders,
            messages: total / crowd.senders,
            rate: f64::INFINITY,
            stuck: crowd.stuck,
            size: 64,
            protocol,
        };
        let rate = 100.0 / crowd.senders as f64;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a few hundred messages, rounded down"
        )]
        let paced = FanoutPlan { messages: (rate * latency_seconds) as usize, rate, ..flood };
        let mut runs = FanoutRuns::default();
        for _ in 0..self.repeats {
            let server = spec.start();
            let result = load::fanout(&format!("ws://{}{path}", server.addr), flood).await?;
            runs.rates.push(result.deliveries_per_second);
            runs.lost.push(percent(result.lost + result.out_of_order, result.expected));
            runs.rss.push(rss_mib(&server));
            drop(server);

            let server = spec.start();
            let result = load::fanout(&format!("ws://{}{path}", server.addr), paced).await?;
            runs.paced_lost.push(percent(result.lost + result.out_of_order, result.expected));
            runs.p50.push(result.latency.p50_us as f64);
            runs.p99.push(result.latency.p99_us as f64);
            runs.max.push(result.latency.max_us as f64);
        }
        Ok(runs)
    }

    /// The rows of one server in one fan-out case. A figure is "met" only if nothing
    /// was lost or reordered in the runs it comes from. Returns the medians of the
    /// flood's rate and of the paced p99.
    fn fanout_rows(&mut self, at: &Place, runs: &FanoutRuns, compare: FanoutCompare) -> (f64, f64) {
        let flood_whole = runs.lost.iter().all(|&lost| lost == 0.0);
        let paced_whole = runs.paced_lost.iter().all(|&lost| lost == 0.0);
        let reference_rate = compare.reference.map(|(rate, _)| rate);
        let rate_goal = compare.with_goals.then(|| {
            let fast =
                reference_rate.is_some_and(|b| stats::repeated(&runs.rates).median >= 0.8 * b);
            ("≥ 0.8× the lossless baseline, none lost", fast && flood_whole)
        });
        let p99_goal = compare.with_goals.then_some(compare.p99_without_stuck).flatten().map(|p| {
            // Below 1 ms, twice is noise: compare with at least 1 ms.
            let close = stats::repeated(&runs.p99).median <= 2.0 * p.max(1000.0);
            ("≤ 2× p99 without it, none lost", close && paced_whole)
        });
        let rate = self.push(
            at.metric("deliveries/s, flooded", "msg/s", &runs.rates)
                .baseline(reference_rate)
                .goal(rate_goal),
        );
        self.push(at.metric("lost or reordered, flooded", "%", &runs.lost));
        self.push(at.metric("server RSS after the flood", "MiB", &runs.rss));
        self.push(at.metric("lost or reordered, 100 msg/s", "%", &runs.paced_lost));
        self.push(at.metric("p50 send→receive, 100 msg/s", "µs", &runs.p50));
        let p99 = self.push(
            at.metric("p99 send→receive, 100 msg/s", "µs", &runs.p99)
                .baseline(compare.reference.map(|(_, p99)| p99))
                .goal(p99_goal),
        );
        self.push(at.metric("max send→receive, 100 msg/s", "µs", &runs.max));
        (rate.median, p99.median)
    }

    /// Issue 10's flood: 5,000 lines of 1 KiB as fast as the server takes them, a
    /// reader slower than the sender, and a client that never reads. The reader must
    /// get every line in order without a long pause; the non-reader must be put out
    /// with 1008; the server's memory must stay bounded meanwhile.
    pub(super) async fn flood(&mut self) -> anyhow::Result<()> {
        let messages = if self.quick { 1000 } else { 5000 };
        let scenario = format!("{messages} × 1 KiB, a slower reader, a non-reader");
        let specs = [
            (self.baseline(Baseline::Queues), Protocol::Text, "/"),
            (self.lesson("ws_chat_server", "warn"), Protocol::Text, "/"),
            (self.lesson("http_ws_server", "warn"), Protocol::Json, "/ws"),
        ];
        for (spec, protocol, path) in specs {
            self.progress(&format!("flood, {scenario}: {}", spec.label));
            let mut runs: Vec<(crate::crowd::Flood, f64)> = Vec::new();
            for _ in 0..self.repeats {
                let server = spec.start();
                let url = format!("ws://{}{path}", server.addr);
                let pid = server.program.pid();
                let before = testkit::rss_kib(pid);
                let (stop, peak) = watch_peak_rss(pid);
                let result = crate::crowd::flood(&url, messages, 1024, protocol).await?;
                let _ = stop.send(true);
                let grew = peak.await?.saturating_sub(before) as f64 / 1024.0;
                runs.push((result, grew));
            }
            let at = Place::new("Flood past a non-reader", &scenario, &spec.label);
            self.flood_rows(&at, &runs, spec.label != Baseline::Queues.label());
        }
        Ok(())
    }

    /// The rows of one server in the flood; goals only for the lessons.
    fn flood_rows(&mut self, at: &Place, runs: &[(crate::crowd::Flood, f64)], lesson: bool) {
        let column = |f: &dyn Fn(&(crate::crowd::Flood, f64)) -> f64| -> Vec<f64> {
            runs.iter().map(f).collect()
        };
        // A run in which the reader lost or reordered a line meets no goal: a pause,
        // a close code or a memory figure from a lossy run proves nothing.
        let whole = runs.iter().all(|(r, _)| r.read == r.sent && r.out_of_order == 0);
        let calm = whole && runs.iter().all(|(r, _)| r.longest_pause_ms <= 5000.0);
        let put_out = whole && runs.iter().all(|(r, _)| r.stuck_close == Some(1008));
        // The bound the lessons state: a client that lags holds at most its queue
        // (256 lines) and one batch in its socket's write buffer (256 more); here
        // three clients lag, with lines of 1 KiB: 1.5 MiB, and 0.5 MiB of slack.
        let small = whole && runs.iter().all(|(_, grew)| *grew <= 2.0);
        self.push(at.metric("sent", "lines", &column(&|(r, _)| r.sent as f64)));
        self.push(
            at.metric(
                "the slow reader got, in order",
                "lines",
                &column(&|(r, _)| (r.read - r.out_of_order.min(r.read)) as f64),
            )
            .goal(lesson.then_some(("all, in order", whole))),
        );
        self.push(
            at.metric("its longest pause", "ms", &column(&|(r, _)| r.longest_pause_ms))
                .goal(lesson.then_some(("≤ 5 s, none lost", calm))),
        );
        self.push(at.metric("the flood took", "s", &column(&|(r, _)| r.seconds)));
        self.push(
            at.metric(
                "the non-reader's close code",
                "code",
                &column(&|(r, _)| r.stuck_close.map_or(0.0, f64::from)),
            )
            .goal(lesson.then_some(("1008, none lost", put_out))),
        );
        self.push(
            at.metric("server RSS growth at its peak", "MiB", &column(&|(_, grew)| *grew))
                .goal(lesson.then_some(("≤ 2 MiB, none lost", small))),
        );
    }

    /// Issue 10's join storm: 5,000 clients join while two chat, against lesson 03
    /// (no room: the cost of connecting alone) and the two chat rooms.
    pub(super) async fn storm(&mut self) -> anyhow::Result<()> {
        let count = if self.quick { 500 } else { 5000 };
        let scenario = format!("{count} clients join, {} at a time", crate::crowd::AT_ONCE);
        let specs = [
            (self.lesson("ws_echo_server", "warn"), None, "/"),
            (self.lesson("ws_chat_server", "warn"), Some(Protocol::Text), "/"),
            (self.lesson("http_ws_server", "warn"), Some(Protocol::Json), "/ws"),
        ];
        let mut connect_only = None;
        for (spec, chat, path) in specs {
            self.progress(&format!("join storm, {scenario}: {}", spec.label));
            let mut runs = Vec::new();
            for _ in 0..self.repeats {
                let server = spec.start();
                let url = format!("ws://{}{path}", server.addr);
                runs.push(crate::crowd::join_storm(&url, count, chat).await?);
            }
            let seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
            let at = Place::new("Join storm", &scenario, &spec.label);
            let median = stats::repeated(&seconds).median;
            let goal = connect_only.map(|base: f64| ("≤ 3× lesson 03's", median <= 3.0 * base));
            self.push(at.metric("all joined in", "s", &seconds).baseline(connect_only).goal(goal));
            connect_only.get_or_insert(median);
            if chat.is_none() {
                continue;
            }
            let lost: Vec<f64> =
                runs.iter().map(|r| (r.sent - r.received.min(r.sent)) as f64).collect();
            let p99: Vec<f64> = runs.iter().map(|r| r.latency.p99_us as f64 / 1e3).collect();
            let max: Vec<f64> = runs.iter().map(|r| r.latency.max_us as f64 / 1e3).collect();
            let whole = lost.iter().all(|&l| l == 0.0);
            let quick = stats::repeated(&p99).median <= 1000.0;
            self.push(at.metric("chat lines lost during it", "lines", &lost));
            self.push(
                at.metric("p99 chat line during it", "ms", &p99)
                    .goal(Some(("≤ 1 s, none lost", quick && whole))),
            );
            self.push(at.metric("max chat line during it", "ms", &max));
        }
        Ok(())
    }

    /// Server memory with many idle WebSockets: RSS after they connected minus
    /// before, divided by their number (in KB of 1,000 bytes, as the goal is said).
    pub(super) async fn idle(&mut self) -> anyhow::Result<()> {
        let counts: &[usize] = if self.quick { &[500] } else { &[2000, 5000] };
        for &count in counts {
            let scenario = format!("{count} idle WebSocket connections");
            let specs = [
                (self.baseline(Baseline::Echo), "/"),
                (self.lesson("ws_echo_server", "warn"), "/"),
                (self.lesson("ws_chat_server", "warn"), "/"),
                (self.lesson("http_ws_server", "warn"), "/ws"),
            ];
            for (spec, path) in specs {
                self.progress(&format!("{scenario}: {}", spec.label));
                let (mut totals, mut each) = (Vec::new(), Vec::new());
                for _ in 0..self.repeats {
                    let server = spec.start();
                    let before = testkit::rss_kib(server.program.pid());
                    let sockets = load::idle(&format!("ws://{}{path}", server.addr), count).await?;
                    // Let the server finish setting up the last few connections.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let after = testkit::rss_kib(server.program.pid());
                    drop(sockets);
                    totals.push(after as f64 / 1024.0);
                    each.push(after.saturating_sub(before) as f64 * 1.024 / count as f64);
                }
                let lesson = spec.label != Baseline::Echo.label();
                let per = stats::repeated(&each).median;
                let at = Place::new("Idle connections", &scenario, &spec.label);
                self.push(at.metric("server RSS", "MiB", &totals));
                self.push(
                    at.metric("per connection", "KB", &each)
                        .goal(lesson.then_some(("≤ 8 KB", per <= 8.0))),
                );
            }
        }
        Ok(())
    }
}
