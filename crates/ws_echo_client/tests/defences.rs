//! Page 04's defence table: each way a server can let a WebSocket client down, run
//! against the first version (`ws_echo_client_first`), the step that turns it (and
//! the one before) and the full lesson.

use std::path::Path;
use std::time::Duration;

use testkit::defence::{
    against_a_silent_server, how_it_ended, program_rows_with_steps, table_with_steps,
};
use testkit::page::{assert_matches, block};
use testkit::{Server, bin_path, run};

fn ended(bin: &Path, addr: &str) -> String {
    let args = ["--addr", addr, "hello"];
    how_it_ended(&run(bin, &args, &[], "", Duration::from_secs(20)))
}

fn no_server(bin: &Path) -> String {
    ended(bin, &testkit::free_addr_as(common::WS_ECHO_ADDR))
}

fn an_http_server(bin: &Path) -> String {
    let http = Server::start(&bin_path("http_server_first"));
    // In the page's words while the server still holds its address.
    testkit::page::as_on_the_page(&ended(bin, &http.addr))
}

fn a_silent_server(bin: &Path) -> String {
    // HOST:PORT, as the first version reads it (the full lesson takes a URL too).
    against_a_silent_server(bin, str::to_string)
}

#[test]
fn page_04_defence_table_is_what_the_programs_do() {
    // Each cell with a server of its own, all at once; each row's step must turn it.
    let rows = program_rows_with_steps(
        "ws_echo_client",
        &[
            ("No server at the address", 1, no_server),
            ("An HTTP server, not a WebSocket one", 1, an_http_server),
            ("A server that never answers the handshake", 2, a_silent_server),
        ],
    );
    assert_matches(&block("04-ws-echo-client.md", "defences"), &table_with_steps(&rows));
}
