//! Lesson 02, exercise 2: after each response, a line `  Took:      N ms` says how long
//! the request took, from sending it to the end of its body.

use testkit::{Server, TIMEOUT, bin_path, run};

#[test]
fn each_request_says_how_long_it_took() {
    let server = Server::start(&bin_path("http_server"));
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_http_client"));
    let finished = run(client, &["--addr", &server.addr], &[], "", TIMEOUT);
    assert!(finished.status.success(), "{finished:?}");
    let took: Vec<&str> = finished.stdout.lines().filter(|l| l.starts_with("  Took:")).collect();
    assert_eq!(took.len(), 3, "{}", finished.stdout);
    for line in took {
        let ms = line.trim_start_matches("  Took:").trim().strip_suffix(" ms").expect("N ms");
        let ms: f64 = ms.parse().expect("a number of milliseconds");
        assert!((0.0..10_000.0).contains(&ms), "{line}");
    }
}
