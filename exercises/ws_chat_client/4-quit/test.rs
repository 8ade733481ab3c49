//! Lesson 06, exercise 4 (from the first version): `/quit` ends the chat with a
//! Close 1000 `bye`, while the keyboard is still open; other lines are said.

use testkit::{Program, Server, TIMEOUT, bin_path, example_path};

#[test]
fn quit_closes_with_1000_bye() {
    let mut server = Server::start(&bin_path("ws_chat_server"));
    let example = example_path("ws_chat_client_first", "ws_chat_client_exercise_quit");
    let mut client = Program::start_interactive(&example, &["--addr", &server.addr]);
    client.wait_for("guest-1 joined");
    client.type_line("hello");
    client.wait_for("you: hello");
    client.type_line("/quit");
    // The keyboard is still open: only /quit can have ended it.
    let (status, output) = client.wait_exit(TIMEOUT);
    assert!(status.success(), "the client failed (does to_send still panic?): {output:#?}");
    server.program.wait_for(r#"closed by the client: 1000 "bye""#);
}
