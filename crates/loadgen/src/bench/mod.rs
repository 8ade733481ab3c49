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

mod build;
mod cluster;
mod echo;
mod fanout;
mod http;
mod proxy;
mod push;

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
    pub(crate) fn start_pinned(&self) -> Server {
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
    bench.groups(&options.only).await?;
    write(&bench.rows, &options.out_dir, options.quick)?;
    Ok(bench.rows)
}

impl Bench {
    /// Runs the groups in `only` (every group if it is empty), in the table's order.
    async fn groups(&mut self, only: &[String]) -> anyhow::Result<()> {
        let bench = self;
        let wants = |group: &str| only.is_empty() || only.iter().any(|g| g == group);
        if wants("http") {
            bench.http().await?;
        }
        if wants("defences") {
            bench.defences()?;
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
        if wants("proxy") {
            bench.proxy().await?;
        }
        if wants("push") {
            bench.http_push()?;
        }
        if wants("build") {
            bench.first_build()?;
            bench.edit_run()?;
        }
        Ok(())
    }
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
