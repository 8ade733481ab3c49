//! `loadgen bench`: starts each lesson server and each baseline on 127.0.0.1 port 0,
//! drives it, stops it, and prints one table (also written as markdown and JSON in
//! target/bench/). Every figure is a median of repeated runs with its spread, and
//! where there is a baseline, a ratio to it.

use anyhow::Context as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;
use testkit::Server;

use clap::ValueEnum as _;

use crate::baseline::Baseline;
use crate::load::{self, FanoutPlan, Protocol};
use crate::stats::{self, Repeated};

/// One line of the results table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub group: String,
    pub scenario: String,
    pub server: String,
    pub metric: String,
    pub unit: String,
    pub result: Repeated,
    /// The same metric on the baseline, in the same run.
    pub baseline: Option<f64>,
    pub ratio: Option<f64>,
    pub goal: Option<String>,
    pub met: Option<bool>,
}

/// Where a row belongs: its group, scenario and server.
pub(crate) struct Place {
    group: String,
    scenario: String,
    server: String,
}

impl Place {
    fn new(group: &str, scenario: &str, server: &str) -> Place {
        Place { group: group.into(), scenario: scenario.into(), server: server.into() }
    }

    /// A row here: `metric`, in `unit`, measured once per run in `values`.
    fn metric(&self, metric: &str, unit: &str, values: &[f64]) -> RowBuilder {
        RowBuilder {
            place: Place::new(&self.group, &self.scenario, &self.server),
            metric: metric.into(),
            unit: unit.into(),
            result: stats::repeated(values),
            baseline: None,
            goal: None,
        }
    }
}

/// A row being built: a ratio to a baseline and a goal are optional.
pub(crate) struct RowBuilder {
    place: Place,
    metric: String,
    unit: String,
    result: Repeated,
    baseline: Option<f64>,
    goal: Option<(String, bool)>,
}

impl RowBuilder {
    /// The same metric on the baseline, in the same run, if there is one.
    fn baseline(mut self, baseline: Option<f64>) -> RowBuilder {
        self.baseline = baseline;
        self
    }

    /// The goal, as said in the table, and whether it is met.
    fn goal(mut self, goal: Option<(&str, bool)>) -> RowBuilder {
        self.goal = goal.map(|(text, met)| (text.to_string(), met));
        self
    }

    fn build(self) -> Row {
        let ratio = self.baseline.filter(|b| *b > 0.0).map(|b| self.result.median / b);
        Row {
            group: self.place.group,
            scenario: self.place.scenario,
            server: self.place.server,
            metric: self.metric,
            unit: self.unit,
            result: self.result,
            baseline: self.baseline,
            ratio,
            goal: self.goal.as_ref().map(|(text, _)| text.clone()),
            met: self.goal.map(|(_, met)| met),
        }
    }
}

/// How a server is started.
#[derive(Clone)]
pub(crate) struct Spec {
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub rust_log: &'static str,
}

impl Spec {
    /// A lesson's release binary, logging at `rust_log`.
    pub(crate) fn lesson(bin_dir: &Path, name: &str, rust_log: &'static str) -> Spec {
        let label = if rust_log == "info" { format!("{name} (logging)") } else { name.to_string() };
        Spec { label, program: bin_dir.join(name), args: Vec::new(), rust_log }
    }

    /// `loadgen baseline KIND`, run by `me` (this loadgen).
    pub(crate) fn baseline(me: &Path, kind: Baseline) -> Spec {
        let name = kind.to_possible_value().expect("every kind has a name").get_name().to_string();
        Spec {
            label: kind.label().to_string(),
            program: me.to_path_buf(),
            args: vec!["baseline".into(), name],
            rust_log: "warn",
        }
    }

    /// Starts the server on 127.0.0.1 port 0, as the tests do, and waits until it
    /// has printed its address. It is killed when dropped.
    pub(crate) fn start(&self) -> Server {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend(["--addr", "127.0.0.1:0"]);
        Server::start_with(&self.program, &args, &[("RUST_LOG", self.rust_log)])
    }

