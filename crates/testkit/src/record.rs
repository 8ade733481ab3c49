//! The state the test helpers keep between calls, all of it here, so that nothing
//! changes behind a test's back without this file saying so. Two records, both
//! written as a side effect of starting a program, and read when a page's block is
//! compared with what the program printed:
//!
//! - **The address map** (shared by every test in this process): a server started
//!   on a free port prints `127.0.0.1:41235` where the page shows the lesson's
//!   default, `127.0.0.1:5000`. [`crate::Server::start`] adds its address with the
//!   default of its lesson, and takes it out when dropped (the port may come back to
//!   another test); [`crate::free_addr_as`] and tools' own servers add theirs with
//!   [`map_address`]. Every address is a port no other live server has, so the
//!   tests running beside each other never map one address two ways.
//! - **The runs** (one list per test thread): every lesson program a test started
//!   (`Program::start`, `run`, `Server::start`), as the `cargo run` a page would
//!   show, and every shell command it ran ([`record_command`]). A page's block must
//!   show only commands its test ran.
//!
//! (`bin_path` keeps a third, smaller list: which lessons this test process has
//! built, so that it builds each once.)

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// The addresses of the servers and tools a test started, each with the lesson's
/// default address that a page shows instead: `(actual, default)`.
static ADDRESSES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// From now on, `actual` in a program's output stands for `default` on the pages.
pub fn map_address(actual: &str, default: &str) {
    let mut addresses = ADDRESSES.lock().unwrap_or_else(PoisonError::into_inner);
    addresses.retain(|(a, _)| a != actual);
    addresses.push((actual.to_string(), default.to_string()));
}

/// `actual` is free again: a later connection may get its port.
pub(crate) fn unmap_address(actual: &str) {
    let mut addresses = ADDRESSES.lock().unwrap_or_else(PoisonError::into_inner);
    addresses.retain(|(a, _)| a != actual);
}

/// A line of output with every test address written as the default address the
/// pages show.
pub fn as_on_the_page(line: &str) -> String {
    let addresses = ADDRESSES.lock().unwrap_or_else(PoisonError::into_inner);
    addresses.iter().fold(line.to_string(), |line, (actual, default)| back(&line, default, actual))
}

/// A line a tool printed about the test's address, written as if about the lesson's
/// default address, as the page shows it: `port 39411` becomes `port 5000`.
pub fn back(line: &str, default: &str, actual: &str) -> String {
    let (default_port, actual_port) = (port(default), port(actual));
    let line = line.replace(actual, default);
    let mut out = String::with_capacity(line.len());
    let mut rest = line.as_str();
    while let Some(at) = rest.find(actual_port) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + actual_port.len()..].chars().next();
        out.push_str(&rest[..at]);
        let whole = !before.is_some_and(|c| c.is_ascii_digit())
            && !after.is_some_and(|c| c.is_ascii_digit());
        out.push_str(if whole { default_port } else { actual_port });
        rest = &rest[at + actual_port.len()..];
    }
    out.push_str(rest);
    out
}

/// The port of an address: `5000` of `127.0.0.1:5000`.
pub(crate) fn port(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or(addr)
}

thread_local! {
    /// What this test ran: each lesson binary with its arguments, and each shell
    /// command, so that a block's `$` lines can be checked against them.
    static RUNS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Notes that this test (this thread) ran `bin` with `args`, as `cargo run -p NAME --
/// ARGS` would, leaving out the `--addr` that points it at the test's address.
/// `--addr` is recorded twice: left out (the test's way of reaching the page's
/// default address) and as the page would write it.
pub(crate) fn record_run(bin: &Path, args: &[&str]) {
    let name = bin.file_stem().and_then(|n| n.to_str()).unwrap_or_default();
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--addr" => {
                let addr = args.next().copied().unwrap_or_default();
                with.extend(["--addr".to_string(), as_on_the_page(addr)]);
            }
            arg => {
                without.push(arg.to_string());
                with.push(arg.to_string());
            }
        }
    }
    let command = |words: &[String]| {
        if words.is_empty() {
            format!("cargo run -p {name}")
        } else {
            format!("cargo run -p {name} -- {}", words.join(" "))
        }
    };
    let (without, with) = (command(&without), command(&with));
    RUNS.with(|runs| runs.borrow_mut().extend([without, with]));
}

/// Notes that this test ran a page's shell command as it is.
pub fn record_command(command: &str) {
    RUNS.with(|runs| runs.borrow_mut().push(command.to_string()));
}

/// Adds what a helper thread of this test ran to what this thread ran.
pub(crate) fn adopt_runs(ran: Vec<String>) {
    RUNS.with(|runs| runs.borrow_mut().extend(ran));
}

/// What this test (this thread) ran so far.
pub(crate) fn runs() -> Vec<String> {
    RUNS.with(|runs| runs.borrow().clone())
}
