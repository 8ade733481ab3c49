//! Lesson 10, exercise 2: `nginx -s reload` while lesson 08's client chats through
//! it. The old worker keeps the client's WebSocket, and the old config, for as long
//! as the WebSocket lasts: hours. With `worker_shutdown_timeout` in
//! `proxy/nginx.conf` it lets go within seconds; the client comes back through the
//! new worker, and no line is lost or shown twice.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::nginx::Nginx;
use testkit::redis::Redis;
use testkit::{Program, Server, TIMEOUT, bin_path, tools};

/// Waits until `client` prints a line containing `needle`, or fails with `why`.
fn wait_for(client: &mut Program, needle: &str, within: Duration, why: &str) {
    let deadline = Instant::now() + within;
    while let Some(line) = client.next_line(deadline.saturating_duration_since(Instant::now())) {
        if line.contains(needle) {
            return;
        }
    }
    panic!("{why}; the client printed: {:#?}", client.output());
}

#[test]
fn after_a_reload_the_client_moves_to_the_new_worker_and_loses_no_line() {
    if !tools::available("exercise 10.2", &[&tools::NGINX]) {
        return;
    }
    let Some(redis) = Redis::start("exercise-10-reload") else { return };
    let bin = Path::new(env!("CARGO_BIN_EXE_http_ws_proxied"));
    let env = [("LESSON_REDIS", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Server::start_with(bin, &["--addr", "127.0.0.1:0"], &env);
    let b = Server::start_with(bin, &["--addr", "127.0.0.1:0"], &env);
    let Some(nginx) = Nginx::start("exercise-10-reload", [&a.addr, &b.addr], |c| c) else {
        return;
    };
    let url = format!("ws://{}/ws", nginx.addr);
    let mut ann = Program::start_interactive(&bin_path("ws_reconnect_client"), &["--addr", &url]);
    ann.wait_for("* you are ");
    // The page's reload command, on this test's nginx (its folder, and the config
    // it runs there).
    let reload = tools::inline_command(
        "10-behind-a-proxy.md",
        r#"nginx -e stderr -p /tmp/lesson10 -c "$PWD/proxy/nginx.conf" -s reload"#,
    );
    let folder = nginx.folder.to_str().expect("UTF-8");
    let reload = reload
        .replace("/tmp/lesson10", folder)
        .replace("$PWD/proxy/nginx.conf", &format!("{folder}/nginx.conf"));
    let (status, output) = tools::shell(&reload, &nginx.folder).wait_exit(TIMEOUT);
    assert!(status.success(), "{reload}: {output:#?}");
    ann.type_line("said during the reload");
    ann.wait_for("said during the reload");
    wait_for(
        &mut ann,
        "* you are ",
        TIMEOUT,
        "10 s after the reload, the old worker still holds the WebSocket",
    );
    ann.type_line("said after the reload");
    ann.wait_for("said after the reload");
    let output = ann.output();
    let shown = |text: &str| output.iter().filter(|line| line.contains(text)).count();
    assert_eq!(shown("said during the reload"), 1, "{output:#?}");
}
