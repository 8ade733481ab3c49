//! Page 04's defence table: each way a server can let a WebSocket client down, run
//! against the first version (`ws_echo_client_first`) and the full lesson.

use std::time::Duration;

use testkit::defence::{against_a_silent_server, how_it_ended, rows_for_programs, table};
use testkit::page::{assert_matches, block};
use testkit::{Server, bin_path, run};

fn ended(bin: &str, addr: &str) -> String {
    let args = ["--addr", addr, "hello"];
    how_it_ended(&run(&bin_path(bin), &args, &[], "", Duration::from_secs(20)))
}

fn no_server(bin: &str) -> String {
    ended(bin, &testkit::free_addr_as(common::WS_ECHO_ADDR))
}

fn an_http_server(bin: &str) -> String {
    let http = Server::start(&bin_path("http_server_first"));
    // In the page's words while the server still holds its address.
    testkit::page::as_on_the_page(&ended(bin, &http.addr))
}

fn a_silent_server(bin: &str) -> String {
    // HOST:PORT, as the first version reads it (the full lesson takes a URL too).
    against_a_silent_server(&bin_path(bin), str::to_string)
}

#[test]
fn page_04_defence_table_is_what_the_two_programs_do() {
    // Each cell with a server of its own, all at once.
    let rows = rows_for_programs(
        "ws_echo_client_first",
        "ws_echo_client",
        &[
            ("No server at the address", no_server),
            ("An HTTP server, not a WebSocket one", an_http_server),
            ("A server that never answers the handshake", a_silent_server),
        ],
    );
    assert_matches(&block("04-ws-echo-client.md", "defences"), &table(&rows));
}