    /// The same, on one core (`taskset -c 0`), for a load pinned to the other one.
    /// taskset runs the server in its own process, so the pid is the server's.
    fn start_pinned(&self) -> Server {
        let program = self.program.to_string_lossy();
        let mut args = vec!["-c", crate::wrk::SERVER_CPU, &program];
        args.extend(self.args.iter().map(String::as_str));
        args.extend(["--addr", "127.0.0.1:0"]);
        Server::start_with(Path::new("taskset"), &args, &[("RUST_LOG", self.rust_log)])
    }
}

/// The resident memory of a running server, in MiB.
fn rss_mib(server: &Server) -> f64 {
    testkit::rss_kib(server.program.pid()) as f64 / 1024.0
}

pub(crate) struct Options {
    pub quick: bool,
    pub out_dir: PathBuf,
    /// The groups to run; empty for all.
    pub only: Vec<String>,
}

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

/// `part` of `whole`, in per cent.
fn percent(part: u64, whole: u64) -> f64 {
    part as f64 / whole.max(1) as f64 * 100.0
}

struct Bench {
    rows: Vec<Row>,
    repeats: usize,
    quick: bool,
    step: usize,
    started: Instant,
    bin_dir: PathBuf,
    me: PathBuf,
}

pub(crate) async fn run(options: Options) -> anyhow::Result<Vec<Row>> {
    let me = std::env::current_exe()?;
    let bin_dir = me.parent().context("no folder")?.to_path_buf();
    let mut bench = Bench {
        rows: Vec::new(),
        repeats: if options.quick { 1 } else { 3 },
        quick: options.quick,
        step: 0,
        started: Instant::now(),
        bin_dir,
        me,
    };
    let wants = |group: &str| options.only.is_empty() || options.only.iter().any(|g| g == group);
    if wants("http") {
        bench.http().await?;
    }
    if wants("tls") {
        bench.tls()?;
    }
    if wants("echo") {
        bench.ws_echo().await?;
    }
    if wants("fanout") {
        bench.fanout().await?;
    }
    if wants("flood") {
        bench.flood().await?;
    }
    if wants("idle") {
        bench.idle().await?;
    }
    if wants("storm") {
        bench.storm().await?;
    }
    if wants("cluster") {
        bench.cluster().await?;
    }
    if wants("build") {
        bench.first_build()?;
        bench.edit_run()?;
    }
    write(&bench.rows, &options.out_dir, options.quick)?;
    Ok(bench.rows)
}

impl Bench {
    fn lesson(&self, name: &str, rust_log: &'static str) -> Spec {
        Spec::lesson(&self.bin_dir, name, rust_log)
    }

    fn baseline(&self, kind: Baseline) -> Spec {
        Spec::baseline(&self.me, kind)
    }

    fn progress(&mut self, what: &str) {
        self.step += 1;
        eprintln!("[{:>4.0} s] {:>2}. {what}", self.started.elapsed().as_secs_f64(), self.step);
    }

    fn seconds(&self, full: u64) -> Duration {
        if self.quick { Duration::from_millis(700) } else { Duration::from_secs(full) }
    }

    /// Adds a row to the table, and returns its figures.
    fn push(&mut self, row: RowBuilder) -> Repeated {
        let row = row.build();
        let result = row.result;
        self.rows.push(row);
        result
    }

    /// HTTP requests from wrk, with the server on core 0 and wrk on core 1; where
    /// wrk, taskset or a second core is missing, from loadgen, unpinned, and the
    /// scenario says so.
    async fn http(&mut self) -> anyhow::Result<()> {
        let pinned = crate::wrk::available();
        let tool = if pinned { "wrk -t1, pinned" } else { "loadgen, unpinned: no wrk" };
        let cases: [(&str, usize, bool, u64); 2] = [
            ("keep-alive, 64 connections", 64, false, 5),
            ("new connection per request, 16 connections", 16, true, 3),
        ];
        for (scenario, connections, new_connection, seconds) in cases {
            let scenario = format!("{scenario} ({tool})");
            let scenario = scenario.as_str();
            let specs = [
                (self.baseline(Baseline::Http), "/"),
                (self.lesson("http_server", "warn"), "/hello?name=bench"),
                (self.lesson("http_server", "info"), "/hello?name=bench"),
                (self.lesson("http_ws_server", "warn"), "/api/online"),
            ];
            let mut baseline = None;
            for (spec, target) in specs {
                self.progress(&format!("HTTP {scenario}: {}", spec.label));
                let runs = self
                    .http_runs(&spec, target, connections, seconds, new_connection, pinned)
                    .await?;
                let with_goal = spec.label == "http_server" && !new_connection;
                let medians = self.throughput_rows(
                    &Place::new("HTTP", scenario, &spec.label),
                    "requests/s",
                    "req/s",
                    &runs,
                    baseline,
                    with_goal,
                );
                baseline.get_or_insert(medians);
            }
        }
        Ok(())
    }

