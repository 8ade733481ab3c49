//! Lesson 13: one room heard four ways (WebSocket, Server-Sent Events, long polling,
//! polling), each beside the WebSocket in the same run: bytes on the wire for each
//! line delivered, latency from say to hear, what an idle client costs (bytes a
//! minute, server memory), and the server's CPU for 1,000 clients at a line a
//! second. The server runs on one core, the load (`loadgen push`) on the other.

use super::*;
use crate::push::{Report, Way};

const WAYS: [Way; 4] = [Way::Websocket, Way::Events, Way::LongPoll, Way::Poll];

/// A load started on the core the server is not on, and the server's figures at
/// the moments it names (`ready`: every client in; `done`: every line heard).
struct Pinned {
    load: testkit::Program,
}

impl Pinned {
    fn start(
        me: &Path,
        addr: &str,
        way: Way,
        clients: usize,
        lines: u64,
        rate: f64,
        hold: f64,
    ) -> Pinned {
        let (clients, lines, rate, hold) =
            (clients.to_string(), lines.to_string(), rate.to_string(), hold.to_string());
        let me = me.to_string_lossy();
        let args = [
            "-c",
            crate::wrk::LOAD_CPU,
            &me,
            "push",
            "--addr",
            addr,
            "--way",
            way.name(),
            "--clients",
            &clients,
            "--lines",
            &lines,
            "--rate",
            &rate,
            "--hold",
            &hold,
        ];
        Pinned { load: testkit::Program::start(Path::new("taskset"), &args) }
    }

    fn wait_for(&mut self, line: &str) {
        self.load.wait_for_within(line, Duration::from_secs(120));
    }

    fn report(mut self) -> anyhow::Result<Report> {
        let (status, output) = self.load.wait_exit(Duration::from_secs(120));
        let line = output.iter().find_map(|line| line.strip_prefix("report "));
        match line {
            Some(json) if status.success() => Ok(serde_json::from_str(json)?),
            _ => anyhow::bail!("loadgen push failed: {status}: {output:?}"),
        }
    }
}

/// The CPU time a process has used, user and system, in seconds (Linux counts it in
/// ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3 of the whole line; utime 14, stime 15.
    let ticks = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(14) + ticks(15)) / 100.0
}

impl Bench {
    pub(super) fn http_push(&mut self) -> anyhow::Result<()> {
        if !crate::wrk::can_pin() {
            eprintln!("note: the push group needs taskset and two cores; left out");
            return Ok(());
        }
        self.push_delivery()?;
        self.push_idle()?;
        self.push_cpu()?;
        Ok(())
    }

    /// 100 clients each way, one sender, 100 lines at 10 a second.
    fn push_delivery(&mut self) -> anyhow::Result<()> {
        let (clients, lines, rate) = if self.quick { (20, 20, 10.0) } else { (100, 100, 10.0) };
        let scenario = format!("{clients} clients, {lines} lines at {rate}/s");
        let spec = self.lesson("http_push", "warn");
        let mut websocket: Option<[f64; 3]> = None;
        for way in WAYS {
            self.progress(&format!("push, {scenario}: {}", way.label()));
            let (mut bytes, mut p50, mut p99, mut lost) = (vec![], vec![], vec![], vec![]);
            for _ in 0..self.repeats {
                let server = spec.start_pinned();
                let load = Pinned::start(&self.me, &server.addr, way, clients, lines, rate, 0.0);
                let report = load.report()?;
                bytes.push(report.bytes as f64 / report.heard.max(1) as f64);
                p50.push(report.latency.p50_us as f64);
                p99.push(report.latency.p99_us as f64);
                lost.push((report.lost + report.disordered) as f64);
            }
            let at = Place::new("Push (13)", &scenario, way.label());
            let base = |i: usize| websocket.filter(|_| way != Way::Websocket).map(|b| b[i]);
            let medians = [
                self.push(at.metric("bytes per line delivered", "B", &bytes).baseline(base(0)))
                    .median,
                self.push(at.metric("p50 say to hear", "µs", &p50).baseline(base(1))).median,
                self.push(at.metric("p99 say to hear", "µs", &p99).baseline(base(2))).median,
            ];
            self.push(at.metric("lines lost or out of order", "lines", &lost));
            websocket.get_or_insert(medians);
        }
        Ok(())
    }

