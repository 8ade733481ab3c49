//! Page 01's defence table: each way to break an HTTP server, run against the first
//! version (`http_server_first`) and the full lesson over loopback.

use std::io::Write;

use testkit::defence::{Row, endless_head, how_it_ended, table};
use testkit::http::{connect, read_response};
use testkit::page::{assert_matches, block};
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
    let mut first = Server::start(&bin_path("http_server_first"));
    let mut lesson = Server::start(&bin_path("http_server"));
    let mut rows = vec![
        Row {
            case: "A request head that never ends",
            first: endless_head(&first.addr),
            lesson: endless_head(&lesson.addr),
        },
        Row {
            case: "A 64 KiB request head",
            first: big_head(&mut first),
            lesson: big_head(&mut lesson),
        },
        Row {
            case: "A second copy on the same port",
            first: second_copy(&mut first, "http_server_first"),
            lesson: second_copy(&mut lesson, "http_server"),
        },
    ];
    rows.push(Row {
        case: "Ctrl-C with a connection open",
        first: ctrl_c(&mut first),
        lesson: ctrl_c(&mut lesson),
    });
    assert_matches(&block("01-http-server.md", "defences"), &table(&rows));
}
