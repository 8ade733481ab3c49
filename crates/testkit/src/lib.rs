//! Helpers for the lessons' black-box tests. They run the real binaries, the way a
//! student does, talk to them over real sockets, and compare what they print with
//! what the lesson pages say they print.
//!
//! Everything that waits has a deadline, and waits for an event (a line printed, a
//! byte received, a process exiting), never for a fixed sleep.

#![allow(clippy::missing_panics_doc)]

pub mod http;
pub mod page;
pub mod process;
pub mod redis;
pub mod relay;
pub mod tools;
pub mod ws;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a program may take to start and print its address.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The default deadline for anything else a test waits for.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The workspace's top folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit is two levels down")
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
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", name, "--bin", name]);
        if dir.file_name().is_some_and(|profile| profile == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p {name} failed");
        built.push(name.to_string());
    }
    path
}

/// A running program whose stdout and stderr arrive, in the order it wrote them,
/// through one pipe: what a student sees in their terminal.
pub struct Program {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    /// A shell command runs in a process group of its own, so that killing it kills
    /// every program of its pipeline, not only the shell.
    group: bool,
}

impl Program {
    /// Starts `bin` with `args`, logging at `info` without colour.
    pub fn start(bin: &Path, args: &[&str]) -> Program {
        Program::start_with(bin, args, &[])
    }

    /// Starts `bin` with `args` and extra environment variables.
    pub fn start_with(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Program {
        Program::spawn(bin, args, env, false)
    }

    /// Starts `bin` with its stdin open to [`Program::type_line`], as a person at
    /// a keyboard.
    pub fn start_interactive(bin: &Path, args: &[&str]) -> Program {
        Program::spawn(bin, args, &[], true)
    }

    fn spawn(bin: &Path, args: &[&str], env: &[(&str, &str)], interactive: bool) -> Program {
        page::record_run(bin, args);
        let mut command = Command::new(bin);
        command
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove(common::ADDR_ENV)
            .envs(env.iter().copied());
        Program::spawn_command(command, interactive, true)
    }

    /// Starts `bin` in the folder `dir`, with stderr in the same pipe as stdout or
    /// thrown away (for [`tools::shell`]).
    pub(crate) fn spawn_in(
        bin: &Path,
        args: &[&str],
        dir: &Path,
        with_stderr: bool,
        keyboard: bool,
    ) -> Program {
        let mut command = Command::new(bin);
        command.args(args).current_dir(dir).env_remove(common::ADDR_ENV).process_group(0);
        let mut program = Program::spawn_command(command, keyboard, with_stderr);
        program.group = true;
        program
    }

    fn spawn_command(mut command: Command, interactive: bool, with_stderr: bool) -> Program {
        let bin = command.get_program().to_os_string();
        let (reader, writer) = std::io::pipe().expect("a pipe");
        command
            .stdin(if interactive { Stdio::piped() } else { Stdio::null() })
            .stdout(writer.try_clone().expect("a second pipe end"));
        if with_stderr {
            command.stderr(writer);
        } else {
            command.stderr(Stdio::null());
            drop(writer);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {bin:?}: {e}"));
        // `command` holds our copies of the pipe's write end: drop it, so that the
        // reader sees the end of the output when the program exits.
        drop(command);
        let stdin = child.stdin.take();
        Program { child, stdin, lines: read_lines(reader), seen: Vec::new(), group: false }
    }

    /// Types `line` and Enter (for a program started with `start_interactive`).
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("started with start_interactive");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("type a line");
    }

    /// Types `keys` as they are: in a terminal ([`tools::terminal`]) Enter is `\r`.
    pub fn type_keys(&mut self, keys: &str) {
        let stdin = self.stdin.as_mut().expect("started with a keyboard");
        stdin.write_all(keys.as_bytes()).expect("type");
    }

    /// Ends the input, as Ctrl-D does at a terminal.
    pub fn end_input(&mut self) {
        self.stdin = None;
    }

    /// Waits for a line that contains `needle`, and returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_for_within(needle, TIMEOUT)
    }

