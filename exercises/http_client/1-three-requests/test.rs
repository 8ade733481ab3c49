//! Lesson 02, exercise 1: three requests on connection 1 (the server logs `req #3`),
//! then the `Connection: close` one, now request 4.

use testkit::{Server, TIMEOUT, bin_path, run};

#[test]
fn three_requests_on_the_first_connection() {
    let mut server = Server::start(&bin_path("http_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_http_client"));
    let finished = run(client, &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    server.program.wait_for("conn #1 req #3 ");
    assert!(finished.stdout.contains("  Request 4: GET /hello?name=Alice (with Connection: close)\n"), "{}", finished.stdout);
    assert!(finished.stdout.contains("Connection 1 closed by us: three requests, one connection.\n"), "{}", finished.stdout);
}
