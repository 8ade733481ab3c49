//! Lesson 02, exercise 4 (from the first version): each response's status, then its
//! headers one per line as `name: value`, then its body.

use testkit::{Server, TIMEOUT, bin_path, example_path, run};

#[test]
fn headers_come_between_the_status_and_the_body() {
    let server = Server::start(&bin_path("http_server_first"));
    let example = example_path("http_client_first", "http_client_exercise_headers");
    let client = run(&example, &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(
        client.status.success(),
        "the client failed (does print_headers still panic at its todo!()?): {client:?}"
    );
    let lines = client.stdout_lines();
    // Lesson 01's first version answers with two headers: its body's length, and
    // the date that hyper adds; the order of the two is hyper's.
    let one = |at: usize| {
        let mut headers = lines[at + 1..at + 3].to_vec();
        headers.sort();
        (lines[at].as_str(), headers, lines[at + 3].as_str())
    };
    assert_eq!(lines.len(), 8, "two answers of four lines each: {lines:#?}");
    for at in [0, 4] {
        let (status, headers, body) = one(at);
        assert_eq!((status, body), ("200 OK", "Hello, World!"), "{lines:#?}");
        assert_eq!(headers[0], "content-length: 14", "{lines:#?}");
        assert!(headers[1].starts_with("date: ") && headers[1].ends_with(" GMT"), "{lines:#?}");
    }
}
