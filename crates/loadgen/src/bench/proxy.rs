//! Lesson 10: what nginx in front of two lesson-09 instances costs (handshake time
//! and fan-out, through nginx against straight to the instances, in the same run),
//! and a rolling restart behind it: clients moved, time until all are back, lines
//! lost.

use testkit::Program;
use testkit::nginx::Nginx;
use testkit::redis::Redis;
use testkit::sayer::Sayer;

use super::*;

/// The address nginx connects to the instances from (proxy/nginx.conf's `proxy_bind`).
const PROXY: &str = "127.0.0.2";

/// Redis, two instances of lesson 10 and nginx in front of them, for one run.
struct Behind {
    _redis: Redis,
    instances: Vec<Server>,
    nginx: Nginx,
    spec: Spec,
    redis_url: String,
}

impl Behind {
    /// Instance `n` again, at the address it had (after it exited).
    fn restart(&mut self, n: usize) {
        let addr = self.instances[n].addr.clone();
        let args = ["--redis", &self.redis_url, "--trust-proxy", PROXY, "--addr", &addr];
        let env = [("RUST_LOG", self.spec.rust_log)];
        self.instances[n] = Server::start_with(&self.spec.program, &args, &env);
    }
}

impl Bench {
    /// Lesson 10, with a real Redis and a real nginx (started here, on free ports;
    /// without either the group is left out, with a note). Not pinned: Redis, two
    /// instances, nginx and the load share the two cores.
    pub(super) async fn proxy(&mut self) -> anyhow::Result<()> {
        let needed = [&testkit::tools::REDIS, &testkit::tools::NGINX];
        if !testkit::tools::available("the proxy benchmark", &needed) {
            return Ok(());
        }
        self.proxy_handshakes().await?;
        self.proxy_fanout().await?;
        self.rolling_restart()?;
        Ok(())
    }

    /// Redis, two instances logging at `rust_log`, and nginx in front of them.
    fn behind_nginx(&self, rust_log: &'static str) -> anyhow::Result<Behind> {
        let redis = Redis::start("bench-proxy").context("no redis-server")?;
        let mut spec = self.lesson("http_ws_proxied", rust_log);
        spec.args = vec!["--redis".into(), redis.url(), "--trust-proxy".into(), PROXY.into()];
        let instances = vec![spec.start(), spec.start()];
        let nginx = Nginx::start("bench-proxy", [&instances[0].addr, &instances[1].addr], |c| c)
            .context("no nginx")?;
        let redis_url = redis.url();
        Ok(Behind { _redis: redis, instances, nginx, spec, redis_url })
    }

    /// p50 and p99 of a WebSocket handshake (TCP connect to the 101), one after
    /// another: straight to an instance, and through nginx.
    async fn proxy_handshakes(&mut self) -> anyhow::Result<()> {
        let count = if self.quick { 50 } else { 300 };
        let scenario = format!("WebSocket handshakes, {count} one after another");
        let mut reference = None;
        for label in ["09, straight to an instance", "09, through nginx"] {
            self.progress(&format!("proxy handshakes: {label}"));
            let (mut p50, mut p99) = (Vec::new(), Vec::new());
            for _ in 0..self.repeats {
                let behind = self.behind_nginx("warn")?;
                let addr = if label.contains("nginx") {
                    behind.nginx.addr.clone()
                } else {
                    behind.instances[0].addr.clone()
                };
                let url = format!("ws://{addr}/ws");
                let mut samples = Vec::with_capacity(count);
                for _ in 0..count {
                    let started = Instant::now();
                    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
                    samples.push(stats::micros(started.elapsed()));
                    let _ = ws.close(None).await;
                }
                let latency = stats::latency(samples);
                p50.push(latency.p50_us as f64);
                p99.push(latency.p99_us as f64);
            }
            let at = Place::new("Proxy (10, nginx)", &scenario, label);
            let base = |pick: fn((f64, f64)) -> f64| reference.map(pick);
            let p50 = self.push(at.metric("p50 handshake", "µs", &p50).baseline(base(|r| r.0)));
            let p99 = self.push(at.metric("p99 handshake", "µs", &p99).baseline(base(|r| r.1)));
            reference.get_or_insert((p50.median, p99.median));
        }
        Ok(())
    }

    /// 100 clients on two instances, 1 sender, lines as fast as the room takes them:
    /// straight to the instances (50 each), and all through nginx.
    async fn proxy_fanout(&mut self) -> anyhow::Result<()> {
        let total = if self.quick { 300 } else { 1000 };
        let plan = FanoutPlan::room_flood(total);
        let scenario = format!("100 clients on two instances, 1 sender, {total} lines flooded");
        let mut reference = None;
        for label in ["09, straight to the instances", "09, through nginx"] {
            self.progress(&format!("proxy fan-out: {label}"));
            let (mut rates, mut lost) = (Vec::new(), Vec::new());
            for _ in 0..self.repeats {
                let behind = self.behind_nginx("warn")?;
                let urls: Vec<String> = if label.contains("nginx") {
                    vec![format!("ws://{}/ws", behind.nginx.addr)]
                } else {
                    behind.instances.iter().map(|s| format!("ws://{}/ws", s.addr)).collect()
                };
                let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
                let result = load::fanout_across(&urls, plan).await?;
                rates.push(result.deliveries_per_second);
                lost.push(percent(result.lost + result.out_of_order, result.expected));
            }
            let at = Place::new("Proxy (10, nginx)", &scenario, label);
            let rate = self.push(at.metric("deliveries/s", "msg/s", &rates).baseline(reference));
            self.push(at.metric("lost or reordered", "%", &lost));
            reference.get_or_insert(rate.median);
        }
        Ok(())
    }

