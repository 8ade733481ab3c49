//! Lesson 12, exercise 1: after each login, the client says for how long: `* logged
//! in as NAME, for N s`, N from the cookie's `Max-Age`.

use std::path::Path;

use testkit::{Program, Server, bin_path};

#[test]
fn each_login_says_how_long_it_lasts() {
    let lesson_11 = bin_path("http_ws_login");
    let server = Server::start_with(&lesson_11, &["--addr", "127.0.0.1:0", "--session", "2"], &[]);
    let bin = Path::new(env!("CARGO_BIN_EXE_ws_login_client"));
    let mut client = Program::start_interactive(bin, &["--addr", &server.addr, "--name", "Ada"]);
    assert_eq!(client.wait_for("* logged in as").trim(), "* logged in as Ada, for 2 s");
    // The session ends after 2 s; the next login says it again.
    client.wait_for("session ended");
    assert_eq!(client.wait_for("* logged in as").trim(), "* logged in as Ada, for 2 s");
    client.end_input();
}
