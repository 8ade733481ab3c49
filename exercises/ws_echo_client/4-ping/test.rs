//! Lesson 04, exercise 4 (from the first version): the Pong to our Ping is shown
//! with its payload, then the answer to our message.

use testkit::{Server, TIMEOUT, bin_path, example_path, run};

#[test]
fn the_pong_and_the_answer_are_shown() {
    let server = Server::start(&bin_path("ws_echo_server_first"));
    let example = example_path("ws_echo_client_first", "ws_echo_client_exercise_ping");
    let client = run(&example, &["--addr", &server.addr, "hello"], &[], "", TIMEOUT);
    assert!(
        client.status.success(),
        "the client failed (does show still panic at its todo!()?): {client:?}"
    );
    assert_eq!(client.stdout_lines(), ["pong: are you there?", "Server received: hello"]);
}
