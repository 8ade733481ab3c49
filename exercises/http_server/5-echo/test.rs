//! Lesson 01, exercise 5 (from the first version): `POST /echo` answers with the
//! body it was sent, however it arrives, and every other route is as it was.

use std::io::Write;

use testkit::{Server, example_path, http};

#[test]
fn post_echo_answers_its_body() {
    let example = example_path("http_server_first", "http_server_exercise_echo");
    let server = Server::start(&example);
    // The body in two writes, as a client may send it: the answer must hold both.
    let mut stream = http::connect(&server.addr);
    let head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\n";
    stream.write_all(format!("{head}hello").as_bytes()).expect("send the head");
    stream.flush().expect("send it now");
    stream.write_all(b", you!").expect("send the rest");
    let answer = http::read_response(&mut stream, false)
        .expect("no answer to POST /echo: does read_body still panic at its todo!()?");
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello, you!"), "POST /echo");
    let hello = http::get(&server.addr, "/");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, World!\n"), "GET /");
    let other = http::get(&server.addr, "/echo");
    assert_eq!(other.status, 404, "GET /echo is not POST /echo");
}
