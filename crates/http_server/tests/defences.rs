//! Page 01's defence table: each way to break an HTTP server, run against the first
//! version (`http_server_first`) and the full lesson over loopback.

use std::io::Write;

use testkit::defence::{case, endless_head, how_it_ended, rows_at_once, table};
use testkit::http::{connect, read_response};
use testkit::page::{as_on_the_page, assert_matches, block};
use testkit::{Server, TIMEOUT, bin_path, run};

fn big_head(server: &mut Server) -> String {
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

fn second_copy(server: &mut Server, bin: &str) -> String {
    how_it_ended(&run(&bin_path(bin), &["--addr", &server.addr], &[], "", TIMEOUT))
}

fn ctrl_c(server: &mut Server) -> String {
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
fn page_01_defence_table_is_what_the_two_programs_do() {
    // Each cell on a server of its own, all at once (testkit::defence::rows_at_once).
    let on = |bin: &'static str, run: fn(&mut Server, &str) -> String| {
        move || as_on_the_page(&run(&mut Server::start(&bin_path(bin)), bin))
    };
    let both = |run| (on("http_server_first", run), on("http_server", run));
    let (endless, big, copy, interrupt) = (
        both(|server, _| endless_head(&server.addr)),
        both(|server, _| big_head(server)),
        both(second_copy),
        both(|server, _| ctrl_c(server)),
    );
    let rows = rows_at_once(vec![
        case("A request head that never ends", endless.0, endless.1),
        case("A 64 KiB request head", big.0, big.1),
        case("A second copy on the same port", copy.0, copy.1),
        case("Ctrl-C with a connection open", interrupt.0, interrupt.1),
    ]);
    assert_matches(&block("01-http-server.md", "defences"), &table(&rows));
}
