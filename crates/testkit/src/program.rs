//! Running a lesson's program as a student does, and reading what it prints: a
//! program left running ([`Program`]), one run to its end ([`run`]), and one whose
//! output goes into `head` ([`run_into_head`]).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::RwLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::{TIMEOUT, env, process, record};

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
    /// Starts `bin` with `args`, in the environment a page assumes ([`env`]).
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
        record::record_run(bin, args);
        let mut command = Command::new(bin);
        env::as_a_page_assumes(&mut command).args(args).envs(env.iter().copied());
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
        env::as_a_page_assumes(&mut command).args(args).current_dir(dir).process_group(0);
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
        let mut child = start(&mut command).unwrap_or_else(|e| panic!("cannot start {bin:?}: {e}"));
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
        let ended = self.wait_exit_within(timeout);
        ended.unwrap_or_else(|| {
            self.kill();
            panic!(
                "the program did not exit within {timeout:?}; it printed:\n{}",
                self.seen.join("\n")
            )
        })
    }

    /// [`Program::wait_exit`] for a program that may rightly still run: `None` if it
    /// has not exited within `timeout` (it is left running).
    pub fn wait_exit_within(&mut self, timeout: Duration) -> Option<(ExitStatus, Vec<String>)> {
        let deadline = Instant::now() + timeout;
        // The output ends when the program has exited and closed its end of the pipe.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => return None,
            }
        }
        let status = self.child.wait().expect("wait for the program");
        Some((status, self.seen.clone()))
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

/// Runs `bin` to the end, with `stdin` as its input, and returns what it printed.
/// Kills it and fails the test if it takes longer than `timeout`.
pub fn run(
    bin: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
    timeout: Duration,
) -> Finished {
    record::record_run(bin, args);
    let mut command = Command::new(bin);
    env::as_a_page_assumes(&mut command)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child =
        start(&mut command).unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
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

/// Held (shared) while a program is started, and (alone) while `head` closes its
/// pipe. Starting a program copies every open file of this process into the new
/// one, for a moment: until it runs the program, which closes them again. A pipe
/// end that `head` closed in that moment would live on in the copy, and the
/// program writing to the pipe would not meet a closed end. This lock rules that
/// cause out. It did not remove every such case seen under load (from about 3 in 48
/// runs to 3 in 192), and what held the pipe open in the rest was not found: that
/// is why `wait_after_head` types again.
static STARTING: RwLock<()> = RwLock::new(());

/// Starts `command`, as `Command::spawn` does, but never while `head` closes a pipe.
/// Every program testkit starts goes through here, and so should any program a
/// test starts itself while a `head` row may run beside it.
pub fn start(command: &mut Command) -> std::io::Result<Child> {
    let _starting = STARTING.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    command.spawn()
}

/// What `run_into_head` waits for once the pipe is closed.
enum AfterHead {
    /// A line the program wrote to stderr.
    Said(String),
    /// It ended, with this status.
    Ended(std::io::Result<ExitStatus>),
}

/// Runs `bin` with its stdout read by something that stops after `n` lines and
/// closes the pipe, as `| head -n` does, and `stdin` as its input, then
/// `typed_after` once the pipe is closed. The input then stays open, as a
/// terminal stays open, until the program ends or says it panicked: its answer to
/// that typing meets the closed pipe. (Ended at once, the input would race the
/// answer: a program that sees the end of its input first closes, and ends quietly
/// before the answer comes.) A panicking `#[tokio::main]` that reads the keyboard
/// still waits for its blocking read, the Enter a person would press next: the
/// input ends then, as it does with nothing more to type (Ctrl-D). Returns its
/// exit status, its stderr and the lines read.
pub fn run_into_head(
    bin: &Path,
    args: &[&str],
    stdin: &str,
    n: usize,
    typed_after: &str,
) -> (ExitStatus, String, Vec<String>) {
    let mut command = Command::new(bin);
    env::as_a_page_assumes(&mut command)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child =
        start(&mut command).unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin.as_bytes()).expect("write the input");
    let (events_tx, events) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let said = events_tx.clone();
    thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = said.send(AfterHead::Said(line));
        }
    });
    let read = head(child.stdout.take().expect("piped stdout"), n);
    // More typing, whose answers have nowhere to go.
    let _ = input.write_all(typed_after.as_bytes());
    let input = (!typed_after.is_empty()).then_some(input);
    let pid = child.id();
    thread::spawn(move || {
        let _ = events_tx.send(AfterHead::Ended(child.wait()));
    });
    let (status, errors) = wait_after_head(&events, input, typed_after, pid, bin);
    let mut stderr = errors.join("\n");
    if !errors.is_empty() {
        stderr.push('\n');
    }
    (status, stderr, read)
}

/// `head -n`: reads `n` lines, then closes the pipe, and only then returns them.
/// The program's next print then has nowhere to go. (Closed after the lines were
/// handed over, the pipe could stay open a moment longer under load, and the
/// answer to what is typed next went into it.)
fn head(stdout: std::process::ChildStdout, n: usize) -> Vec<String> {
    let (lines_tx, lines_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let lines: Vec<String> = (&mut reader).lines().map_while(Result::ok).take(n).collect();
        // While no other program is being started: see `start`.
        let starting = STARTING.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        drop(reader);
        drop(starting);
        let _ = lines_tx.send(lines);
    });
    lines_rx.recv_timeout(TIMEOUT).expect("the program printed its lines in time")
}

/// Waits for the program to end, keeping its `input` open until then or until it
/// says it panicked; returns its status and all it said on stderr. While it goes on
/// quietly, `typed_after` is typed again every half second, as a person would go on
/// typing: an answer can still find the pipe open for a moment after `head` closed
/// it (the program printed into it, and had nothing more to print; seen about once
/// in 60 runs with both cores busy and other programs starting, never with a pause
/// between the two), and the next one meets the closed end.
fn wait_after_head(
    events: &Receiver<AfterHead>,
    mut input: Option<std::process::ChildStdin>,
    typed_after: &str,
    pid: u32,
    bin: &Path,
) -> (ExitStatus, Vec<String>) {
    let deadline = Instant::now() + TIMEOUT;
    let mut errors = Vec::new();
    let status = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left.min(Duration::from_millis(500))) {
            Err(RecvTimeoutError::Timeout) if !left.is_zero() => {
                if let Some(input) = input.as_mut() {
                    let _ = input.write_all(typed_after.as_bytes());
                }
            }
            Ok(AfterHead::Ended(status)) => break status.expect("wait for the program"),
            Ok(AfterHead::Said(line)) => {
                if line.contains("panicked at") {
                    input = None;
                }
                errors.push(line);
            }
            Err(_) => {
                let _ = process::signal(pid, process::SIGKILL);
                panic!(
                    "{} did not exit within {TIMEOUT:?} after its stdout closed; it said: {errors:#?}",
                    bin.display()
                );
            }
        }
    };
    drop(input);
    // The rest of what it said: stderr ends with the program.
    while let Ok(AfterHead::Said(line)) = events.recv_timeout(TIMEOUT) {
        errors.push(line);
    }
    (status, errors)
}