    /// 1,000 idle clients each way, on four servers at once: bytes each costs a
    /// minute (pings, comments, empty answers) and the server's memory for each.
    fn push_idle(&mut self) -> anyhow::Result<()> {
        let (clients, hold) = if self.quick { (100, 3.0) } else { (1000, 30.0) };
        let scenario = format!("{clients} idle clients, {hold} s");
        self.progress(&format!("push, {scenario}: the four ways at once"));
        let spec = self.lesson("http_push", "warn");
        let mut bytes = vec![Vec::new(); WAYS.len()];
        let mut per_request = vec![Vec::new(); WAYS.len()];
        let mut memory = vec![Vec::new(); WAYS.len()];
        for _ in 0..self.repeats {
            let servers: Vec<Server> = WAYS.iter().map(|_| spec.start_pinned()).collect();
            let before: Vec<f64> = servers.iter().map(rss_mib).collect();
            let mut loads: Vec<Pinned> = WAYS
                .iter()
                .zip(&servers)
                .map(|(way, server)| {
                    Pinned::start(&self.me, &server.addr, *way, clients, 0, 1.0, hold)
                })
                .collect();
            for (n, load) in loads.iter_mut().enumerate() {
                load.wait_for("ready");
                memory[n].push((rss_mib(&servers[n]) - before[n]) * 1024.0 / clients as f64);
            }
            for (n, load) in loads.into_iter().enumerate() {
                let report = load.report()?;
                bytes[n].push(report.bytes as f64 / clients as f64 * 60.0 / report.seconds);
                if report.requests > 0 {
                    per_request[n].push(report.bytes as f64 / report.requests as f64);
                }
            }
        }
        let mut websocket: Option<[f64; 2]> = None;
        for (n, way) in WAYS.into_iter().enumerate() {
            let at = Place::new("Push (13)", &scenario, way.label());
            let base = |i: usize| websocket.filter(|_| way != Way::Websocket).map(|b| b[i]);
            let medians = [
                self.push(at.metric("bytes a minute, each", "B", &bytes[n]).baseline(base(0)))
                    .median,
                self.push(at.metric("server memory, each", "KiB", &memory[n]).baseline(base(1)))
                    .median,
            ];
            if !per_request[n].is_empty() {
                // An empty poll: its request and its `[]`, heads and all.
                self.push(at.metric("bytes an empty poll", "B", &per_request[n]));
            }
            websocket.get_or_insert(medians);
        }
        Ok(())
    }

    /// 1,000 clients each way and a line a second: the server's CPU, as a share of
    /// its one core.
    fn push_cpu(&mut self) -> anyhow::Result<()> {
        let (clients, lines) = if self.quick { (100, 3) } else { (1000, 15) };
        let scenario = format!("{clients} clients, {lines} lines at 1/s");
        let spec = self.lesson("http_push", "warn");
        let mut websocket = None;
        for way in WAYS {
            self.progress(&format!("push, {scenario}: {}", way.label()));
            let (mut cpu, mut lost) = (Vec::new(), Vec::new());
            for _ in 0..self.repeats {
                let server = spec.start_pinned();
                let pid = server.program.pid();
                let mut load = Pinned::start(&self.me, &server.addr, way, clients, lines, 1.0, 0.0);
                load.wait_for("ready");
                let (began, used) = (Instant::now(), cpu_seconds(pid));
                load.wait_for("done");
                cpu.push((cpu_seconds(pid) - used) / began.elapsed().as_secs_f64() * 100.0);
                let report = load.report()?;
                lost.push((report.lost + report.disordered) as f64);
            }
            let at = Place::new("Push (13)", &scenario, way.label());
            let base = websocket.filter(|_| way != Way::Websocket);
            let median =
                self.push(at.metric("server CPU", "% of a core", &cpu).baseline(base)).median;
            self.push(at.metric("lines lost or out of order", "lines", &lost));
            websocket.get_or_insert(median);
        }
        Ok(())
    }
}
