//! Lesson 04, black-box: the real client against the real lesson 03 server.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p ws_echo_client --test defences` still runs it alone.
mod defences;

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Server, TIMEOUT, bin_path, run};

fn client() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ws_echo_client"))
}

fn echo_server() -> Server {
    Server::start(&bin_path("ws_echo_server"))
}

/// Runs the client and returns its one line of error, checking it failed cleanly.
fn error_line(args: &[&str]) -> String {
    testkit::one_error_line(client(), args)
}

#[test]
fn page_04_shows_what_client_and_server_print() {
    let page = "04-ws-echo-client.md";
    let mut server = echo_server();
    let client_block = block(page, "client");
    let mut args = vec!["--addr".to_string(), server.addr.clone()];
    args.extend(client_block.cargo_run_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let finished = run(client(), &args, &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(finished.stderr, "");
    assert_matches(&client_block, &finished.stdout_lines());

    server.program.wait_for("conn #1 closed by the client");
    server.program.interrupt();
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
    assert_matches(&block(page, "server"), &output);
}

#[test]
fn the_arguments_are_the_message_and_a_full_url_works() {
    let server = echo_server();
    let url = format!("ws://{}/", server.addr);
    let finished = run(client(), &["--addr", &url, "Hi", "there,", "小明"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        finished.stdout.contains("  Received:  Server received: Hi there, 小明\n"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stdout.contains("  Closed:    the server answered 1000 \"done\"\n"),
        "{}",
        finished.stdout
    );
}

#[test]
fn no_server_gets_one_friendly_line() {
    let addr = testkit::free_addr_as(common::WS_ECHO_ADDR);
    let line = error_line(&["--addr", &addr]);
    assert_matches(&block("04-ws-echo-client.md", "no-server"), &[line]);
}

#[test]
fn an_http_server_is_not_a_websocket_server() {
    let http = Server::start(&bin_path("http_server"));
    let line = error_line(&["--addr", &http.addr]);
    assert_matches(&block("04-ws-echo-client.md", "http-server"), &[line]);
}

#[test]
fn the_address_the_server_prints_is_accepted_and_mistakes_are_usage_errors() {
    let mut server = echo_server();
    let url = testkit::listening_url(&mut server);
    let port = server.addr.rsplit_once(':').expect("HOST:PORT").1.to_string();
    for addr in [url.as_str(), &format!(":{port}"), &format!("ws://localhost:{port}/")] {
        let finished = run(client(), &["--addr", addr], &[], "", TIMEOUT);
        assert!(finished.status.success(), "--addr {addr}: {finished:?}");
    }
    testkit::assert_refuses_bad_addresses(client());
    let line = testkit::usage_error(client(), &["--addr", &format!("http://{}/", server.addr)]);
    assert!(line.contains("a WebSocket URL starts with ws://"), "{line}");
}

#[test]
fn a_message_over_the_limit_is_refused_by_the_server() {
    let server = echo_server();
    let huge = "a".repeat(70_000);
    let line = error_line(&["--addr", &server.addr, &huge]);
    assert!(
        line.ends_with(
            "closed the connection before answering: 1009 \"message too big: the limit is 64 KiB\""
        ),
        "{line}"
    );
}

#[test]
fn page_04_websocat_as_the_server() {
    use testkit::tools::{self, SCRIPT, WEBSOCAT};
    if !tools::available("page 04's websocat server", &[&WEBSOCAT, &SCRIPT]) {
        return;
    }
    let page = "04-ws-echo-client.md";
    let addr = testkit::free_addr();
    let server_block = block(page, "websocat-server");
    // In a terminal whose keyboard stays open: websocat -s sends what is typed there.
    let mut websocat =
        tools::terminal(&tools::at(server_block.command(), common::WS_ECHO_ADDR, &addr), true);
    websocat.wait_for("Listening on");
    // websocat prints `Listening on` a moment before it listens: try again while the
    // connection is refused.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let finished = loop {
        let finished =
            run(client(), &["--addr", &addr], &[], "", std::time::Duration::from_secs(30));
        if !finished.stderr.contains("is the server running?")
            || std::time::Instant::now() > deadline
        {
            break finished;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    let mut lines = finished.stdout_lines();
    lines.extend(finished.stderr.lines().map(str::to_string));
    assert_matches(&block(page, "websocat-client"), &lines);
    websocat.wait_for("Hello Server!");
    let shown: Vec<String> = tools::screen(&websocat.output())
        .iter()
        .map(|line| tools::back(line, common::WS_ECHO_ADDR, &addr))
        .collect();
    assert_matches(&server_block, &shown);
}

#[test]
fn interop_against_a_python_echo_server() {
    use testkit::tools::{self, PY_WEBSOCKETS};
    if !tools::available("the interop page's Python echo server", &[&PY_WEBSOCKETS]) {
        return;
    }
    let page = "interop.md";
    let addr = testkit::free_addr();
    let server_block = block(page, "python-echo-server");
    let command = tools::at(server_block.command(), common::WS_ECHO_ADDR, &addr);
    let mut python = tools::shell(&command, &testkit::workspace_root());
    let first = python.wait_for("Listening on");
    assert_matches(&server_block, &[tools::back(&first, common::WS_ECHO_ADDR, &addr)]);
    let finished = run(client(), &["--addr", &addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert_matches(&block(page, "python-echo-client"), &finished.stdout_lines());
}

#[test]
fn wss_with_the_servers_certificate_and_one_line_for_each_mistake() {
    let testkit::TlsServer { server, cert, .. } = testkit::tls_server("04");
    let cert = cert.to_str().expect("a UTF-8 path");
    let url = format!("wss://{}/ws", server.addr);
    let done = run(client(), &["--addr", &url, "--ca", cert, "hi"], &[], "", TIMEOUT);
    assert!(done.status.success(), "{}", done.stderr);
    assert!(done.stdout.contains(&format!("Connected to {url}")), "{}", done.stdout);
    assert!(done.stdout.contains(r#"  Received:  {"type":"welcome""#), "{}", done.stdout);
    let untrusted = error_line(&["--addr", &url]);
    assert!(
        untrusted.contains("not signed by anyone this client trusts: pass --ca FILE"),
        "{untrusted}"
    );
    let plain_to_tls = error_line(&["--addr", &format!("ws://{}/ws", server.addr)]);
    assert!(
        plain_to_tls.contains("the server speaks TLS on this port: use wss://"),
        "{plain_to_tls}"
    );
    let plain = echo_server();
    let tls_to_plain = error_line(&["--addr", &format!("wss://{}/", plain.addr)]);
    assert!(tls_to_plain.contains("does not speak TLS"), "{tls_to_plain}");
}

/// Lesson 07 started with `--tls-cert` and `--tls-key`: a certificate made here for
/// `names`, valid until `not_after`, signed by itself. Returns the server and the
/// certificate's path, for `--ca`.
fn tls_server_with(names: &[&str], not_after: (i32, u8, u8)) -> (Server, std::path::PathBuf) {
    tls_server_as(names, not_after, rcgen::IsCa::NoCa)
}

/// [`tls_server_with`], the certificate marked as a certificate authority's or not
/// (`is_ca`), as openssl marks one unless told `CA:FALSE`.
fn tls_server_as(
    names: &[&str],
    not_after: (i32, u8, u8),
    is_ca: rcgen::IsCa,
) -> (Server, std::path::PathBuf) {
    let dir = testkit::temp_folder(&format!("04-cert-{}", names.join("-")));
    let key = rcgen::KeyPair::generate().expect("a key");
    let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).expect("names for a certificate");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    params.is_ca = is_ca;
    let cert = params.self_signed(&key).expect("a certificate");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("write the certificate");
    std::fs::write(&key_file, key.serialize_pem()).expect("write the key");
    let (cert_arg, key_arg) = (cert_file.display().to_string(), key_file.display().to_string());
    let args = ["--tls-cert", &cert_arg, "--tls-key", &key_arg, "--addr", "127.0.0.1:0"];
    (Server::start_with(&bin_path("http_ws_server"), &args, &[]), cert_file)
}

/// A TLS server that is not ours: Python's `ssl` module, which hangs up on a plain
/// request without a word (lesson 07 answers one with a 400 that says "This port
/// speaks TLS"; the client must not rely on our own server's text).
const PYTHON_TLS_SERVER: &str = r#"
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
listener = socket.create_server(("127.0.0.1", 0))
print("Listening on https://127.0.0.1:%d/" % listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    try:
        context.wrap_socket(connection, server_side=True).close()
    except (ssl.SSLError, OSError):
        connection.close()
"#;

#[test]
fn ws_to_another_tls_server_is_told_from_its_tls_bytes() {
    if !testkit::tools::available("a TLS server in Python", &[&testkit::tools::PYTHON]) {
        return;
    }
    let dir = testkit::temp_folder("04-python-tls");
    let key = rcgen::KeyPair::generate().expect("a key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("a name");
    let cert = params.self_signed(&key).expect("a certificate");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("write the certificate");
    std::fs::write(&key_file, key.serialize_pem()).expect("write the key");
    let (cert_arg, key_arg) = (cert_file.display().to_string(), key_file.display().to_string());
    let args = ["-c", PYTHON_TLS_SERVER, &cert_arg, &key_arg];
    let python = Server::start_with(Path::new("python3"), &args, &[]);
    let line = error_line(&["--addr", &format!("ws://{}/", python.addr)]);
    assert!(line.contains("the server speaks TLS on this port: use wss://"), "{line}");
}

#[test]
fn a_certificate_for_another_name_or_out_of_date_gets_one_line() {
    // A real deployment's files (--tls-cert, --tls-key): a certificate for a name
    // that is not the address we dial, then one that expired.
    let (wrong_name, cert) = tls_server_with(&["example.com"], (2999, 1, 1));
    let url = format!("wss://{}/ws", wrong_name.addr);
    let line = error_line(&["--addr", &url, "--ca", &cert.display().to_string()]);
    assert_eq!(
        line,
        format!(
            "error: could not connect to {url}: the server's certificate is for example.com, not \
             for 127.0.0.1: --ca cannot fix a wrong name; connect by a name the certificate has"
        )
    );
    let (expired, cert) = tls_server_with(&["127.0.0.1"], (2021, 1, 1));
    let url = format!("wss://{}/ws", expired.addr);
    let line = error_line(&["--addr", &url, "--ca", &cert.display().to_string()]);
    assert!(line.contains("the server's certificate has expired"), "{line}");
}

#[test]
fn a_certificate_authoritys_certificate_as_the_servers_gets_one_line() {
    // openssl's `req -x509` marks a certificate CA:TRUE unless told otherwise; rustls
    // does not take a certificate authority's certificate for a server's.
    let ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let (server, cert) = tls_server_as(&["127.0.0.1"], (2999, 1, 1), ca);
    let url = format!("wss://{}/ws", server.addr);
    let line = error_line(&["--addr", &url, "--ca", &cert.display().to_string()]);
    assert_eq!(
        line,
        format!(
            "error: could not connect to {url}: the server's certificate is a certificate \
             authority's (CA:TRUE), not a server's: make it with CA:FALSE (page 10's openssl \
             command does)"
        )
    );
}

#[test]
fn over_wss_the_wire_carries_only_tls_records() {
    // Through a recording relay, as page 03 shows a ws:// exchange: over wss:// the
    // client's bytes are a TLS handshake record (0x16, the ClientHello), then only
    // application-data records (0x17), and neither the HTTP upgrade nor the message
    // can be read in them.
    let testkit::TlsServer { server, cert, .. } = testkit::tls_server("04-wire");
    let (relay, record) = testkit::relay::recording(&server.addr);
    let url = format!("wss://{relay}/ws");
    let cert = cert.display().to_string();
    let done = run(client(), &["--addr", &url, "--ca", &cert, "Hello Server!"], &[], "", TIMEOUT);
    assert!(done.status.success(), "{}", done.stderr);
    let sent = record.lock().expect("the record").0.clone();
    assert!(!sent.is_empty(), "the relay saw the client's bytes");
    let mut types = Vec::new();
    let mut rest = sent.as_slice();
    // A TLS record: a type byte, two version bytes, a two-byte length, the payload.
    while let [kind, _, _, high, low, tail @ ..] = rest {
        types.push(*kind);
        let length = usize::from(*high) << 8 | usize::from(*low);
        rest = tail.get(length..).unwrap_or_default();
    }
    assert_eq!(types.first(), Some(&0x16), "a ClientHello first: {types:02x?}");
    assert!(types.contains(&0x17), "application data after: {types:02x?}");
    assert!(types.iter().all(|t| [0x14, 0x15, 0x16, 0x17].contains(t)), "{types:02x?}");
    // On ws://, these are there to read (page 03 shows them); over wss://, not.
    let (sent, received) = record.lock().expect("the record").clone();
    let (sent, received) = (String::from_utf8_lossy(&sent), String::from_utf8_lossy(&received));
    for readable in ["GET /ws", "Upgrade", "Sec-WebSocket-Key"] {
        assert!(!sent.contains(readable), "{readable:?} is readable on the wire");
    }
    for readable in ["101 Switching Protocols", r#""type":"welcome""#] {
        assert!(!received.contains(readable), "{readable:?} is readable on the wire");
    }
}

/// The port of a test server's address, `127.0.0.1:41234` -> `41234`.
fn port(addr: &str) -> &str {
    addr.rsplit(':').next().expect("a port")
}

#[test]
fn a_host_name_is_looked_up_and_logged() {
    let server = echo_server();
    let url = format!("ws://localhost:{}/", port(&server.addr));
    let finished = run(client(), &["--addr", &url, "by name"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("Server received: by name"), "{}", finished.stdout);
    // Which of localhost's addresses answered, on stderr.
    assert!(finished.stderr.contains("INFO localhost: connected to "), "{}", finished.stderr);
}

#[test]
fn wss_to_localhost_checks_the_certificate_against_that_name() {
    // Lesson 07's own certificate names localhost: `--ca` makes it trusted.
    let testkit::TlsServer { server, cert, .. } = testkit::tls_server("04-localhost");
    let url = format!("wss://localhost:{}/ws", port(&server.addr));
    let cert = cert.display().to_string();
    let finished = run(client(), &["--addr", &url, "--ca", &cert, "hello"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains(r#""type":"welcome""#), "{}", finished.stdout);
    // A certificate for another name: `--ca` cannot make it right.
    let (other, cert) = tls_server_with(&["example.com"], (2999, 1, 1));
    let url = format!("wss://localhost:{}/ws", port(&other.addr));
    let cert = cert.display().to_string();
    let failed = run(client(), &["--addr", &url, "--ca", &cert], &[], "", TIMEOUT);
    assert_eq!(failed.status.code(), Some(1));
    // After the log line that says which address answered, the one error line.
    let lines: Vec<&str> = failed.stderr.lines().collect();
    assert!(lines[0].starts_with(" INFO localhost: connected to "), "{lines:?}");
    // The line page 04 shows, at lesson 07's port.
    let shown = lines[1].replace(&format!("localhost:{}", port(&other.addr)), "localhost:5003");
    assert_matches(&block("04-ws-echo-client.md", "wrong-name"), &[shown]);
    assert_eq!(
        lines[1..],
        [format!(
            "error: could not connect to {url}: the server's certificate is for example.com, not \
             for localhost: --ca cannot fix a wrong name; connect by a name the certificate has"
        )]
    );
}

#[test]
fn no_server_behind_a_lesson_07_url_names_lesson_07() {
    let addr = testkit::free_addr();
    for (url, start) in [
        (format!("ws://localhost:{}/", port(&addr)), "cargo run -p ws_echo_server"),
        (format!("ws://localhost:{}/ws", port(&addr)), "cargo run -p http_ws_server"),
        (format!("wss://localhost:{}/ws", port(&addr)), "cargo run -p http_ws_server -- --tls"),
    ] {
        let line = error_line(&["--addr", &url]);
        assert_eq!(
            line,
            format!(
                "error: could not connect to {url}: is the server running? Start it with `{start}`"
            )
        );
    }
}

/// Where `localhost` has two addresses (`::1` and `127.0.0.1`, as on most machines)
/// and the server listens on only the second, the client falls back to it.
#[test]
fn localhost_falls_back_to_its_other_address() {
    use std::net::ToSocketAddrs;
    let found: Vec<std::net::SocketAddr> =
        ("localhost", 1).to_socket_addrs().map(Iterator::collect).unwrap_or_default();
    let Some(second) = found.iter().find(|a| a.is_ipv4() != found[0].is_ipv4()) else {
        println!(
            "skipped: localhost has addresses of one family here ({found:?}): nothing to fall back to"
        );
        return;
    };
    let listen = std::net::SocketAddr::new(second.ip(), 0).to_string();
    let server = Server::start_with(&bin_path("ws_echo_server"), &["--addr", &listen], &[]);
    let url = format!("ws://localhost:{}/", port(&server.addr));
    let finished = run(client(), &["--addr", &url, "fell back"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stderr.contains("(address 2 of 2)"), "{}", finished.stderr);
}

#[test]
fn page_04_dials_localhost_over_tls_as_shown() {
    use testkit::tools;
    let testkit::TlsServer { server, folder, .. } = testkit::tls_server("04-page-tls");
    let block = block("04-ws-echo-client.md", "tls-localhost");
    // The page's command, in the server's folder (where its certificate is), at the
    // test server's port, with this lesson's binary for `cargo run -p ws_echo_client --`.
    let command = tools::at(block.command(), common::HTTP_WS_ADDR, &server.addr)
        .replace("localhost:5003", &format!("localhost:{}", port(&server.addr)))
        .replace("cargo run -p ws_echo_client --", &client().display().to_string());
    let (status, lines) = tools::shell_stdout(&command, &folder).wait_exit(TIMEOUT);
    assert!(status.success(), "{lines:?}");
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.replace(&format!("localhost:{}", port(&server.addr)), "localhost:5003"))
        .collect();
    assert_matches(&block, &lines);
}
