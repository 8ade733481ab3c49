//! Page 02's defence table: each way a server can let a client down, run against the
//! first version (`http_client_first`) and the full lesson over loopback.

use std::path::Path;
use std::time::Duration;

use testkit::defence::{Row, against_a_silent_server, how_it_ended, table};
use testkit::page::{assert_matches, block};
use testkit::{Program, Server, bin_path, run, tools};

fn against(bin: &str, addr: &str) -> testkit::Finished {
    run(&bin_path(bin), &["--addr", addr], &[], "", Duration::from_secs(20))
}

/// Python's `http.server`, which answers in HTTP/1.0 and closes after each answer.
fn python_http_server() -> Server {
    let dir = testkit::temp_folder("02-http-server");
    let program = Program::start_with(
        Path::new("sh"),
        &[
            "-c",
            &format!("cd {} && exec python3 -u -m http.server 0 --bind 127.0.0.1", dir.display()),
        ],
        &[],
    );
    Server::from_program_serving(program, "Serving HTTP on 127.0.0.1 port ", common::HTTP_ADDR)
}

fn closes_after_each(bin: &str, addr: &str) -> String {
    let finished = against(bin, addr);
    if finished.status.success() {
        let opened = finished.stdout.lines();
        let opened = opened.filter(|l| l.starts_with("Connection ") && l.contains(" -> "));
        return format!("carries on: its 3 requests take {} connections", opened.count());
    }
    let answers = finished.stdout.lines().filter(|l| l.contains("200 OK")).count();
    format!("{answers} answer, then {}", how_it_ended(&finished))
}

#[test]
fn page_02_defence_table_is_what_the_two_programs_do() {
    let nobody = testkit::free_addr_as(common::HTTP_ADDR);
    let mut rows = vec![Row {
        case: "No server at the address",
        first: how_it_ended(&against("http_client_first", &nobody)),
        lesson: how_it_ended(&against("http_client", &nobody)),
    }];
    if tools::available("page 02's HTTP/1.0 server", &[&tools::PYTHON]) {
        let python = python_http_server();
        rows.push(Row {
            case: "A server that closes after each answer",
            first: closes_after_each("http_client_first", &python.addr),
            lesson: closes_after_each("http_client", &python.addr),
        });
    }
    rows.push(Row {
        case: "A server that never answers",
        first: against_a_silent_server(&bin_path("http_client_first"), str::to_string),
        lesson: against_a_silent_server(&bin_path("http_client"), str::to_string),
    });
    assert_matches(&block("02-http-client.md", "defences"), &table(&rows));
}
