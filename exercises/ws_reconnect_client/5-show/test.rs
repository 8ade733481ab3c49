//! Lesson 08, exercise 5 (from the first version): a chat line is shown as
//! `guest-1: hello`, and anything else as it came.

use testkit::{Program, Server, bin_path, example_path};

#[test]
fn a_chat_line_is_shown_as_a_person_reads_it() {
    let server = Server::start(&bin_path("http_ws_server_first"));
    let example = example_path("ws_reconnect_client_first", "ws_reconnect_client_exercise_show");
    let mut client = Program::start(&example, &["--addr", &server.addr, "hello"]);
    client.wait_for("on_open: ");
    let line = client.wait_for("on_message: ");
    assert_eq!(line, "on_message: guest-1: hello", "(does show still panic at its todo!()?)");
}