    /// Waits up to `timeout` for a line that contains `needle`, and returns it.
    pub fn wait_for_within(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line containing {needle:?} within {timeout:?}; the program printed:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the program ended before printing {needle:?}; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The next line the program prints, or `None` if it ends first or prints
    /// nothing more within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        process::signal(self.pid(), process::SIGINT).expect("send SIGINT");
    }

    /// Freezes the program and every program of its group, as Ctrl-Z in a terminal
    /// does: it stays connected, and reads and answers nothing, until
    /// [`Program::resume`].
    pub fn pause(&self) {
        process::signal_group(self.pid(), process::SIGSTOP).expect("send SIGSTOP");
    }

    /// Lets a [`Program::pause`]d program run again.
    pub fn resume(&self) {
        process::signal_group(self.pid(), process::SIGCONT).expect("send SIGCONT");
    }

    /// Kills the program at once, as a crash or `kill -9` would.
    pub fn kill(&mut self) {
        if self.group {
            // Every program the shell started dies first, the deepest first, and in
            // the same instant as far as they can tell: `script` runs its command in a
            // session of its own, out of reach of the group, and a program that
            // outlived it for a moment would see its terminal close and exit cleanly
            // (websocat sends a Close frame), which is not what `kill -9` shows.
            process::kill_tree(self.pid());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the program to exit and returns its status and every line it
    /// printed.
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + timeout;
        // The output ends when the program has exited and closed its end of the pipe.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    panic!(
                        "the program did not exit within {timeout:?}; it printed:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
        let status = self.child.wait().expect("wait for the program");
        (status, self.seen.clone())
    }

    /// Every line printed so far (including ones not yet waited for, up to now).
    pub fn output(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.clone()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A lesson server, started on port 0 and ready: it has printed its address.
pub struct Server {
    pub program: Program,
    /// The address it is listening on, such as `127.0.0.1:39411`.
    pub addr: String,
}

impl Server {
    /// Starts `bin --addr 127.0.0.1:0` and waits for `Listening on <scheme>://ADDR`.
    pub fn start(bin: &Path) -> Server {
        Server::start_with(bin, &["--addr", "127.0.0.1:0"], &[])
    }

    pub fn start_with(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::started(bin, Program::start_with(bin, args, env))
    }

    /// [`Server::start_with`] in the folder `dir`, for a server that writes files
    /// where it runs (lesson 07's certificate, with `--tls`).
    pub fn start_in(bin: &Path, args: &[&str], dir: &Path) -> Server {
        page::record_run(bin, args);
        Server::started(bin, Program::spawn_in(bin, args, dir, true, false))
    }

    /// Waits for a started server's `Listening on` line.
    fn started(bin: &Path, mut program: Program) -> Server {
        let line = program.wait_for_within("Listening on ", START_TIMEOUT);
        let addr = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ']).next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        // What this server prints about its address, the page shows about the
        // lesson's default address.
        if let Some(default) = page::default_address(bin) {
            page::map_address(&addr, default);
        }
        Server { program, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        page::unmap_address(&self.addr);
    }
}

/// What a program that ran to the end printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lines().map(str::to_string).collect()
    }
}

/// A fresh, empty folder for one test (`name` tells tests apart; the process id
/// tells runs apart), for a program that writes files where it runs.
pub fn temp_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lessons-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// Lesson 07 with `--tls`, in a folder of its own.
pub struct TlsServer {
    pub server: Server,
    /// Where it runs: the page's commands, which name its certificate by a relative
    /// path, run here.
    pub folder: PathBuf,
    /// The self-signed certificate it wrote, for the clients' `--ca`.
    pub cert: PathBuf,
}

/// Starts lesson 07 with `--tls` in a fresh folder (it writes its self-signed
/// certificate there, as it does in the student's workspace).
pub fn tls_server(name: &str) -> TlsServer {
    let folder = temp_folder(name);
    let server =
        Server::start_in(&bin_path("http_ws_server"), &["--tls", "--addr", "127.0.0.1:0"], &folder);
    let cert = folder.join("target/tls/http_ws_server.pem");
    TlsServer { server, folder, cert }
}

/// Runs `bin` to the end, with `stdin` as its input, and returns what it printed.
/// Kills it and fails the test if it takes longer than `timeout`.
pub fn run(
    bin: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
    timeout: Duration,
) -> Finished {
    page::record_run(bin, args);
    let mut child = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove(common::ADDR_ENV)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_string();
    // Write from another thread: a program that prints a lot before reading its
    // input would otherwise block us both.
    thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));

    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = match done_rx.recv_timeout(timeout) {
        Ok(status) => status.expect("wait for the program"),
        Err(_) => {
            let _ = process::signal(pid, process::SIGKILL);
            panic!(
                "{} did not finish within {timeout:?}; stdout so far:\n{}",
                bin.display(),
                stdout.recv_timeout(TIMEOUT).unwrap_or_default()
            );
        }
    };
    Finished {
        status,
        stdout: stdout.recv_timeout(TIMEOUT).expect("stdout ends with the program"),
        stderr: stderr.recv_timeout(TIMEOUT).expect("stderr ends with the program"),
    }
}

