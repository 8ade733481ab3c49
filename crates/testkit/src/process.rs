//! Signals to, and the memory of, a running process (Linux): the one place where the
//! tests and the benchmarks (`loadgen`) reach a process other than by its pipes.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

pub use nix::sys::signal::Signal::{SIGCONT, SIGINT, SIGKILL, SIGSTOP, SIGTERM};

fn pid_of(pid: u32) -> Pid {
    Pid::from_raw(i32::try_from(pid).expect("a process id fits in an i32"))
}

/// Sends `signal` to process `pid`.
pub fn signal(pid: u32, signal: Signal) -> nix::Result<()> {
    kill(pid_of(pid), signal)
}

/// Sends `signal` to the process group that `pid` leads.
pub fn signal_group(pid: u32, signal: Signal) -> nix::Result<()> {
    killpg(pid_of(pid), signal)
}

/// Kills `pid`, every process it started (the deepest first), and its process group,
/// at once, as `kill -9` does. Those already gone are no error: this is for cleaning
/// up.
pub fn kill_tree(pid: u32) {
    for child in descendants(pid).into_iter().rev() {
        let _ = signal(child, SIGKILL);
    }
    let _ = signal_group(pid, SIGKILL);
}

/// The resident memory of process `pid`, in KiB, from `/proc/PID/status`; `None` if
/// it has exited.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The processes started by `pid`, by its children, and so on, parents before their
/// children, read from `/proc`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|name| name.parse().ok()) else {
            continue;
        };
        // /proc/PID/stat: "PID (COMMAND) STATE PPID ...", and COMMAND may hold spaces.
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let after_command = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if let Some(parent) = after_command.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.push((child, parent));
        }
    }
    let mut found = vec![pid];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        next += 1;
    }
    found.remove(0);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_and_its_children_die_together() {
        use std::os::unix::process::CommandExt as _;
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .expect("start sh");
        let pid = shell.id();
        // Wait (with a deadline) until the shell has started both its children.
        let deadline = std::time::Instant::now() + crate::TIMEOUT;
        while descendants(pid).len() < 2 {
            assert!(std::time::Instant::now() < deadline, "sh did not start its children");
            std::thread::yield_now();
        }
        let children = descendants(pid);
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        kill_tree(pid);
        let _ = shell.wait();
        assert_eq!(rss_kib(pid), None, "the shell is gone");
        for child in children {
            // A killed child of a dead shell is reaped by init, or shows as a zombie
            // (no resident memory) until then. SIGKILL is delivered, not obeyed at
            // once: the child may still show its memory for a moment (CI saw it).
            while rss_kib(child).is_some_and(|kib| kib != 0) {
                assert!(std::time::Instant::now() < deadline, "child {child} still runs");
                std::thread::yield_now();
            }
        }
    }
}
