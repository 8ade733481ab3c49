//! Lesson 09: latency and fan-out across two instances through Redis, and how fast
//! a dead instance's people are counted out.

use super::*;

impl Bench {
    /// Lesson 09 against lesson 07, in one run, with a real Redis (started here, on a
    /// free port; without redis-server the group is left out, with a note): a line
    /// from one instance to another against one instance, a fan-out over two
    /// instances against one, and how long a killed instance's people stay counted.
    /// Redis, the instances and the load share the two cores: not pinned.
    pub(super) async fn cluster(&mut self) -> anyhow::Result<()> {
        if !testkit::tools::available("the cluster benchmark", &[&testkit::tools::REDIS]) {
            return Ok(());
        }
        self.cluster_latency().await?;
        self.cluster_fanout().await?;
        self.cluster_ghosts().await?;
        Ok(())
    }

    /// A fresh Redis for one run (an instance killed in an earlier run would count
    /// as present for up to 4 s), and how to start lesson 09 with it.
    fn cluster_spec(&self) -> anyhow::Result<(testkit::redis::Redis, Spec)> {
        let redis = testkit::redis::Redis::start("bench").context("no redis-server")?;
        let mut spec = self.lesson("http_ws_cluster", "warn");
        spec.args = vec!["--redis".into(), redis.url()];
        Ok((redis, spec))
    }

    /// p50 and p99 from a sender to a reader, 100 lines a second: both on lesson 07,
    /// both on one instance of lesson 09, and on two instances.
    async fn cluster_latency(&mut self) -> anyhow::Result<()> {
        let (lines, rate) = if self.quick { (50, 100.0) } else { (300, 100.0) };
        let scenario = format!("1 sender, 1 reader, {lines} lines at 100/s");
        let single = self.lesson("http_ws_server", "warn");
        let cases =
            ["lesson 07, one process", "09, both on one instance", "09, sender on A, reader on B"];
        let mut reference = None;
        for (n, label) in cases.into_iter().enumerate() {
            self.progress(&format!("cluster latency: {label}"));
            let (mut p50, mut p99, mut lost) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..self.repeats {
                let (_redis, spec) = self.cluster_spec()?;
                let a = if n == 0 { single.start() } else { spec.start() };
                let b = (n == 2).then(|| spec.start());
                let url = |server: &Server| format!("ws://{}/ws", server.addr);
                let reader = b.as_ref().map_or_else(|| url(&a), url);
                let crossing = crate::cluster::latency(&url(&a), &reader, lines, rate).await?;
                p50.push(crossing.latency.p50_us as f64);
                p99.push(crossing.latency.p99_us as f64);
                lost.push(crossing.lost as f64);
            }
            let at = Place::new("Cluster (09, Redis)", &scenario, label);
            let whole = lost.iter().all(|n| *n == 0.0);
            self.push(at.metric("lines lost", "lines", &lost));
            let base = |pick: fn((f64, f64)) -> f64| reference.map(pick);
            // Lesson 09 passes each line through Redis, where lesson 07 passes it on
            // in the same process: a hop over loopback may cost, but not double.
            let goal = reference.map(|(p50_07, _)| {
                let p50 = stats::repeated(&p50).median;
                ("≤ 1.3× lesson 07, none lost", p50 <= 1.3 * p50_07 && whole)
            });
            let p50 = self
                .push(at.metric("p50 send→receive", "µs", &p50).baseline(base(|r| r.0)).goal(goal));
            let p99 = self.push(at.metric("p99 send→receive", "µs", &p99).baseline(base(|r| r.1)));
            reference.get_or_insert((p50.median, p99.median));
        }
        Ok(())
    }

    /// 100 clients, 1 sender, lines as fast as the server takes them: lesson 07 (one
    /// process), lesson 09 on one instance, and on two (50 clients each).
    async fn cluster_fanout(&mut self) -> anyhow::Result<()> {
        let total = if self.quick { 300 } else { 1000 };
        let plan = FanoutPlan::room_flood(total);
        let scenario = format!("100 clients, 1 sender, {total} lines flooded");
        let single = self.lesson("http_ws_server", "warn");
        let mut reference = None;
        for (label, instances) in
            [("lesson 07, one process", 0), ("09, one instance", 1), ("09, two instances", 2)]
        {
            self.progress(&format!("cluster fan-out: {label}"));
            let (mut rates, mut lost) = (Vec::new(), Vec::new());
            for _ in 0..self.repeats {
                let (_redis, spec) = self.cluster_spec()?;
                let servers: Vec<Server> = match instances {
                    0 => vec![single.start()],
                    n => (0..n).map(|_| spec.start()).collect(),
                };
                let urls: Vec<String> =
                    servers.iter().map(|s| format!("ws://{}/ws", s.addr)).collect();
                let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
                let result = load::fanout_across(&urls, plan).await?;
                rates.push(result.deliveries_per_second);
                lost.push(percent(result.lost + result.out_of_order, result.expected));
            }
            let at = Place::new("Cluster (09, Redis)", &scenario, label);
            // A lossy or reordered run is never "met", however fast.
            let whole = lost.iter().all(|n| *n == 0.0);
            let ratio = if instances == 2 { 0.7 } else { 0.8 };
            let goal = reference.map(|rate_07| {
                let fast = stats::repeated(&rates).median >= ratio * rate_07;
                let text = if instances == 2 {
                    "≥ 0.7× lesson 07, none lost"
                } else {
                    "≥ 0.8× lesson 07, none lost"
                };
                (text, fast && whole)
            });
            let rate = self
                .push(at.metric("deliveries/s", "msg/s", &rates).baseline(reference).goal(goal));
            self.push(at.metric("lost or reordered", "%", &lost));
            reference.get_or_insert(rate.median);
        }
        Ok(())
    }

    /// `kill -9` of an instance holding 50 clients: how long until a client of the
    /// other instance is told the right count (the ghost bound: 4 s).
    async fn cluster_ghosts(&mut self) -> anyhow::Result<()> {
        self.progress("cluster: kill -9 of an instance with 50 clients");
        let mut took = Vec::new();
        for _ in 0..self.repeats {
            let (_redis, spec) = self.cluster_spec()?;
            let survivor = spec.start();
            let mut doomed = spec.start();
            let (a, b) = (format!("ws://{}/ws", survivor.addr), format!("ws://{}/ws", doomed.addr));
            let time = crate::cluster::ghosts(&a, &b, 50, || doomed.program.kill()).await?;
            took.push(time.map_or(f64::INFINITY, |t| t.as_secs_f64()));
        }
        let at = Place::new("Cluster (09, Redis)", "kill -9 of an instance with 50 clients", "09");
        let worst = took.iter().copied().fold(0.0, f64::max);
        self.push(
            at.metric("until the survivor's count is right", "s", &took)
                .goal(Some(("≤ 4 s (GHOST_BOUND) in every run", worst <= 4.0))),
        );
        Ok(())
    }
}
