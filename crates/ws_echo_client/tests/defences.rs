//! Page 04's defence table: each way a server can let a WebSocket client down, run
//! against the first version (`ws_echo_client_first`) and the full lesson.

use std::time::Duration;

use testkit::defence::{Row, against_a_silent_server, how_it_ended, table};
use testkit::page::{assert_matches, block};
use testkit::{Server, bin_path, run};

fn ended(bin: &str, addr: &str) -> String {
    let args = ["--addr", addr, "hello"];
    how_it_ended(&run(&bin_path(bin), &args, &[], "", Duration::from_secs(20)))
}

#[test]
fn page_04_defence_table_is_what_the_two_programs_do() {
    let nobody = testkit::free_addr_as(common::WS_ECHO_ADDR);
    let http = Server::start(&bin_path("http_server_first"));
    let ws_url = |addr: &str| format!("ws://{addr}/");
    let rows = vec![
        Row {
            case: "No server at the address",
            first: ended("ws_echo_client_first", &nobody),
            lesson: ended("ws_echo_client", &nobody),
        },
        Row {
            case: "An HTTP server, not a WebSocket one",
            first: ended("ws_echo_client_first", &http.addr),
            lesson: ended("ws_echo_client", &http.addr),
        },
        Row {
            case: "A server that never answers the handshake",
            first: against_a_silent_server(&bin_path("ws_echo_client_first"), ws_url),
            lesson: against_a_silent_server(&bin_path("ws_echo_client"), ws_url),
        },
    ];
    assert_matches(&block("04-ws-echo-client.md", "defences"), &table(&rows));
}
