//! The checks skipped for a missing tool, counted over one `cargo test` run and said
//! at its end, so that a run that skipped half the pages' commands does not look like
//! one that ran them all.
//!
//! Each test process is its own program, and `cargo test --workspace` runs them one
//! after another: a skip is written down in a file of the build folder named after the
//! `cargo` process that runs them all (the tests' parent), and the last test program
//! of the run, `tests/skipped_tools.rs` (see `crates/ws_reconnect_client/Cargo.toml`
//! for why it comes last), reads that file and prints the summary.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

/// The folder of the records: `target/lessons-skipped/`, beside the build.
fn folder() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it is");
    // target/debug/deps/<test> -> target/
    let target = exe.ancestors().nth(3).expect("tests run from target/*/deps");
    target.join("lessons-skipped")
}

/// The record of this run: one file per `cargo test`, named by its process id.
fn record_file() -> PathBuf {
    folder().join(std::os::unix::process::parent_id().to_string())
}

/// Notes that the check `what` was skipped because `tool` is missing, and how to
/// install it.
pub(crate) fn record(what: &str, tool: &str, install: &str) {
    let _ = std::fs::create_dir_all(folder());
    let line = format!("{tool}\t{install}\t{}\n", what.replace(['\t', '\n'], " "));
    // One short write to a file opened for appending: records written by tests running
    // at the same time do not mix.
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(record_file())
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// The summary of this run's skips, one line per missing tool, the most used first.
pub fn summary() -> Vec<String> {
    let text = std::fs::read_to_string(record_file()).unwrap_or_default();
    let mut tools: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        if let (Some(tool), Some(install)) = (parts.next(), parts.next()) {
            *tools.entry((tool, install)).or_default() += 1;
        }
    }
    let total: usize = tools.values().sum();
    if total == 0 {
        return vec![
            "Every check that needs a tool we did not write ran: none was missing.".into(),
        ];
    }
    let mut lines = vec![format!(
        "{total} {} skipped because a tool is missing (each passed without it); \
         install these to run them, or set LESSONS_REQUIRE_TOOLS=1 to make a skip fail:",
        if total == 1 { "check was" } else { "checks were" }
    )];
    let mut by_count: Vec<_> = tools.into_iter().collect();
    by_count.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for ((tool, install), count) in by_count {
        lines.push(format!("  {tool} ({count}): {install}"));
    }
    lines
}

/// Prints the summary of this run and forgets it, and the records of runs that are
/// over (a run stopped before its end leaves its file behind).
pub fn print_summary_and_forget() {
    println!();
    for line in summary() {
        println!("{line}");
    }
    let _ = std::fs::remove_file(record_file());
    for entry in std::fs::read_dir(folder()).into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !std::path::Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    /// `cargo test --workspace` runs the packages' tests in the order of their names:
    /// the package that holds `skipped_tools` must have the last name, or the summary
    /// is not the end of the run.
    #[test]
    fn the_summary_is_the_last_test_program_of_the_workspace() {
        let mut names = Vec::new();
        let crates = crate::workspace_root().join("crates");
        for entry in std::fs::read_dir(crates).expect("crates/").flatten() {
            for manifest in [entry.path().join("Cargo.toml"), entry.path().join("first/Cargo.toml")]
            {
                let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
                let name = text
                    .lines()
                    .find_map(|line| line.strip_prefix("name = \""))
                    .map(|name| name.trim_end_matches('"').to_string())
                    .expect("a package name");
                names.push((name, text.contains("skipped_tools")));
            }
        }
        names.sort();
        let (last, holds_it) = names.last().expect("packages");
        assert!(holds_it, "the package `{last}` now comes last: move `skipped_tools` to it");
    }
}
