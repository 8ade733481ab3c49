//! The environment a page assumes, given to every program a test starts: the one
//! place that says which variables the tests set and clear, and which signals a
//! program starts with.
//!
//! A page is read in a fresh terminal: no `RUST_LOG`, no `LESSON_ADDR`, and Ctrl-C
//! stops a program that does not catch it. The shell that runs `cargo test` may be
//! another: a Rust user's `RUST_LOG=info` (websocat reads it too, and prints its own
//! log lines into what a page shows), a proxy for the web, or a job started with `&`
//! or `nohup`, whose programs inherit an ignored SIGINT or SIGHUP (a first version
//! with no Ctrl-C handler then never stops). [`as_a_page_assumes`] undoes all of it
//! for one command; every way testkit starts a program calls it.
//!
//! Cleared (a test that wants one passes it to the program itself):
//! - `RUST_LOG`: the lessons log at `info` without it, as the pages show; websocat
//!   prints nothing of its own.
//! - `RUST_BACKTRACE`, `RUST_LIB_BACKTRACE`: a first version's panic is the two lines
//!   a page shows, not a backtrace.
//! - every `LESSON_*` variable (`LESSON_ADDR`, `LESSON_REDIS`): a page's command uses
//!   the lesson's defaults or says otherwise. (`LESSONS_REQUIRE_TOOLS` is for the
//!   tests themselves, and stays.)
//! - `http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, in either case: curl and
//!   Python's requests would send a request for `127.0.0.1` to the proxy.
//! - `NO_COLOR`, `FORCE_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`: colours are what a
//!   terminal gets by default.
//! - `RUST_TEST_THREADS`: `.cargo/config.toml` sets it for the tests, four at a time;
//!   it means nothing to the programs they start.
//!
//! Kept: `PATH` and `HOME` (where the tools are, and their settings),
//! `CARGO_TARGET_DIR` (the scripts build into, and run from, the folder the tests
//! were built in), `TERM`.
//!
//! Signals: SIGHUP, SIGINT, SIGQUIT and SIGTERM start with their default action (the
//! program stops), whatever this test process inherited.

use std::process::Command;
use std::sync::Once;
use std::sync::atomic::AtomicBool;

/// The variables every program a test starts is given without, named or by prefix.
const CLEARED: &[&str] = &[
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    // Set for the tests themselves (.cargo/config.toml), not for what they start.
    "RUST_TEST_THREADS",
];
const CLEARED_PREFIX: &str = "LESSON_";

/// The signals a program a test starts must be able to stop on.
const DEFAULT_SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGTERM,
];

/// Gives `command` the environment a page assumes (see the top of this file).
pub fn as_a_page_assumes(command: &mut Command) -> &mut Command {
    default_signals_for_children();
    for name in CLEARED {
        command.env_remove(name);
    }
    // From this process's environment, and any a caller set on `command` before.
    let mut prefixed: Vec<std::ffi::OsString> = std::env::vars_os().map(|(name, _)| name).collect();
    prefixed.extend(command.get_envs().map(|(name, _)| name.to_os_string()));
    for name in prefixed {
        if name.to_str().is_some_and(|name| name.starts_with(CLEARED_PREFIX)) {
            command.env_remove(name);
        }
    }
    command
}

/// A signal ignored by this process is ignored by every program it starts, and no
/// safe call resets it in the child alone. A signal *handled* by this process is
/// reset to its default action in each program it starts (`exec` cannot keep a
/// handler). So for each signal that arrived ignored, this process handles it with a
/// handler that does nothing: the tests still ignore it, as their shell asked, and
/// the programs they start get the default. Once per test process.
fn default_signals_for_children() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let ignored = ignored_signals();
        for signal in DEFAULT_SIGNALS {
            if ignored & (1 << (signal - 1)) != 0 {
                // The flag is never read: the handler exists only to be replaced.
                let noted = std::sync::Arc::new(AtomicBool::new(false));
                signal_hook::flag::register(signal, noted).expect("a signal handler");
            }
        }
    });
}

/// The signals this process ignores, as `/proc/self/status` shows them (`SigIgn:`, a
/// hexadecimal mask, bit N-1 for signal N). None where there is no `/proc`.
fn ignored_signals() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sh` reports of its own ignored signals, started as a test starts a
    /// program.
    fn ignored_by_a_child() -> u64 {
        let mut command = Command::new("sh");
        command.args(["-c", "grep SigIgn: /proc/$$/status"]);
        let out = as_a_page_assumes(&mut command).output().expect("run sh");
        let text = String::from_utf8_lossy(&out.stdout);
        u64::from_str_radix(text.trim_start_matches("SigIgn:").trim(), 16).expect("a mask")
    }

    /// Set in the copy of this test binary that `from_a_job_that_ignores_signals`
    /// starts with the four signals ignored.
    const INNER: &str = "TESTKIT_SIGNALS_IGNORED";

    #[test]
    fn a_program_started_by_a_test_can_be_stopped_by_signals() {
        // Read before the first program starts: from then on, none is ignored here.
        let inherited = ignored_signals();
        let ignored = ignored_by_a_child();
        for signal in DEFAULT_SIGNALS {
            assert_eq!(ignored & (1 << (signal - 1)), 0, "signal {signal} is ignored");
        }
        if std::env::var_os(INNER).is_some() {
            // Not a test that passes because nothing was ignored to begin with.
            for signal in DEFAULT_SIGNALS {
                assert_ne!(inherited & (1 << (signal - 1)), 0, "{signal} was not ignored");
            }
        }
    }

    #[test]
    fn from_a_job_that_ignores_signals() {
        if std::env::var_os(INNER).is_some() {
            return;
        }
        // `trap '' SIGNAL` in sh ignores it, and `exec` passes that on, as `nohup`
        // and a script's `&` do.
        let me = std::env::current_exe().expect("this test binary");
        let script = "trap '' HUP INT QUIT TERM; exec \"$0\" --exact \
            env::tests::a_program_started_by_a_test_can_be_stopped_by_signals";
        let out = Command::new("sh")
            .args(["-c", script])
            .arg(me)
            .env(INNER, "1")
            .output()
            .expect("run this test again");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.contains("1 passed"), "{said}");
    }

    #[test]
    fn a_program_started_by_a_test_sees_none_of_the_shells_settings() {
        let mut command = Command::new("sh");
        command.args(["-c", "env"]).env("RUST_LOG", "debug").env("LESSON_ADDR", ":1");
        let out = as_a_page_assumes(&mut command).output().expect("run sh");
        let env = String::from_utf8_lossy(&out.stdout);
        // As if the shell had exported them: a test's own setting for a program goes
        // after `as_a_page_assumes`.
        assert!(!env.lines().any(|l| l.starts_with("RUST_LOG=")), "{env}");
        assert!(!env.lines().any(|l| l.starts_with("LESSON_ADDR=")), "{env}");
    }
}