    /// What TLS costs: lesson 07's `GET /api/online` over http:// and over https://
    /// (`--tls`), with a new connection per request (a TCP and a TLS handshake each
    /// time) and kept alive (the handshakes once). wrk, pinned, as for HTTP.
    fn tls(&mut self) -> anyhow::Result<()> {
        if !crate::wrk::available() {
            eprintln!("note: no wrk (apt-get install wrk): the TLS rows are left out");
            return Ok(());
        }
        let plain = self.lesson("http_ws_server", "warn");
        let tls = Spec {
            label: "http_ws_server --tls".to_string(),
            args: vec!["--tls".to_string()],
            ..plain.clone()
        };
        for (scenario, connections, new_connection) in [
            ("new connection per request, 16", 16, true),
            ("keep-alive, 16 connections", 16, false),
        ] {
            let mut baseline = None;
            for (spec, scheme) in [(&plain, "http"), (&tls, "https")] {
                self.progress(&format!("TLS cost, {scenario}: {}", spec.label));
                let mut runs = Vec::new();
                for _ in 0..self.repeats {
                    let server = spec.start_pinned();
                    let url = format!("{scheme}://{}/api/online", server.addr);
                    runs.push(crate::wrk::run_url(
                        &url,
                        connections,
                        self.seconds(3),
                        new_connection,
                    )?);
                }
                let at = Place::new("TLS cost", &format!("{scenario} (wrk, pinned)"), &spec.label);
                let medians =
                    self.throughput_rows(&at, "requests/s", "req/s", &runs, baseline, false);
                baseline.get_or_insert(medians);
            }
        }
        Ok(())
    }

    /// `repeats` runs of one HTTP case, each on a fresh server.
    async fn http_runs(
        &self,
        spec: &Spec,
        target: &str,
        connections: usize,
        seconds: u64,
        new_connection: bool,
        pinned: bool,
    ) -> anyhow::Result<Vec<load::Throughput>> {
        let mut runs = Vec::new();
        for _ in 0..self.repeats {
            let duration = self.seconds(seconds);
            runs.push(if pinned {
                let server = spec.start_pinned();
                crate::wrk::run(&server.addr, target, connections, duration, new_connection)?
            } else {
                let server = spec.start();
                load::http(&server.addr, target, connections, duration, new_connection).await
            });
        }
        Ok(runs)
    }

    async fn ws_echo(&mut self) -> anyhow::Result<()> {
        for (connections, size) in [(1usize, 32usize), (64, 32), (1, 64 * 1024), (64, 64 * 1024)] {
            let scenario = format!(
                "{connections} connection{}, {}",
                if connections == 1 { "" } else { "s" },
                bytes(size)
            );
            // Just under the lessons' 64 KiB limit, so the big case measures, not fails.
            let size = size.min(64 * 1024 - 64);
            let mut baseline = None;
            for spec in [
                self.baseline(Baseline::Echo),
                self.lesson("ws_echo_server", "warn"),
                self.lesson("ws_echo_server", "info"),
            ] {
                self.progress(&format!("WebSocket echo, {scenario}: {}", spec.label));
                let mut runs = Vec::new();
                for _ in 0..self.repeats {
                    let server = spec.start();
                    let url = format!("ws://{}/", server.addr);
                    runs.push(load::ws_echo(&url, connections, size, self.seconds(4)).await?);
                }
                let with_goal = spec.label == "ws_echo_server";
                let medians = self.throughput_rows(
                    &Place::new("WebSocket echo", &scenario, &spec.label),
                    "round trips/s",
                    "rt/s",
                    &runs,
                    baseline,
                    with_goal,
                );
                baseline.get_or_insert(medians);
            }
        }
        Ok(())
    }

