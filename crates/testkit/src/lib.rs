//! Helpers for the lessons' black-box tests. They run the real binaries, the way a
//! student does, talk to them over real sockets, and compare what they print with
//! what the lesson pages say they print.
//!
//! Everything that waits has a deadline, and waits for an event (a line printed, a
//! byte received, a process exiting), never for a fixed sleep.

#![allow(clippy::missing_panics_doc)]

mod checks;
pub mod defence;
pub mod env;
pub mod http;
pub mod nginx;
pub mod page;
pub mod process;
mod program;
mod record;
pub mod redis;
pub mod relay;
pub mod roster;
pub mod sayer;
mod server;
pub mod skipped;
pub mod steps;
pub mod tools;
pub mod ws;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

pub use checks::{
    assert_refuses_bad_addresses, assert_server_reads_addresses, one_error_line,
    only_an_error_line, usage_error,
};
pub use program::{Finished, Program, run, run_into_head, start};
pub use server::{Server, TlsServer, free_addr, free_addr_as, listening_url, tls_server};

/// How long a program may take to start and print its address.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The default deadline for anything else a test waits for.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The workspace's top folder: the nearest folder above the package under test
/// (cargo tells a test where its package is, `CARGO_MANIFEST_DIR`) whose Cargo.toml
/// has a `[workspace]`. Asked at run time, not where testkit was built: a build of
/// testkit can serve a copy of the workspace elsewhere (scripts/check-exercises
/// copies it, and cargo takes the copy's testkit for the same, its files unchanged).
pub fn workspace_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    package
        .ancestors()
        .find(|folder| {
            std::fs::read_to_string(folder.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
        })
        .unwrap_or_else(|| panic!("no workspace above {}", package.display()))
        .to_path_buf()
}

/// The path of a lesson's binary, built first if need be, so that `cargo test -p
/// <lesson>` alone tests what it runs: a client's test runs its server too, and an
/// old build of it would check the page against old output. Cargo only tells a test
/// where its own package's binaries are (`CARGO_BIN_EXE_<name>`); the others sit next
/// to them in the same target folder, and `cargo build -p <name>` (a moment when
/// nothing changed) brings them up to date.
pub fn bin_path(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("the test knows where it is");
    // target/debug/deps/<test> -> target/debug/<name>
    let dir = exe.parent().and_then(Path::parent).expect("tests run from target/*/deps");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let fresh = built_by_the_whole_workspace_test() && path.exists();
    if !built.iter().any(|b| b == name) && !fresh {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", name, "--bin", name]);
        if dir.file_name().is_some_and(|profile| profile == "release") {
            build.arg("--release");
        }
        let status = start(&mut build).and_then(|mut cargo| cargo.wait()).expect("run cargo build");
        assert!(status.success(), "cargo build -p {name} failed");
        built.push(name.to_string());
    }
    path
}

/// The folder of the binaries `names`, each built first if need be ([`bin_path`]):
/// for a script that runs them (`DEMO_BIN_DIR`), so that it need not build them
/// again, and perhaps a second way.
pub fn bin_dir(names: &[&str]) -> String {
    let paths: Vec<PathBuf> = names.iter().map(|name| bin_path(name)).collect();
    let dir = paths.first().and_then(|path| path.parent()).expect("at least one binary");
    dir.to_str().expect("a UTF-8 path").to_string()
}

/// True if this test runs under a `cargo test` of the whole workspace, which built
/// the binaries of every package that has a test before it ran any test (so every
/// first version has a test of its own package, tests/first.rs, which also keeps its
/// binary fresh when a student changes it). Building one again with `cargo build
/// -p NAME` would then waste time, and worse: cargo chooses the features of shared
/// crates from the packages a command names, so `-p NAME` alone builds ring and
/// rustls a second way (ten seconds, for nothing).
fn built_by_the_whole_workspace_test() -> bool {
    parent_cargo_test().is_some_and(|args| {
        let some_packages = args.iter().any(|a| {
            a == "-p" || a == "--exclude" || a.starts_with("--package") || a.starts_with("-p")
        });
        !some_packages
    })
}

