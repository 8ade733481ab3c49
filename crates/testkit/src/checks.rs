//! The checks every lesson makes of its program's mistakes: one line and status 1
//! for a beginner's mistake, a usage error (status 2) for a bad argument.

use std::path::Path;

use crate::{Server, TIMEOUT, listening_url, run};

/// Runs `bin` and expects it to fail the way a beginner's mistake should be met
/// (nothing listening, a port in use): exit status 1, no backtrace, one line on
/// stderr. Returns that line.
pub fn one_error_line(bin: &Path, args: &[&str]) -> String {
    failing(bin, args).0
}

/// [`one_error_line`] for a program that must fail before it prints anything: it
/// checks that stdout is empty too.
pub fn only_an_error_line(bin: &Path, args: &[&str]) -> String {
    let (line, stdout) = failing(bin, args);
    assert_eq!(stdout, "", "nothing on stdout before: {line}");
    line
}

fn failing(bin: &Path, args: &[&str]) -> (String, String) {
    let finished = run(bin, args, &[], "", TIMEOUT);
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(!finished.stderr.contains("panicked"), "{}", finished.stderr);
    let stderr = finished.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    (stderr.to_string(), finished.stdout)
}

/// Runs `bin` with arguments it must refuse (a bad `--addr`, say) and expects what
/// clap does with a usage error: exit status 2, no backtrace, nothing on stdout, and
/// a first line on stderr that says what is wrong. Returns that line.
pub fn usage_error(bin: &Path, args: &[&str]) -> String {
    let finished = run(bin, args, &[], "", TIMEOUT);
    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert!(!finished.stderr.contains("panicked"), "{}", finished.stderr);
    assert_eq!(finished.stdout, "", "nothing on stdout");
    let line = finished.stderr.lines().next().unwrap_or_default().to_string();
    assert!(line.starts_with("error: "), "{}", finished.stderr);
    line
}

/// Checks how a lesson server reads `--addr`: the URL it prints (`scheme://...`) is
/// an address it accepts, `:PORT` means this computer, and the usual mistakes are
/// usage errors ([`assert_refuses_bad_addresses`]).
pub fn assert_server_reads_addresses(bin: &Path, scheme: &str) {
    let mut first = Server::start_with(bin, &["--addr", &format!("{scheme}://127.0.0.1:0/")], &[]);
    let url = listening_url(&mut first);
    drop(first);
    let second = Server::start_with(bin, &["--addr", &url], &[]);
    assert!(url.ends_with(&second.addr), "{url} vs {}", second.addr);
    let third = Server::start_with(bin, &["--addr", ":0"], &[]);
    assert!(third.addr.starts_with("127.0.0.1:"), "{}", third.addr);
    assert_refuses_bad_addresses(bin);
    // A client may dial a name; a server listens only on this computer's addresses.
    let line = usage_error(bin, &["--addr", "example.com:5406"]);
    assert!(line.contains("is not an IP address"), "{line}");
}

/// Checks that `bin` refuses the usual address mistakes with a usage error (exit 2)
/// that names the problem, before it dials or listens anywhere.
pub fn assert_refuses_bad_addresses(bin: &Path) {
    for (bad, says) in [
        ("5406", "write :5406 or 127.0.0.1:5406"),
        ("127.0.0.1:99999", "ports go from 1 to 65535"),
        // Not a host name either: a typo, said before anything is looked up.
        ("1.2.3:5406", "IP address"),
        ("ftp://127.0.0.1:5406/", "not ftp://"),
    ] {
        let line = usage_error(bin, &["--addr", bad]);
        assert!(line.contains("invalid value") && line.contains(says), "--addr {bad}: {line}");
    }
}