    /// Four rows for a request/response load (rate, errors, p50, p99), each beside
    /// the baseline's median; the rate with the goal "≥ 0.9× baseline, no errors" if
    /// `with_goal`.
    /// Returns the medians, which serve as the baseline for the servers after it.
    fn throughput_rows(
        &mut self,
        at: &Place,
        rate_metric: &str,
        rate_unit: &str,
        runs: &[load::Throughput],
        baseline: Option<[f64; 3]>,
        with_goal: bool,
    ) -> [f64; 3] {
        let rates: Vec<f64> = runs.iter().map(|r| r.per_second).collect();
        let p50: Vec<f64> = runs.iter().map(|r| r.latency.p50_us as f64).collect();
        let p99: Vec<f64> = runs.iter().map(|r| r.latency.p99_us as f64).collect();
        let base = |i: usize| baseline.map(|b| b[i]);
        // A failed request or round trip is a loss: a run with one is never "met".
        let errors: Vec<f64> = runs.iter().map(|r| r.errors as f64).collect();
        let whole = runs.iter().all(|r| r.errors == 0);
        let goal = with_goal.then(|| {
            let fast = base(0).is_some_and(|b| stats::repeated(&rates).median >= 0.9 * b);
            ("≥ 0.9× baseline, no errors", fast && whole)
        });
        let rate =
            self.push(at.metric(rate_metric, rate_unit, &rates).baseline(base(0)).goal(goal));
        self.push(at.metric("errors", "count", &errors));
        [
            rate.median,
            self.push(at.metric("p50 latency", "µs", &p50).baseline(base(1))).median,
            self.push(at.metric("p99 latency", "µs", &p99).baseline(base(2))).median,
        ]
    }

