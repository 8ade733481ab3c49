//! Page 01's defence table: each way to break an HTTP server, run against the first
//! version (`http_server_first`), the step that turns it (and the one before) and
//! the full lesson, over loopback.

use std::io::Write;
use std::path::Path;

use testkit::defence::{endless_head, how_it_ended, rows_with_steps, table_with_steps};
use testkit::http::{connect, read_response};
use testkit::page::{assert_matches, block};
use testkit::{Server, TIMEOUT, run};

fn big_head(server: &mut Server, _: &Path) -> String {
    let mut stream = connect(&server.addr);
    let raw = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024));
    // The server may answer and close before reading all we send: a failed write
    // is fine, the answer is what matters.
    let _ = stream.write_all(raw.as_bytes());
    match read_response(&mut stream, false) {
        Some(answer) => format!("`{} {}`", answer.status, answer.reason),
        None => "no answer".to_string(),
    }
}

fn second_copy(server: &mut Server, bin: &Path) -> String {
    how_it_ended(&run(bin, &["--addr", &server.addr], &[], "", TIMEOUT))
}

fn ctrl_c(server: &mut Server, _: &Path) -> String {
    // A kept-alive connection, idle: the server has one open when Ctrl-C comes.
    let _open = connect(&server.addr);
    let _ = testkit::http::get(&server.addr, "/");
    server.program.interrupt();
    let (status, _) = server.program.wait_exit(TIMEOUT);
    match status.code() {
        Some(code) => format!("closes its connections, then exits with status {code}"),
        None => "stops at once, killed by the signal".to_string(),
    }
}

#[test]
fn page_01_defence_table_is_what_the_programs_do() {
    // Each cell on a server of its own, all at once; each row's step must turn it.
    let rows = rows_with_steps(
        "http_server",
        &[
            ("A request head that never ends", 2, |server, _| endless_head(&server.addr)),
            ("A 64 KiB request head", 3, big_head),
            ("A second copy on the same port", 4, second_copy),
            ("Ctrl-C with a connection open", 5, ctrl_c),
        ],
    );
    assert_matches(&block("01-http-server.md", "defences"), &table_with_steps(&rows));
}
