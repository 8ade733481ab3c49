//! Lesson 10, black-box: nginx (Debian's, started with the repository's
//! `proxy/nginx.conf`, in a folder of its own, stopped by its process id) in front of
//! two real instances of lesson 10's server (lesson 09's with `--trust-proxy`) and a real Redis, every one on a free
//! port. Without nginx or redis-server, each test prints one line and passes (CI
//! installs both and sets LESSONS_REQUIRE_TOOLS=1, under which they fail instead).

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::http::get;
use testkit::nginx::{self, Nginx};
use testkit::page::{self, assert_matches, block};
use testkit::redis::Redis;
use testkit::sayer::Sayer;
use testkit::ws::{self, Within};
use testkit::{Program, Server, TIMEOUT, bin_path, process, tools};

const PAGE: &str = "10-behind-a-proxy.md";
/// The address nginx connects to the instances from (`proxy_bind`).
const PROXY: &str = "127.0.0.2";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_ws_proxied"))
}

/// One instance at `addr` (the page's `page_addr`), meeting the others at `redis`.
fn instance(redis: &Redis, addr: &str, page_addr: &str, args: &[&str]) -> Server {
    page::map_address(addr, page_addr);
    let mut all = vec!["--addr", addr];
    all.extend_from_slice(args);
    let server = Server::start_with(bin(), &all, &[("LESSON_REDIS", &redis.url())]);
    page::map_address(&server.addr, page_addr);
    server
}

/// Redis, and two instances (the page's 5004 and 5005) started with `args`.
fn cluster(test: &str, args: &[&str]) -> Option<(Redis, Server, Server)> {
    if !tools::available(test, &[&tools::NGINX]) {
        return None;
    }
    let redis = Redis::start(test)?;
    let a = instance(&redis, &testkit::free_addr(), nginx::INSTANCES[0], args);
    let b = instance(&redis, &testkit::free_addr(), nginx::INSTANCES[1], args);
    Some((redis, a, b))
}

/// Everything page 10 runs: Redis, two instances that trust the proxy, and nginx
/// with the config as `edit` leaves it.
fn behind_nginx(
    test: &str,
    args: &[&str],
    edit: impl FnOnce(String) -> String,
) -> Option<(Redis, Server, Server, Nginx)> {
    let (redis, a, b) = cluster(test, args)?;
    let nginx = Nginx::start(test, [&a.addr, &b.addr], edit)?;
    Some((redis, a, b, nginx))
}

/// The config with every line that contains `needle` taken out.
fn without(needle: &'static str) -> impl FnOnce(String) -> String {
    move |config| config.lines().filter(|l| !l.contains(needle)).collect::<Vec<_>>().join("\n")
}

