//! Over TLS (`wss.rs`): the client against lesson 07 with `--tls`, with certificates
//! made here for the mistakes a student meets, against Python's TLS server, and on
//! the wire through a recording relay.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::{Server, TIMEOUT, bin_path, run};

use super::client;

/// Runs the client and returns its one line of error, checking it failed cleanly.
fn error_line(args: &[&str]) -> String {
    testkit::one_error_line(client(), args)
}

/// The port of a test server's address, `127.0.0.1:41234` -> `41234`.
fn port(addr: &str) -> &str {
    addr.rsplit(':').next().expect("a port")
}

#[test]
fn wss_to_a_plain_port_and_ws_to_a_tls_port_each_get_one_line() {
    let testkit::TlsServer { server, .. } = testkit::tls_server("08-mixed");
    let plain_to_tls = error_line(&["--addr", &format!("ws://{}/ws", server.addr)]);
    assert!(plain_to_tls.contains("speaks TLS: use https:// or wss://"), "{plain_to_tls}");
    let plain = Server::start_with(&bin_path("http_ws_server"), &["--addr", "127.0.0.1:0"], &[]);
    let tls_to_plain = error_line(&["--addr", &format!("wss://{}/ws", plain.addr)]);
    // "does it speak TLS?" (it hung up) or "does not speak TLS" (it answered plain).
    assert!(tls_to_plain.contains(" speak TLS"), "{tls_to_plain}");
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
    let dir = testkit::temp_folder(&format!("08-cert-{}", names.join("-")));
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
    let dir = testkit::temp_folder("08-python-tls");
    let key = rcgen::KeyPair::generate().expect("a key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("a name");
    let cert = params.self_signed(&key).expect("a certificate");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("write the certificate");
    std::fs::write(&key_file, key.serialize_pem()).expect("write the key");
    let (cert_arg, key_arg) = (cert_file.display().to_string(), key_file.display().to_string());
    let args = ["-c", PYTHON_TLS_SERVER, &cert_arg, &key_arg];
    let python = Server::start_with(Path::new("python3"), &args, &[]);
    let line = error_line(&["--addr", &format!("ws://{}/ws", python.addr)]);
    assert!(line.contains("speaks TLS: use https:// or wss://"), "{line}");
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
            "error: could not connect to {}: the server's certificate is for example.com, not \
             for 127.0.0.1: --ca cannot fix a wrong name; connect by a name the certificate has",
            wrong_name.addr
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
            "error: could not connect to {}: the server's certificate is a certificate \
             authority's (CA:TRUE), not a server's: make it with CA:FALSE (page 10's openssl \
             command does)",
            server.addr
        )
    );
}

#[test]
fn over_wss_the_wire_carries_only_tls_records() {
    // Through a recording relay, as page 03 shows a ws:// exchange: over wss:// each
    // of the client's connections (the history over HTTPS, the chat over WSS) starts
    // with a TLS handshake record (0x16, the ClientHello), then carries only TLS
    // records, and neither the HTTP requests nor the message can be read in them.
    let testkit::TlsServer { server, cert, .. } = testkit::tls_server("08-wire");
    let (relay, records) = testkit::relay::recording_each(&server.addr);
    let url = format!("wss://{relay}/ws");
    let cert = cert.display().to_string();
    let done = run(client(), &["--addr", &url, "--ca", &cert], &[], "Hello Server!\n", TIMEOUT);
    assert!(done.status.success(), "{}", done.stderr);
    assert!(done.stdout.contains("guest-1: Hello Server!"), "{}", done.stdout);
    let records: Vec<(Vec<u8>, Vec<u8>)> = records
        .lock()
        .expect("the records")
        .iter()
        .map(|record| record.lock().expect("a record").clone())
        .collect();
    assert!(records.len() >= 2, "the history and the WebSocket: {} connections", records.len());
    let mut application_data = false;
    for (sent, received) in &records {
        let mut types = Vec::new();
        let mut rest = sent.as_slice();
        // A TLS record: a type byte, two version bytes, a two-byte length, the payload.
        while let [kind, _, _, high, low, tail @ ..] = rest {
            types.push(*kind);
            let length = usize::from(*high) << 8 | usize::from(*low);
            rest = tail.get(length..).unwrap_or_default();
        }
        assert_eq!(types.first(), Some(&0x16), "a ClientHello first: {types:02x?}");
        assert!(types.iter().all(|t| [0x14, 0x15, 0x16, 0x17].contains(t)), "{types:02x?}");
        application_data |= types.contains(&0x17);
        // On ws://, these are there to read (page 03 shows them); over wss://, not.
        let (sent, received) = (String::from_utf8_lossy(sent), String::from_utf8_lossy(received));
        for readable in ["GET /ws", "GET /api/messages", "Upgrade", "Hello Server!"] {
            assert!(!sent.contains(readable), "{readable:?} is readable on the wire");
        }
        for readable in ["101 Switching Protocols", r#""type":"welcome""#, "200 OK"] {
            assert!(!received.contains(readable), "{readable:?} is readable on the wire");
        }
    }
    assert!(application_data, "application data after the handshakes");
}

