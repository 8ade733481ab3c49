//! Page 02's defence table: each way a server can let a client down, run against the
//! first version (`http_client_first`), the step that turns it (and the one before)
//! and the full lesson, over loopback.

use std::path::Path;
use std::time::Duration;

use testkit::defence::{
    ProgramStepCase, against_a_silent_server, how_it_ended, program_rows_with_steps,
    table_with_steps,
};
use testkit::page::{assert_matches, block};
use testkit::{Program, Server, run, tools};

fn against(bin: &Path, addr: &str) -> testkit::Finished {
    run(bin, &["--addr", addr], &[], "", Duration::from_secs(20))
}

/// Python's `http.server`, which answers in HTTP/1.0 and closes after each answer.
fn python_http_server(bin: &Path) -> Server {
    // A folder for each program's cell: they run at the same time.
    let name = bin.file_name().and_then(|name| name.to_str()).unwrap_or("client");
    let dir = testkit::temp_folder(&format!("02-http-server-{name}"));
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

fn closes_after_each(bin: &Path, addr: &str) -> String {
    let finished = against(bin, addr);
    if finished.status.success() {
        let opened = finished.stdout.lines();
        let opened = opened.filter(|l| l.starts_with("Connection ") && l.contains(" -> "));
        return format!("carries on: its 3 requests take {} connections", opened.count());
    }
    let answers = finished.stdout.lines().filter(|l| l.contains("200 OK")).count();
    format!("{answers} answer, then {}", how_it_ended(&finished))
}

fn no_server(bin: &Path) -> String {
    how_it_ended(&against(bin, &testkit::free_addr_as(common::HTTP_ADDR)))
}

fn a_server_that_closes(bin: &Path) -> String {
    let python = python_http_server(bin);
    // In the page's words while the server still holds its address.
    testkit::page::as_on_the_page(&closes_after_each(bin, &python.addr))
}

fn a_silent_server(bin: &Path) -> String {
    against_a_silent_server(bin, str::to_string)
}

#[test]
fn page_02_defence_table_is_what_the_programs_do() {
    // Each cell with a server of its own, all at once; each row's step must turn it.
    let mut cases: Vec<(&str, u32, ProgramStepCase)> =
        vec![("No server at the address", 1, no_server)];
    if tools::available("page 02's HTTP/1.0 server", &[&tools::PYTHON]) {
        cases.push(("A server that closes after each answer", 3, a_server_that_closes));
    }
    cases.push(("A server that never answers", 4, a_silent_server));
    let rows = program_rows_with_steps("http_client", &cases);
    assert_matches(&block("02-http-client.md", "defences"), &table_with_steps(&rows));
}