#[test]
fn through_nginx_http_and_websocket_reach_both_instances() {
    let trust = ["--trust-proxy", PROXY];
    let Some((_redis, mut a, mut b, mut nginx)) = behind_nginx("nginx-run", &trust, |c| c) else {
        return;
    };
    // curl, twice, as the page does: nginx takes the instances in turn.
    let curl = block(PAGE, "curl-online");
    for _ in 0..2 {
        let shown = tools::curl(&curl, nginx::FRONT, &nginx.addr);
        assert_matches(&curl, &shown);
    }
    nginx.wait_for(&format!("-> {}", b.addr));
    let log = block(PAGE, "nginx-log");
    let output = nginx.output();
    assert_matches(&log, &output[..2]);
    // Each instance logs the client's address, not the proxy's.
    let served = a.program.wait_for("GET /api/online -> 200 OK");
    assert!(served.contains(&format!("127.0.0.1 via {PROXY}:")), "{served}");
    let served = b.program.wait_for("GET /api/online -> 200 OK");
    assert!(served.contains(&format!("127.0.0.1 via {PROXY}:")), "{served}");
    let shown = block(PAGE, "instance-log");
    assert_matches(&shown, &[served]);

    // Lesson 08's client through nginx, as the page runs it.
    let client = block(PAGE, "client");
    run_client_block(&client, &[(nginx::FRONT, &nginx.addr)]);

    // Two WebSockets through nginx: one on each instance, and one room.
    let (mut ann, _) = ws::open(&nginx.addr, "/ws");
    let welcome = ws::read_data(&mut ann);
    assert!(welcome.text().contains(r#""type":"welcome""#), "{welcome:?}");
    let (mut bob, _) = ws::open(&nginx.addr, "/ws");
    ws::read_data(&mut bob);
    // nginx logs a WebSocket when it ends; the instances, when it starts.
    a.program.wait_for("GET /ws -> 101 Switching Protocols");
    b.program.wait_for("GET /ws -> 101 Switching Protocols");
    ws::send_text(&mut bob, r#"{"type":"chat","text":"through nginx"}"#);
    loop {
        let message = ws::read_data(&mut ann);
        if message.text().contains("through nginx") {
            break;
        }
    }
}

#[test]
fn without_the_upgrade_lines_the_handshake_fails() {
    let trust = ["--trust-proxy", PROXY];
    let edit = |config: String| {
        let config = without("proxy_set_header Upgrade")(config);
        without("proxy_set_header Connection")(config)
    };
    let Some((_redis, mut a, mut b, nginx)) = behind_nginx("nginx-no-upgrade", &trust, edit) else {
        return;
    };
    // Lesson 08 tries, is refused with 426, and tries again later.
    let mut client = Program::start_interactive(
        &bin_path("ws_reconnect_client"),
        &["--addr", &format!("ws://{}/ws", nginx.addr)],
    );
    client.wait_for("Reconnecting in");
    let shown = block(PAGE, "no-upgrade-client");
    let output = client.output();
    let from = output.iter().position(|l| l.contains("answered 426")).expect("a 426");
    assert_matches(&shown, &output[from..=from + 1]);
    client.kill();
    // The instance saw a GET without the upgrade headers: nginx sent `Connection:
    // close` and no `Upgrade`.
    let deadline = Instant::now() + TIMEOUT;
    let refused = loop {
        let seen = [a.program.output(), b.program.output()].concat();
        if let Some(line) = seen.iter().find(|l| l.contains("GET /ws -> 426")) {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "no 426 in the instances' logs: {seen:#?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_matches(&block(PAGE, "no-upgrade-server"), &[refused]);
}

/// How long a WebSocket through nginx stays open when nobody says anything, with
/// `proxy_read_timeout` and the server's heartbeat as given: `None` if it is still
/// open after `watch`.
fn silent_for(timeout: &str, heartbeat: &str, watch: Duration) -> Option<Option<Duration>> {
    let args = ["--trust-proxy", PROXY, "--heartbeat", heartbeat];
    let edit = move |config: String| {
        config.replace("proxy_read_timeout 60s;", &format!("proxy_read_timeout {timeout};"))
    };
    let (_redis, _a, _b, nginx) = behind_nginx("nginx-timeout", &args, edit)?;
    // A client that says nothing of its own, and answers the server's Pings as every
    // WebSocket client does (a browser, too).
    let (mut stream, _) = ws::open(&nginx.addr, "/ws");
    let opened = Instant::now();
    loop {
        let left = watch.saturating_sub(opened.elapsed());
        if left.is_zero() {
            return Some(None);
        }
        match ws::read_frame_within(&mut stream, left) {
            Within::Frame(frame) if frame.opcode == ws::PING => {
                ws::send(&mut stream, ws::PONG, &frame.payload, true);
            }
            Within::Frame(_) => {}
            Within::Closed => return Some(Some(opened.elapsed())),
            Within::Nothing => return Some(None),
        }
    }
}

/// The 60-second cut, in 2 seconds: a `proxy_read_timeout` shorter than the
/// heartbeat cuts a silent WebSocket; one longer than it never does.
#[test]
fn a_read_timeout_shorter_than_the_heartbeat_cuts_a_silent_websocket() {
    let Some(cut) = silent_for("2s", "5", Duration::from_secs(8)) else { return };
    let cut = cut.expect("with a 2 s timeout and a 5 s heartbeat, nginx cuts the connection");
    println!("proxy_read_timeout 2s, heartbeat 5 s: cut after {:.1} s", cut.as_secs_f64());
    assert!(cut >= Duration::from_millis(1900) && cut < Duration::from_secs(5), "{cut:?}");
    let Some(kept) = silent_for("2s", "1", Duration::from_secs(6)) else { return };
    println!("proxy_read_timeout 2s, heartbeat 1 s: {kept:?} (None: open after 6 s)");
    assert_eq!(kept, None, "with a 1 s heartbeat, a 2 s timeout never fires");
    let table = [
        "| proxy_read_timeout | server's heartbeat | a silent WebSocket |".to_string(),
        "|---|---|---|".to_string(),
        "| 2s | 5 s | cut after 2 s |".to_string(),
        "| 2s | 1 s | still open after 6 s |".to_string(),
    ];
    assert_matches(&block(PAGE, "timeout-table"), &table);
}

#[test]
fn the_server_believes_x_forwarded_for_only_from_the_proxy() {
    // Trusting the proxy: the client's address, and a forged header straight to an
    // instance is ignored, and logged.
    let trust = ["--trust-proxy", PROXY];
    let Some((_redis, mut a, _b, _nginx)) = behind_nginx("nginx-forwarded", &trust, |c| c) else {
        return;
    };
    let forged = block(PAGE, "forged");
    tools::curl(&forged, nginx::INSTANCES[0], &a.addr);
    let warned = a.program.wait_for("sent X-Forwarded-For");
    let served = a.program.wait_for("GET /api/online -> 200 OK");
    assert_matches(&block(PAGE, "forged-log"), &[warned, served]);
    drop(a);

    // Trusting nobody: the proxy's own address, and a warning that says what to do.
    let Some((_redis, mut a, _b, nginx)) = behind_nginx("nginx-untrusted", &[], |c| c) else {
        return;
    };
    for _ in 0..2 {
        assert_eq!(get(&nginx.addr, "/api/online").status, 200);
    }
    let warned = a.program.wait_for("sent X-Forwarded-For");
    let served = a.program.wait_for("GET /api/online -> 200 OK");
    assert!(served.contains(&format!(" {PROXY}:")), "{served}");
    assert_matches(&block(PAGE, "untrusted-log"), &[warned, served]);
}

/// Runs a page's `cargo run -p ws_reconnect_client -- ...` block with each
/// `(page's text, this test's)` replaced in its arguments, until it is welcomed and
/// quits: its first three lines must be the block's.
fn run_client_block(client: &testkit::page::Block, replace: &[(&str, &str)]) {
    let args: Vec<String> = client
        .cargo_run_args()
        .iter()
        .map(|arg| replace.iter().fold(arg.clone(), |arg, (page, here)| arg.replace(page, here)))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    page::record_command(&client.commands[0]);
    let mut program = Program::start_interactive(&bin_path("ws_reconnect_client"), &args);
    program.wait_for("* you are guest-");
    program.type_line("/quit");
    let (status, output) = program.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:#?}");
    assert_matches(client, &output[..3]);
}

/// What one lesson-08 client printed, the chat lines only: `say: line N`.
fn said_lines(output: &[String]) -> Vec<u64> {
    output
        .iter()
        .filter_map(|line| line.strip_prefix("say: line "))
        .map(|n| n.parse().expect("a number"))
        .collect()
}

/// The name a lesson-08 client was last welcomed with (`* you are guest-3 (2 online)`).
fn current_name(client: &mut Program) -> String {
    let output = client.output();
    let line = output.iter().rev().find_map(|l| l.strip_prefix("* you are ")).expect("a welcome");
    line.split(" (").next().expect("a name").to_string()
}

/// One step of a rolling restart: `server` gets SIGTERM (`kill PID`), says 1001 to
/// its clients and drains; they come back through nginx, to the other instance;
/// then it starts again at its address, and nginx sends it requests again before
/// the step ends. Returns how many clients moved, how long until all were back,
/// and how long until the instance had exited.
fn restart_one(
    server: &mut Server,
    redis: &Redis,
    page_addr: &str,
    clients: &mut [Program],
    shown_on_the_page: bool,
) -> (usize, Duration, Duration) {
    // The clients on it: those whose name it welcomed.
    let log = server.program.output();
    let on_it: Vec<usize> = (0..clients.len())
        .filter(|&i| {
            let joined = format!("joined as {}", current_name(&mut clients[i]));
            log.iter().any(|line| line.ends_with(&joined))
        })
        .collect();
    assert!(!on_it.is_empty(), "no client on the instance about to stop: {log:#?}");
    let stopped = Instant::now();
    process::signal(server.program.pid(), process::SIGTERM).expect("send SIGTERM");
    for &i in &on_it {
        clients[i].wait_for("1001");
        clients[i].wait_for("* you are ");
    }
    let back = stopped.elapsed();
    if shown_on_the_page {
        // What a student sees in a client that moved.
        let output = clients[on_it[0]].output();
        let from = output.iter().rposition(|l| l.contains("1001")).expect("the 1001");
        let to =
            from + output[from..].iter().position(|l| l.contains("Connected to")).expect("back");
        assert_matches(&block(PAGE, "restart-client"), &output[from..=to]);
    }
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:#?}");
    let exited = stopped.elapsed();
    let addr = server.addr.clone();
    *server = instance(redis, &addr, page_addr, &["--trust-proxy", PROXY]);
    // nginx left it alone for `fail_timeout` after it refused; the next step must
    // not begin before nginx sends it requests again.
    server.program.wait_for(&format!("via {PROXY}:"));
    (on_it.len(), back, exited)
}

/// A rolling restart behind nginx while lines are being said: each instance in turn
/// gets SIGTERM, sends its clients 1001 and drains, and starts again. Lesson 08's
/// clients reconnect through nginx to the other instance, fetch what they missed,
/// and every line arrives at every client exactly once, in order.
#[test]
fn a_rolling_restart_behind_nginx_loses_no_line() {
    let trust = ["--trust-proxy", PROXY];
    let Some((redis, mut a, mut b, nginx)) = behind_nginx("nginx-rolling", &trust, |c| c) else {
        return;
    };
    let url = format!("ws://{}/ws", nginx.addr);
    let mut clients: Vec<Program> = (0..4)
        .map(|_| {
            let mut client =
                Program::start_interactive(&bin_path("ws_reconnect_client"), &["--addr", &url]);
            client.wait_for("* you are guest-");
            client
        })
        .collect();
    // The page's loop says the first lines (three of its 600), then the sayer the
    // rest, every 20 ms.
    let say = block(PAGE, "say-loop");
    let command =
        tools::at(say.command(), nginx::FRONT, &nginx.addr).replace("seq 1 600", "seq 1 3");
    let (status, output) = tools::shell(&command, &testkit::workspace_root()).wait_exit(TIMEOUT);
    assert!(status.success() && output.is_empty(), "{output:#?}");
    for client in &mut clients {
        client.wait_for("say: line 3");
    }
    let sayer = Sayer::start(nginx.addr.clone(), 4, Duration::from_millis(20));
    sayer.wait_for_more(20);
    let first = restart_one(&mut a, &redis, nginx::INSTANCES[0], &mut clients, true);
    let second = restart_one(&mut b, &redis, nginx::INSTANCES[1], &mut clients, false);
    sayer.wait_for_more(20);
    let (last, retried) = sayer.stop();

    let mut lost = 0;
    for client in &mut clients {
        client.wait_for(&format!("say: line {last}"));
        client.type_line("/quit");
        let (status, output) = client.wait_exit(TIMEOUT);
        assert!(status.success(), "{output:#?}");
        let lines = said_lines(&output);
        lost += (1..=last).filter(|n| !lines.contains(n)).count();
        assert_eq!(lines, (1..=last).collect::<Vec<_>>(), "each line once, in order: {output:#?}");
    }
    for (n, (moved, back, exited)) in [first, second].iter().enumerate() {
        println!(
            "restart {}: {moved} of {} clients moved, all back {:.2} s after SIGTERM; \
             the instance had exited by {:.2} s",
            n + 1,
            clients.len(),
            back.as_secs_f64(),
            exited.as_secs_f64()
        );
    }
    println!("{last} lines said ({retried} said again after a 502), {lost} lost");
}

/// The page's folder for nginx's files, where the TLS block keeps its certificate.
const FOLDER: &str = "/tmp/lesson10";
/// nginx's TLS port on the page.
const TLS_FRONT: &str = "127.0.0.1:8443";

/// TLS at the edge: nginx speaks https:// and wss:// with a certificate made by the
/// page's openssl command, and passes plain HTTP on to the instances.
#[test]
fn tls_at_the_edge_nginx_speaks_https_and_wss_the_instances_plain_http() {
    if !tools::available("TLS at the edge", &[&tools::OPENSSL]) {
        return;
    }
    let Some((_redis, a, b)) = cluster("nginx-tls", &["--trust-proxy", PROXY]) else { return };
    let folder = testkit::temp_folder("lesson10-tls");
    let here = folder.to_string_lossy().into_owned();
    // The page's openssl command, writing into this test's folder.
    let openssl = block(PAGE, "openssl");
    page::record_command(openssl.command());
    let made = tools::shell(&openssl.command().replace(FOLDER, &here), &folder).wait_exit(TIMEOUT);
    assert!(made.0.success(), "{:#?}", made.1);
    assert_matches(&openssl, &made.1);
    // The page's lines, added to the config under `listen 127.0.0.1:8080;`.
    let tls_addr = testkit::free_addr();
    let lines = block(PAGE, "tls-config").output.join("\n").replace(FOLDER, &here);
    let lines = lines.replace(TLS_FRONT, &tls_addr);
    let edit = move |config: String| {
        let listen = format!("        listen {};\n", nginx::FRONT);
        assert!(config.contains(&listen), "the config listens on {}", nginx::FRONT);
        config.replace(&listen, &format!("{listen}{lines}\n"))
    };
    let Some(_nginx) = Nginx::start("nginx-tls", [&a.addr, &b.addr], edit) else { return };
    page::map_address(&tls_addr, TLS_FRONT);

    let curl = block(PAGE, "tls-curl");
    let command = tools::at(curl.command(), TLS_FRONT, &tls_addr).replace(FOLDER, &here);
    let shown = tools::shell_stdout(&command, &folder).wait_exit(TIMEOUT).1;
    assert_matches(&curl, &shown);

    let client = block(PAGE, "tls-client");
    run_client_block(&client, &[(TLS_FRONT, &tls_addr), (FOLDER, &here)]);
    let _ = std::fs::remove_dir_all(&folder);
}

/// A tmux session a test started; dropping it ends it.
struct Tmux(String);

impl Tmux {
    /// What pane `n` of the `proxy` window shows, its history included.
    fn pane(&self, n: usize) -> String {
        let target = format!("{}:proxy.{n}", self.0);
        let capture = ["capture-pane", "-p", "-J", "-S", "-2000", "-t", &target];
        testkit::run(Path::new("tmux"), &capture, &[], "", TIMEOUT).stdout
    }

    /// Waits (at most 30 s) until `done` is true of the two client panes.
    fn until(&self, what: &str, done: impl Fn(&[u64], &[u64]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&counts(&self.pane(4)), &counts(&self.pane(5))) {
            assert!(
                Instant::now() < deadline,
                "scripts/demo-proxy: no {what} within 30 s; the client panes:\n{}\n{}",
                self.pane(4),
                self.pane(5)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux").args(["kill-session", "-t", &self.0]).status();
    }
}

/// The demo's counter as a client pane shows it: `count: 17`.
fn counts(text: &str) -> Vec<u64> {
    text.lines().filter_map(|l| l.strip_prefix("count: ")?.trim().parse().ok()).collect()
}

/// `scripts/demo-proxy` opens lesson 10 in tmux, and `--rolling-restart` restarts
/// both instances while its counter says a number five times a second: each client
/// pane shows every number once, in order.
#[test]
fn scripts_demo_proxy_restarts_both_instances_and_no_count_is_lost() {
    let needed = [&tools::TMUX, &tools::REDIS, &tools::NGINX, &tools::CURL];
    if !tools::available("scripts/demo-proxy", &needed) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/demo-proxy");
    let tmux = Tmux(format!("demo-proxy-test-{}", std::process::id()));
    let bins = testkit::bin_dir(&["http_ws_proxied", "ws_reconnect_client"]);
    let env = [("DEMO_PROXY_SESSION", tmux.0.as_str()), ("DEMO_BIN_DIR", &bins)];
    let port = || testkit::free_addr().rsplit(':').next().expect("a port").to_string();
    let (front, first, second, redis) = (port(), port(), port(), port());
    let args = ["--detached", "--ports", &front, &first, &second, &redis];
    let started = testkit::run(&script, &args, &env, "", Duration::from_secs(180));
    assert!(started.status.success(), "{started:?}");
    tmux.until("count in both client panes", |one, two| one.len() >= 3 && two.len() >= 3);
    let restarted =
        testkit::run(&script, &["--rolling-restart"], &env, "", Duration::from_secs(120));
    assert!(restarted.status.success(), "{restarted:?}");
    println!("{}", restarted.stdout);
    let before = counts(&tmux.pane(4)).last().copied().unwrap_or(0);
    tmux.until("count after the restart", |one, two| {
        [one, two].iter().all(|counts| counts.last().is_some_and(|n| *n > before + 5))
    });
    for n in [4, 5] {
        let text = tmux.pane(n);
        let counts = counts(&text);
        let expected: Vec<u64> = (counts[0]..).take(counts.len()).collect();
        assert_eq!(counts, expected, "every count once, in order:\n{text}");
        assert!(text.contains("1001"), "this client was never moved:\n{text}");
    }
}

/// Every piece of config page 10 walks through is in `proxy/nginx.conf` as the page
/// shows it, but for the file's comments (the TLS lines, which a student adds, are
/// checked by starting nginx with them).
#[test]
fn page_10_shows_the_config_as_it_is() {
    let config: String = nginx::config()
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    let page = std::fs::read_to_string(testkit::workspace_root().join("lessons").join(PAGE))
        .expect("page 10");
    let mut shown = 0;
    let mut rest = page.as_str();
    while let Some(start) = rest.find("```nginx\n") {
        let before = &rest[..start];
        let body = &rest[start + "```nginx\n".len()..];
        let end = body.find("```").expect("the block's end");
        rest = &body[end..];
        if before.trim_end().ends_with("<!-- check: tls-config -->") {
            continue;
        }
        assert!(config.contains(&body[..end]), "proxy/nginx.conf has no\n{}", &body[..end]);
        shown += 1;
    }
    assert!(shown >= 5, "page 10 walks through {shown} pieces of the config");
}

/// `scripts/diff-lessons 10` shows lesson 10's idea: the proxy's config, `proxy.rs`
/// and the flag that uses it, and lesson 09's files carried unchanged.
#[test]
fn diff_lessons_10_shows_the_config_and_proxy_rs() {
    let script = testkit::workspace_root().join("scripts/diff-lessons");
    let shown = testkit::run(&script, &["10"], &[], "", TIMEOUT);
    assert!(shown.status.success(), "{shown:?}");
    let out = &shown.stdout;
    for expected in [
        "proxy/nginx.conf       new",
        "src/proxy.rs           new",
        "src/room.rs            carried from lesson 09",
        "+    trust_proxy: Option<IpAddr>,",
        "proxy_read_timeout 60s;",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
}