/// A `--ca` file from before the server made a new certificate (lesson 07 keeps its
/// certificate, but a student may delete it, or copy the file from another
/// machine's run): one line that says so, not rustls's `BadSignature`.
#[test]
fn an_old_certificate_file_gets_one_line() {
    let testkit::TlsServer { server, folder, cert } = testkit::tls_server("08-old-ca");
    let old = folder.join("old.pem");
    std::fs::copy(&cert, &old).expect("keep the first certificate");
    drop(server);
    for made in ["http_ws_server.pem", "http_ws_server.key.pem"] {
        std::fs::remove_file(folder.join("target/tls").join(made)).expect("remove it");
    }
    let again =
        Server::start_in(&bin_path("http_ws_server"), &["--tls", "--addr", "127.0.0.1:0"], &folder);
    let url = format!("wss://{}/ws", again.addr);
    let line = error_line(&["--addr", &url, "--ca", &old.display().to_string()]);
    assert_eq!(
        line,
        format!(
            "error: could not connect to {}: the server's certificate is not the one in the --ca \
             file (did the server make a new one since?): pass the file the server printed when \
             it started",
            again.addr
        )
    );
}

#[test]
fn wss_to_localhost_checks_the_certificate_against_that_name() {
    // Lesson 07's own certificate names localhost: `--ca` makes it trusted.
    let testkit::TlsServer { server, cert, .. } = testkit::tls_server("08-localhost");
    let url = format!("wss://localhost:{}/ws", port(&server.addr));
    let cert = cert.display().to_string();
    let finished = run(client(), &["--addr", &url, "--ca", &cert], &[], "hello\n", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("guest-1: hello"), "{}", finished.stdout);
    // A certificate for another name: `--ca` cannot make it right.
    let (other, cert) = tls_server_with(&["example.com"], (2999, 1, 1));
    let at = format!("localhost:{}", port(&other.addr));
    let url = format!("wss://{at}/ws");
    let cert = cert.display().to_string();
    let failed = run(client(), &["--addr", &url, "--ca", &cert], &[], "", TIMEOUT);
    assert_eq!(failed.status.code(), Some(1));
    // After the log line that says which address answered, the one error line.
    let lines: Vec<&str> = failed.stderr.lines().collect();
    assert!(lines[0].starts_with(" INFO localhost: connected to "), "{lines:?}");
    assert_eq!(
        lines[1..],
        [format!(
            "error: could not connect to {at}: the server's certificate is for example.com, not \
             for localhost: --ca cannot fix a wrong name; connect by a name the certificate has"
        )]
    );
    // The line page 08 shows, at lesson 07's port.
    let shown = lines[1].replace(&at, "localhost:5003");
    assert_matches(&block("08-ws-reconnect-client.md", "wrong-name"), &[shown]);
}
