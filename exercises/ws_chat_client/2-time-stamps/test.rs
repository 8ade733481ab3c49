//! Lesson 06, exercise 2: every incoming line starts with the time, `[HH:MM:SS] `
//! (UTC).

use testkit::{Server, TIMEOUT, bin_path, run};

#[test]
fn incoming_lines_are_time_stamped() {
    let server = Server::start(&bin_path("ws_chat_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_ws_chat_client"));
    let finished = run(client, &["--addr", &server.addr], &[], "hi\n", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    let lines = finished.stdout_lines();
    assert!(lines.len() >= 3, "{lines:?}");
    for line in &lines {
        let bytes = line.as_bytes();
        let stamped = bytes.len() > 11
            && bytes[0] == b'['
            && bytes[9] == b']'
            && bytes[10] == b' '
            && [3, 6].iter().all(|&i| bytes[i] == b':')
            && [1, 2, 4, 5, 7, 8].iter().all(|&i| bytes[i].is_ascii_digit());
        assert!(stamped, "{line:?} has no [HH:MM:SS] in front");
    }
    assert!(lines.iter().any(|l| l.ends_with("] you: hi")), "{lines:?}");
}
