//! Lesson 12, exercise 2 (from the first version): after its login, the client asks
//! `GET /api/me` with its cookie and prints `logged in as NAME`.

use testkit::{Program, Server, bin_path, example_path};

#[test]
fn it_says_who_the_server_says_it_is() {
    let server = Server::start(&bin_path("http_ws_login"));
    let example = example_path("ws_login_client_first", "ws_login_client_exercise_me");
    let mut client = Program::start(&example, &["--addr", &server.addr, "--name", "Ada", "hi"]);
    let said = client.wait_for("logged in as");
    assert_eq!(said.trim(), "logged in as Ada");
    client.wait_for(r#""from":"Ada","text":"hi""#);
    client.kill();
}