    async fn fanout(&mut self) -> anyhow::Result<()> {
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
    async fn flood(&mut self) -> anyhow::Result<()> {
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
    async fn storm(&mut self) -> anyhow::Result<()> {
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
    async fn idle(&mut self) -> anyhow::Result<()> {
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

    /// Lesson 09 against lesson 07, in one run, with a real Redis (started here, on a
    /// free port; without redis-server the group is left out, with a note): a line
    /// from one instance to another against one instance, a fan-out over two
    /// instances against one, and how long a killed instance's people stay counted.
    /// Redis, the instances and the load share the two cores: not pinned.
    async fn cluster(&mut self) -> anyhow::Result<()> {
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
            self.push(at.metric("lines lost", "lines", &lost));
            let base = |pick: fn((f64, f64)) -> f64| reference.map(pick);
            let p50 = self.push(at.metric("p50 send→receive", "µs", &p50).baseline(base(|r| r.0)));
            let p99 = self.push(at.metric("p99 send→receive", "µs", &p99).baseline(base(|r| r.1)));
            reference.get_or_insert((p50.median, p99.median));
        }
        Ok(())
    }

    /// 100 clients, 1 sender, lines as fast as the server takes them: lesson 07 (one
    /// process), lesson 09 on one instance, and on two (50 clients each).
    async fn cluster_fanout(&mut self) -> anyhow::Result<()> {
        let total = if self.quick { 300 } else { 1000 };
        let plan = FanoutPlan {
            clients: 100,
            senders: 1,
            messages: total,
            rate: f64::INFINITY,
            stuck: 0,
            size: 64,
            protocol: Protocol::Json,
        };
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
            let rate = self.push(at.metric("deliveries/s", "msg/s", &rates).baseline(reference));
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

    /// A student's first `cargo run -p http_server`: lesson 01 built from nothing,
    /// beside a bare hyper hello world built from nothing in the same run.
    fn first_build(&mut self) -> anyhow::Result<()> {
        let root = self.me.ancestors().nth(3).context("no workspace")?.to_path_buf();
        let (mut lesson, mut hello, mut crates) = (Vec::new(), Vec::new(), (0, 0));
        for run in 0..self.repeats {
            self.progress(&format!(
                "first build, from nothing: http_server and a hyper hello ({})",
                run + 1
            ));
            let built = crate::first_build::lesson(&root, "http_server")?;
            lesson.push(built.seconds);
            crates.0 = built.crates;
            let built = crate::first_build::hello(&root)?;
            hello.push(built.seconds);
            crates.1 = built.crates;
        }
        let baseline = stats::repeated(&hello).median;
        let place =
            |server: &str| Place::new("First build", "cargo build from nothing (debug)", server);
        self.push(place("baseline: a bare hyper hello").metric("build time", "s", &hello));
        let met = stats::repeated(&lesson).median <= 1.5 * baseline;
        self.push(
            place("http_server")
                .metric("build time", "s", &lesson)
                .baseline(Some(baseline))
                .goal(Some(("≤ 1.5× the hello", met))),
        );
        let count = |n: usize| [f64::from(u32::try_from(n).unwrap_or(u32::MAX))];
        self.push(place("baseline: a bare hyper hello").metric(
            "crates compiled",
            "",
            &count(crates.1),
        ));
        self.push(place("http_server").metric("crates compiled", "", &count(crates.0)));
        Ok(())
    }

    /// The student's loop: change one lesson, build it again.
    fn edit_run(&mut self) -> anyhow::Result<()> {
        let root = self.me.ancestors().nth(3).context("no workspace")?.to_path_buf();
        let lessons: &[&str] = if self.quick {
            &["http_server"]
        } else {
            &["http_server", "ws_chat_server", "http_ws_server"]
        };
        for lesson in lessons {
            self.progress(&format!("edit and build: {lesson}"));
            let mut times = Vec::new();
            for _ in 0..self.repeats {
                touch(&root.join("crates").join(lesson).join("src/main.rs"))?;
                let started = Instant::now();
                let status =
                    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                        .args(["build", "--quiet", "-p", lesson])
                        .current_dir(&root)
                        .status()
                        .context("cargo build")?;
                if !status.success() {
                    anyhow::bail!("cargo build -p {lesson} failed");
                }
                times.push(started.elapsed().as_secs_f64());
            }
            let met = stats::repeated(&times).median < 3.0;
            self.push(
                Place::new("Edit and build", "touch main.rs; cargo build -p", lesson)
                    .metric("build time", "s", &times)
                    .goal(Some(("< 3 s", met))),
            );
        }
        Ok(())
    }
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

fn touch(path: &Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    file.set_modified(std::time::SystemTime::now())?;
    Ok(())
}

fn bytes(size: usize) -> String {
    if size >= 1024 { format!("{} KiB", size / 1024) } else { format!("{size} B") }
}

/// The table as markdown: one line per row.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| group | scenario | server | metric | median | spread (min-max) | baseline | ratio | goal |\n",
    );
    out.push_str("|---|---|---|---|---:|---:|---:|---:|---|\n");
    for row in rows {
        let goal = match (&row.goal, row.met) {
            (Some(goal), Some(true)) => format!("{goal}: met"),
            (Some(goal), Some(false)) => format!("{goal}: **missed**"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} {} | {}-{} | {} | {} | {} |\n",
            row.group,
            row.scenario,
            row.server,
            row.metric,
            number(row.result.median),
            row.unit,
            number(row.result.min),
            number(row.result.max),
            row.baseline.map(number).unwrap_or_default(),
            row.ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
            goal
        ));
    }
    out
}

fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn write(rows: &[Row], dir: &Path, quick: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name = if quick { "quick" } else { "results" };
    let machine = format!(
        "{} cores; {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        if quick { "--quick: 1 run each, short durations" } else { "medians of 3 runs" }
    );
    let md = format!("# Benchmark results\n\n{machine}.\n\n{}", markdown(rows));
    std::fs::write(dir.join(format!("{name}.md")), md)?;
    let json = serde_json::to_string_pretty(rows)?;
    std::fs::write(dir.join(format!("{name}.json")), json)?;
    Ok(())
}
