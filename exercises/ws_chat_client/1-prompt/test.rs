//! Lesson 06, exercise 1: a `> ` prompt before each line the user types.

use testkit::{Program, Server, TIMEOUT, bin_path};

#[test]
fn a_prompt_before_each_line() {
    let server = Server::start(&bin_path("ws_chat_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_ws_chat_client"));
    let mut program = Program::start_interactive(client, &["--addr", &server.addr]);
    program.wait_for("guest-1 joined (1 online)");
    program.type_line("hi");
    let line = program.wait_for("you: hi");
    program.end_input();
    let (status, output) = program.wait_exit(TIMEOUT);
    assert!(status.success(), "{output:?}");
    // The prompt has no newline of its own: it starts the line printed after it.
    assert!(output.iter().any(|l| l.starts_with("> ")), "no prompt in {output:?}; {line}");
}