    /// 20 lesson-08 clients through nginx while a line is said through it every 10 ms
    /// (plus the request); each instance in turn gets SIGTERM and starts again. How many clients
    /// moved, how long until the last was back, and how many lines any client lost
    /// or saw twice (the goal: none).
    fn rolling_restart(&mut self) -> anyhow::Result<()> {
        let clients = 20;
        let scenario = format!(
            "rolling restart of both instances, {clients} lesson-08 clients, a line every 10 ms"
        );
        self.progress("proxy: rolling restart");
        let (mut moved, mut back, mut lost) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.repeats {
            // At `info`: who joined where, and when nginx reaches a restarted one.
            let mut behind = self.behind_nginx("info")?;
            let url = format!("ws://{}/ws", behind.nginx.addr);
            let client_bin = self.bin_dir.join("ws_reconnect_client");
            let mut programs: Vec<Program> = (0..clients)
                .map(|_| {
                    let mut client = Program::start_interactive(&client_bin, &["--addr", &url]);
                    client.wait_for("* you are ");
                    client
                })
                .collect();
            let sayer = Sayer::start(behind.nginx.addr.clone(), 1, Duration::from_millis(10));
            sayer.wait_for_more(50);
            let (mut moved_here, mut back_here) = (0, 0.0f64);
            for n in 0..2 {
                let (count, took) = restart_one(&mut behind, n, &mut programs);
                moved_here += count;
                back_here = back_here.max(took.as_secs_f64());
            }
            sayer.wait_for_more(50);
            let (last, _) = sayer.stop();
            let wrong: usize = programs.iter_mut().map(|client| wrong_lines(client, last)).sum();
            moved.push(moved_here as f64);
            back.push(back_here);
            lost.push(wrong as f64);
        }
        let at = Place::new("Proxy (10, nginx)", &scenario, "09, through nginx");
        self.push(at.metric("clients moved (both restarts)", "clients", &moved));
        self.push(at.metric("SIGTERM until all are back (worst)", "s", &back));
        let none = lost.iter().all(|l| *l == 0.0);
        self.push(
            at.metric("lines lost, repeated or reordered", "lines", &lost)
                .goal(Some(("0 in every run", none))),
        );
        Ok(())
    }
}

/// How many of lines 1 to `last` `client` missed, saw twice or out of order, once it
/// has shown the last and quit.
fn wrong_lines(client: &mut Program, last: u64) -> usize {
    client.wait_for(&format!("say: line {last}"));
    client.type_line("/quit");
    let (_, output) = client.wait_exit(Duration::from_secs(10));
    let lines: Vec<u64> =
        output.iter().filter_map(|l| l.strip_prefix("say: line ")?.parse().ok()).collect();
    let missing = (1..=last).filter(|n| !lines.contains(n)).count();
    let expected = usize::try_from(last).unwrap_or(usize::MAX);
    let extra = (lines.len() + missing).saturating_sub(expected);
    let disorder = lines.windows(2).filter(|w| w[1] <= w[0]).count();
    missing + extra + disorder
}

/// Instance `n` gets SIGTERM; returns how many clients were on it and how long until
/// every one of them was welcomed again (through nginx, by the other instance). It is
/// started again at its address, and nginx sends it a request again, before this
/// returns.
fn restart_one(behind: &mut Behind, n: usize, clients: &mut [Program]) -> (usize, Duration) {
    let log = behind.instances[n].program.output();
    let on_it: Vec<usize> = (0..clients.len())
        .filter(|&i| {
            let output = clients[i].output();
            let name = output.iter().rev().find_map(|l| l.strip_prefix("* you are "));
            let name = name.and_then(|rest| rest.split(" (").next()).unwrap_or_default();
            let joined = format!("joined as {name}");
            log.iter().any(|line| line.ends_with(&joined))
        })
        .collect();
    let stopped = Instant::now();
    let pid = behind.instances[n].program.pid();
    testkit::process::signal(pid, testkit::process::SIGTERM).expect("send SIGTERM");
    for &i in &on_it {
        clients[i].wait_for("1001");
        clients[i].wait_for("* you are ");
    }
    let took = stopped.elapsed();
    let _ = behind.instances[n].program.wait_exit(Duration::from_secs(10));
    behind.restart(n);
    behind.instances[n].program.wait_for(&format!("via {PROXY}:"));
    (on_it.len(), took)
}
