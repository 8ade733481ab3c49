//! Lesson 04, exercise 3: 1,000 messages one after another, then the average round
//! trip: `  Average:   N µs per round trip`.

use testkit::{Server, TIMEOUT, bin_path, run};

#[test]
fn a_thousand_round_trips_and_their_average() {
    let mut server = Server::start(&bin_path("ws_echo_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_ws_echo_client"));
    let finished = run(client, &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    let line = finished.stdout.lines().find(|l| l.starts_with("  Average:")).expect("an average");
    let micros = line["  Average:".len()..].trim().strip_suffix(" µs per round trip").expect(line);
    let micros: f64 = micros.parse().expect("a number of microseconds");
    assert!(micros > 0.0 && micros < 100_000.0, "{line}");
    assert_eq!(finished.stdout.matches("  Received:").count(), 0, "one summary, not 1,000 lines");
    for _ in 0..1000 {
        server.program.wait_for("conn #1 text:");
    }
}