fn read_lines(reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn read_all(mut reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

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

/// An address where nothing listens: a port that was free a moment ago.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").to_string()
}

/// [`free_addr`], standing for `default` in what programs print about it: for a
/// test of a page that shows the lesson's default address (`no server at
/// 127.0.0.1:5000`).
pub fn free_addr_as(default: &str) -> String {
    let addr = free_addr();
    page::map_address(&addr, default);
    addr
}

/// The resident memory of process `pid`, in KiB (Linux only).
pub fn rss_kib(pid: u32) -> u64 {
    process::rss_kib(pid).expect("the process is running")
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

/// The URL on a server's `Listening on URL` line, exactly as it printed it.
pub fn listening_url(server: &mut Server) -> String {
    let line = server
        .program
        .output()
        .into_iter()
        .find(|line| line.starts_with("Listening on "))
        .expect("the server printed its address");
    line["Listening on ".len()..].split(' ').next().unwrap_or_default().to_string()
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

/// Runs `bin` with its stdout read by something that stops after `n` lines and
/// closes the pipe, as `| head -n` does, and `stdin` as its input, then
/// `typed_after` once the pipe is closed. Returns its exit status, its stderr and
/// the lines read.
pub fn run_into_head(
    bin: &Path,
    args: &[&str],
    stdin: &str,
    n: usize,
    typed_after: &str,
) -> (ExitStatus, String, Vec<String>) {
    let mut child = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove(common::ADDR_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin.as_bytes()).expect("write the input");
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let stdout = child.stdout.take().expect("piped stdout");
    // `head`: read `n` lines, then close the pipe (the reader is dropped with the
    // thread). The program's next print then has nowhere to go.
    let (lines_tx, lines_rx) = mpsc::channel();
    thread::spawn(move || {
        let lines: Vec<String> =
            BufReader::new(stdout).lines().map_while(Result::ok).take(n).collect();
        let _ = lines_tx.send(lines);
    });
    let read = lines_rx.recv_timeout(TIMEOUT).expect("the program printed its lines in time");
    // More typing, whose answers have nowhere to go; then the input ends.
    let _ = input.write_all(typed_after.as_bytes());
    drop(input);
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = match done_rx.recv_timeout(TIMEOUT) {
        Ok(status) => status.expect("wait for the program"),
        Err(_) => {
            let _ = process::signal(pid, process::SIGKILL);
            panic!("{} did not exit within {TIMEOUT:?} after its stdout closed", bin.display());
        }
    };
    (status, stderr.recv_timeout(TIMEOUT).unwrap_or_default(), read)
}