/// The arguments of the `cargo test` that runs this test, if one does.
fn parent_cargo_test() -> Option<Vec<String>> {
    let parent = std::os::unix::process::parent_id();
    let cmdline = std::fs::read(format!("/proc/{parent}/cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let cargo = args.first().is_some_and(|a| a.ends_with("cargo"));
    (cargo && args.iter().any(|a| a == "test")).then_some(args)
}

/// The path of example `name` of `package` (a lesson's step, from [`steps`], or a
/// test's helper), built first if need be ([`bin_path`] says why). A `cargo test`
/// that selects no targets built every example of the packages it tests already.
pub fn example_path(package: &str, name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("the test knows where it is");
    let dir = exe.parent().and_then(Path::parent).expect("tests run from target/*/deps");
    let path = dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let every_target = parent_cargo_test().is_some_and(|args| {
        !args.iter().any(|a| {
            a.starts_with("--test")
                || a.starts_with("--example")
                || a.starts_with("--lib")
                || a.starts_with("--bin")
        })
    });
    let ours = std::env::var("CARGO_PKG_NAME").is_ok_and(|tested| tested == package);
    let fresh = path.exists() && (built_by_the_whole_workspace_test() || (every_target && ours));
    // One build per example and test program, and one at a time.
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !fresh && !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", package, "--example", name]);
        let status = start(&mut build).and_then(|mut cargo| cargo.wait()).expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} --example {name} failed");
        built.push(name.to_string());
    }
    path
}

/// A fresh, empty folder for one test (`name` says whose it is; the process id tells
/// runs apart, and a count the folders of one run, so that two tests running at once
/// never share one), for a program that writes files where it runs.
pub fn temp_folder(name: &str) -> PathBuf {
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lessons-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// The resident memory of process `pid`, in KiB (Linux only).
pub fn rss_kib(pid: u32) -> u64 {
    process::rss_kib(pid).expect("the process is running")
}

#[cfg(test)]
mod tests {
    /// [`bin_path`] trusts `cargo test --workspace` to have built a binary, and cargo
    /// builds a package's binaries for a test run only when the package has a test of
    /// its own: without one, a first version would be missing on a fresh clone, or
    /// stale after a student's change.
    #[test]
    fn every_first_version_has_a_test_of_its_own_package() {
        let crates = crate::workspace_root().join("crates");
        for entry in std::fs::read_dir(crates).expect("crates/").flatten() {
            let first = entry.path().join("first");
            if first.join("Cargo.toml").exists() {
                let tests = first.join("tests/first.rs");
                assert!(
                    tests.exists(),
                    "{} is missing: cargo test would not build it",
                    tests.display()
                );
            }
        }
    }

    /// A first version is the idea alone, as its Python twin is: it uses the
    /// ecosystem's crates and the standard library, and no helper of the course's own
    /// (its address comes from `std::env`, as the twin's from `os.environ`).
    #[test]
    fn no_first_version_uses_a_helper_of_the_course() {
        let crates = crate::workspace_root().join("crates");
        let mut checked = 0;
        for entry in std::fs::read_dir(crates).expect("crates/").flatten() {
            let manifest = entry.path().join("first/Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
            let dependencies = text
                .split("[dependencies]")
                .nth(1)
                .and_then(|rest| rest.split("\n[").next())
                .unwrap_or_else(|| panic!("{} has no [dependencies]", manifest.display()));
            for own in ["common", "testkit"] {
                assert!(
                    !dependencies.lines().any(|line| line.starts_with(own)),
                    "{} depends on the course's own `{own}`: a first version uses only \
                     the ecosystem's crates and std",
                    manifest.display()
                );
            }
            checked += 1;
        }
        assert_eq!(checked, 12, "every lesson 01-09 and 11-13 has a first version");
    }
}
