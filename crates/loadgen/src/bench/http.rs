//! HTTP over loopback: wrk against each lesson server and hyper's hello world, and the
//! cost of TLS.

use super::*;

impl Bench {
    /// HTTP requests from wrk, with the server on core 0 and wrk on core 1; where
    /// wrk, taskset or a second core is missing, from loadgen, unpinned, and the
    /// scenario says so.
    pub(super) async fn http(&mut self) -> anyhow::Result<()> {
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
            // Round by round, each server once a round: this machine's speed drifts
            // by a tenth from minute to minute, and then drifts for all of them alike,
            // rather than for whichever ran last.
            let mut runs = vec![Vec::new(); specs.len()];
            for _ in 0..self.repeats {
                for ((spec, target), runs) in specs.iter().zip(&mut runs) {
                    self.progress(&format!("HTTP {scenario}: {}", spec.label));
                    let load = (connections, seconds, new_connection);
                    runs.push(self.http_run(spec, target, load, pinned).await?);
                }
            }
            let mut baseline = None;
            for ((spec, _), runs) in specs.iter().zip(&runs) {
                let with_goal = spec.label == "http_server" && !new_connection;
                let medians = self.throughput_rows(
                    &Place::new("HTTP", scenario, &spec.label),
                    "requests/s",
                    "req/s",
                    runs,
                    baseline,
                    with_goal.then_some(0.95),
                );
                baseline.get_or_insert(medians);
            }
        }
        Ok(())
    }

    /// What each of lesson 01's defences costs alone: hyper's hello world with one
    /// of them at a time, then lesson 01 with all of them (logging off, and on), each
    /// beside the hello world of the same run. Keep-alive, 64 connections, wrk pinned.
    /// A log line goes to a pipe that the bench reads (as `cargo run` in a terminal
    /// sends it to the terminal, through a pseudo-terminal: that row is here too), or
    /// to a file.
    pub(super) fn defences(&mut self) -> anyhow::Result<()> {
        if !crate::wrk::available() {
            eprintln!("note: no wrk (apt-get install wrk): the defence rows are left out");
            return Ok(());
        }
        let log_file = std::env::temp_dir().join(format!("bench-log-{}", std::process::id()));
        let specs = self.defence_specs(&log_file);
        let scenario = "keep-alive, 64 connections (wrk -t1, pinned)";
        // Round by round, as in `http`: a drift of the machine's speed then reaches
        // every row alike.
        let mut runs = vec![Vec::new(); specs.len()];
        for _ in 0..self.repeats {
            for (spec, runs) in specs.iter().zip(&mut runs) {
                self.progress(&format!("Lesson 01's defences, one at a time: {}", spec.label));
                let server = spec.start_pinned();
                let duration = self.seconds(5);
                runs.push(crate::wrk::run(&server.addr, "/hello?name=bench", 64, duration, false)?);
            }
        }
        let mut baseline = None;
        for (spec, runs) in specs.iter().zip(&runs) {
            let at = Place::new("HTTP defences", scenario, &spec.label);
            let medians = self.throughput_rows(&at, "requests/s", "req/s", runs, baseline, None);
            baseline.get_or_insert(medians);
        }
        let _ = std::fs::remove_file(&log_file);
        Ok(())
    }

    /// The servers of the defence rows, in order: the hello world first. A file log
    /// goes to `log_file`.
    fn defence_specs(&self, log_file: &Path) -> Vec<Spec> {
        let me = self.me.to_string_lossy().into_owned();
        let logging = self.baseline(Baseline::HttpLogging);
        let shell = |label: &str, command: &str| Spec {
            label: label.to_string(),
            program: "sh".into(),
            // `$0 $@` is this loadgen, its `baseline http-logging`, and the `--addr`
            // that `start` adds.
            args: vec![
                "-c".into(),
                command.into(),
                me.clone(),
                "baseline".into(),
                "http-logging".into(),
            ],
            rust_log: "info",
        };
        let to_file = format!("exec \"$0\" \"$@\" 2>'{}'", log_file.display());
        vec![
            self.baseline(Baseline::Http),
            self.baseline(Baseline::HttpTimeout),
            self.baseline(Baseline::HttpHeadLimit),
            self.baseline(Baseline::HttpGraceful),
            self.baseline(Baseline::HttpRouting),
            Spec { label: format!("{}, RUST_LOG=warn (off)", logging.label), ..logging.clone() },
            Spec {
                label: format!("{}, to a pipe", logging.label),
                rust_log: "info",
                ..logging.clone()
            },
            shell(&format!("{}, to a file", logging.label), &to_file),
            shell(
                &format!("{}, to a terminal (script)", logging.label),
                "exec script -qefc \"$0 $*\" /dev/null",
            ),
            self.lesson("http_server", "warn"),
            self.lesson("http_server", "info"),
        ]
    }

    /// What TLS costs: lesson 07's `GET /api/online` over http:// and over https://
    /// (`--tls`), with a new connection per request (a TCP and a TLS handshake each
    /// time) and kept alive (the handshakes once). wrk, pinned, as for HTTP.
    pub(super) fn tls(&mut self) -> anyhow::Result<()> {
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
                    self.throughput_rows(&at, "requests/s", "req/s", &runs, baseline, None);
                baseline.get_or_insert(medians);
            }
        }
        Ok(())
    }

    /// One run of an HTTP load, `(connections, seconds, a new connection per
    /// request)`, against a fresh `spec` server: wrk, pinned, or loadgen.
    async fn http_run(
        &self,
        spec: &Spec,
        target: &str,
        (connections, seconds, new_connection): (usize, u64, bool),
        pinned: bool,
    ) -> anyhow::Result<load::Throughput> {
        let duration = self.seconds(seconds);
        Ok(if pinned {
            let server = spec.start_pinned();
            crate::wrk::run(&server.addr, target, connections, duration, new_connection)?
        } else {
            let server = spec.start();
            load::http(&server.addr, target, connections, duration, new_connection).await
        })
    }
}
