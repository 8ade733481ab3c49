//! Lesson 04, exercise 2: the message goes as binary, and the answer is printed in
//! hex: `  Received:  68 69`.

use testkit::{Server, TIMEOUT, bin_path, run};

#[test]
fn binary_out_hex_back() {
    let mut server = Server::start(&bin_path("ws_echo_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_ws_echo_client"));
    let finished = run(client, &["--addr", &server.addr, "hi"], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("  Received:  68 69\n"), "{}", finished.stdout);
    server.program.wait_for("conn #1 binary: 2 bytes");
}
