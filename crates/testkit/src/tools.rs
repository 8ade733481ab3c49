//! Tools we did not write (curl, nc, websocat, wscat, Python's WebSocket libraries),
//! run by the tests the way a lesson page tells a student to run them.
//!
//! `cargo test --workspace` must pass on a machine that has only Rust, so a test
//! whose tool is missing prints one line (what it skipped, how to install the tool)
//! and passes. CI installs every tool and sets `LESSONS_REQUIRE_TOOLS=1`, under
//! which a missing tool fails the test instead: CI can never pass by skipping.

use std::path::Path;
use std::process::{Command, Stdio};

use std::time::Duration;

use crate::page::Block;
use crate::{Program, TIMEOUT};

/// Set to `1` (as `.ci/run` does) to make a missing tool a failure, not a skip.
pub const REQUIRE_ENV: &str = "LESSONS_REQUIRE_TOOLS";

/// A tool that a page uses: how to tell it is there, and how to install it.
pub struct Tool {
    pub name: &'static str,
    /// A command that succeeds only if the tool is installed.
    probe: &'static [&'static str],
    /// How to install it; `{package}` stands for the version `scripts/pins` pins.
    install: &'static str,
}

impl Tool {
    /// How to install the tool, with the version `scripts/pins` pins.
    pub fn install(&self) -> String {
        let mut line = self.install.to_string();
        while let Some(start) = line.find('{') {
            let end = start + line[start..].find('}').expect("a closing brace");
            let pin = pinned(&line[start + 1..end]);
            line.replace_range(start..=end, &pin);
        }
        line
    }
}

/// The pinned `package==version` or `package@version` of `package`, from
/// `scripts/pins`, the one list of the versions the pages were checked with (CI
/// installs them, scripts/check-newest compares them with the newest release).
pub fn pinned(package: &str) -> String {
    let path = crate::workspace_root().join("scripts/pins");
    let text = std::fs::read_to_string(&path).expect("scripts/pins");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once("=(").map(|(_, list)| list.trim_end_matches(')')))
        .flat_map(str::split_whitespace)
        .find(|pin| {
            pin.split_once("==")
                .or_else(|| pin.split_once('@'))
                .is_some_and(|(name, _)| name == package)
        })
        .unwrap_or_else(|| panic!("scripts/pins pins no {package}"))
        .to_string()
}

pub const CURL: Tool = Tool {
    name: "curl",
    probe: &["curl", "--version"],
    install: "apt-get install curl (CI: 7.88, Debian 12)",
};
pub const NC: Tool = Tool {
    name: "nc",
    probe: &["nc", "-h"],
    install: "apt-get install netcat-openbsd (CI: 1.219, Debian 12)",
};
pub const WEBSOCAT: Tool = Tool {
    name: "websocat",
    probe: &["websocat", "--version"],
    install: "cargo install --locked {websocat}",
};
pub const WSCAT: Tool =
    Tool { name: "wscat", probe: &["wscat", "--version"], install: "npm install -g {wscat}" };
pub const PYTHON: Tool =
    Tool { name: "python3", probe: &["python3", "--version"], install: "apt-get install python3" };
pub const PY_WEBSOCKETS: Tool = Tool {
    name: "python3 websockets",
    probe: &["python3", "-c", "import websockets"],
    install: "pip install {websockets}",
};
pub const PY_WEBSOCKET_CLIENT: Tool = Tool {
    name: "python3 websocket-client",
    probe: &["python3", "-c", "import websocket"],
    install: "pip install {websocket-client}",
};
pub const PY_FLASK: Tool = Tool {
    name: "python3 flask",
    probe: &["python3", "-c", "import flask"],
    install: "pip install {flask}",
};
pub const PY_REQUESTS: Tool = Tool {
    name: "python3 requests",
    probe: &["python3", "-c", "import requests"],
    install: "pip install {requests}",
};
pub const PY_AIOHTTP: Tool = Tool {
    name: "python3 aiohttp",
    probe: &["python3", "-c", "import aiohttp"],
    install: "pip install {aiohttp}",
};
pub const PY_REDIS: Tool = Tool {
    name: "python3 redis",
    probe: &["python3", "-c", "import redis"],
    install: "pip install {redis}",
};
pub const REDIS: Tool = Tool {
    name: "redis-server",
    probe: &["redis-server", "--version"],
    install: "apt-get install redis-server (CI: 7.0, Debian 12)",
};
pub const REDIS_CLI: Tool = Tool {
    name: "redis-cli",
    probe: &["redis-cli", "--version"],
    install: "apt-get install redis-tools (CI: 7.0, Debian 12)",
};
pub const NGINX: Tool = Tool {
    name: "nginx",
    probe: &["nginx", "-v"],
    install: "apt-get install nginx-light (CI: 1.22.1, Debian 12; it lives in /usr/sbin)",
};
pub const OPENSSL: Tool = Tool {
    name: "openssl",
    probe: &["openssl", "version"],
    install: "apt-get install openssl (CI: 3.0, Debian 12)",
};
pub const TMUX: Tool = Tool {
    name: "tmux",
    probe: &["tmux", "-V"],
    install: "apt-get install tmux (CI: 3.3a, Debian 12)",
};
pub const SCRIPT: Tool = Tool {
    name: "script",
    probe: &["script", "--version"],
    install: "apt-get install bsdutils (a terminal for wscat)",
};

/// True if every tool in `tools` is installed. If one is missing, prints one line
/// naming the test's `what` and how to install the tool, and returns false; under
/// `LESSONS_REQUIRE_TOOLS=1` it fails the test instead.
pub fn available(what: &str, tools: &[&Tool]) -> bool {
    for tool in tools {
        let (program, args) = tool.probe.split_first().expect("a probe command");
        let mut probe = Command::new(program);
        probe.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let found = crate::start(&mut probe)
            .and_then(|mut probe| probe.wait())
            .is_ok_and(|status| status.success());
        if !found {
            let line = format!(
                "skipped: {what}: {} is not installed (install it with: {})",
                tool.name,
                tool.install()
            );
            assert!(std::env::var(REQUIRE_ENV).as_deref() != Ok("1"), "{REQUIRE_ENV}=1: {line}");
            eprintln!("{line}");
            crate::skipped::record(what, tool.name, &tool.install());
            return false;
        }
    }
    true
}

/// A page's command, pointed at the address a test's server got instead of the
/// lesson's default: `127.0.0.1:5001` becomes `127.0.0.1:39411`, and the port alone
/// (`nc 127.0.0.1 5001`, `websocat -s 5001`) becomes `39411`. It also notes, for the
/// page checker, that the test ran the page's command and that `actual` stands for
/// `default` in what programs print.
pub fn at(command: &str, default: &str, actual: &str) -> String {
    crate::record::map_address(actual, default);
    crate::page::record_command(command);
    let (default_port, actual_port) = (port(default), port(actual));
    let command = command.replace(default, actual);
    command
        .split(' ')
        .map(|word| if word == default_port { actual_port } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`at`] for a page command that also runs a lesson (`... | cargo run -p NAME`):
/// each `cargo run -p NAME` becomes that lesson's binary, built if need be, pointed at
/// `actual` with `--addr` (a test cannot run cargo inside cargo test).
pub fn lesson_command(command: &str, default: &str, actual: &str) -> String {
    let mut command = at(command, default, actual);
    while let Some(start) = command.find("cargo run -p ") {
        let rest = &command[start + "cargo run -p ".len()..];
        let name = rest.split([' ', '|', ')']).next().unwrap_or_default().to_string();
        let binary = format!("{} --addr {actual}", crate::bin_path(&name).display());
        command.replace_range(start..start + "cargo run -p ".len() + name.len(), &binary);
    }
    command
}

/// Starts `command` with `sh -c`, in `dir`, as a student types it at a terminal:
/// stdout and stderr arrive through one pipe, as the terminal shows them.
pub fn shell(command: &str, dir: &Path) -> Program {
    Program::spawn_in(Path::new("sh"), &["-c", command], dir, true, false)
}

/// [`shell`], keeping only stdout: curl, for one, prints a progress meter on stderr
/// when its output is not a terminal, which a student never sees.
pub fn shell_stdout(command: &str, dir: &Path) -> Program {
    Program::spawn_in(Path::new("sh"), &["-c", command], dir, false, false)
}

/// Runs the command of a page's block (its one `$` line) with `sh -c`, pointed at
/// `actual` instead of the lesson's `default` address, waits for it to end, and
/// returns the lines it printed (stdout only if `stdout_only`).
pub fn run_block(block: &Block, default: &str, actual: &str, stdout_only: bool) -> Vec<String> {
    // From the top of the workspace, where the pages tell students to run commands.
    run_block_in(block, default, actual, stdout_only, &crate::workspace_root())
}

/// [`run_block`] in the folder `dir` (where a server wrote a file the command names).
pub fn run_block_in(
    block: &Block,
    default: &str,
    actual: &str,
    stdout_only: bool,
    dir: &Path,
) -> Vec<String> {
    let command = at(block.command(), default, actual);
    let mut program = if stdout_only { shell_stdout(&command, dir) } else { shell(&command, dir) };
    program.wait_exit(TIMEOUT).1.iter().map(|line| back(line, default, actual)).collect()
}

/// A command that `page` gives inline, in backquotes rather than in a block (`nc
/// 127.0.0.1 5000`, typed by hand in a lab): fails unless the page says exactly
/// this, so that the test runs what the student reads. Returns it.
pub fn inline_command<'a>(page: &str, command: &'a str) -> &'a str {
    let path = crate::workspace_root().join("lessons").join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {page}: {e}"));
    assert!(text.contains(&format!("`{command}`")), "{page} does not give `{command}`");
    command
}

/// Runs the command of the block `id` on `page` ([`run_block`]) and checks that it
/// prints what the block shows.
pub fn check_block(page: &str, id: &str, default: &str, actual: &str, stdout_only: bool) {
    check_block_in(page, id, default, actual, stdout_only, &crate::workspace_root());
}

/// [`check_block`] in the folder `dir` (see [`run_block_in`]).
pub fn check_block_in(
    page: &str,
    id: &str,
    default: &str,
    actual: &str,
    stdout_only: bool,
    dir: &Path,
) {
    let block = crate::page::block(page, id);
    crate::page::assert_matches(&block, &run_block_in(&block, default, actual, stdout_only, dir));
}

pub use crate::record::back;
use crate::record::port;

/// A wscat session as page 03 shows it: the block's `wscat -c URL` in a terminal
/// pointed at `actual`, `Hi there` typed, and the screen once the answer is in,
/// checked against the block. The page leaves out wscat's next prompt, `>`, if it
/// has come yet.
pub fn check_wscat_session(page: &str, id: &str, default: &str, actual: &str) {
    let session = crate::page::block(page, id);
    let mut wscat = terminal(&at(session.command(), default, actual), true);
    wscat.wait_for("Connected");
    wscat.type_keys("Hi there\r");
    wscat.wait_for("< Server received");
    let mut shown = screen(&wscat.output());
    if shown.last().is_some_and(|line| line == ">") {
        shown.pop();
    }
    crate::page::assert_matches(&session, &shown);
}

/// For a command that does not end by itself (curl after an upgrade, a client that
/// waits for more): runs it in a terminal, reads as many lines as the block shows,
/// waits a moment for any line the page does not show, then stops it, as the student
/// does with Ctrl-C.
pub fn run_block_until_shown(block: &Block, default: &str, actual: &str) -> Vec<String> {
    let command = at(block.command(), default, actual);
    let mut program = terminal(&command, false);
    let mut lines = Vec::new();
    while lines.len() < block.output.len() {
        match program.next_line(TIMEOUT) {
            Some(line) => lines.push(back(&plain(&line), default, actual)),
            None => break,
        }
    }
    // Anything more would be output the page does not show: give it a chance to come.
    while let Some(line) = program.next_line(Duration::from_millis(300)) {
        lines.push(back(&plain(&line), default, actual));
    }
    program.kill();
    lines
}

/// Runs `command` in a terminal of its own (a pseudo-terminal, made by `script`), as
/// a student's shell does. Some tools behave differently when their output is not a
/// terminal: curl holds its output back in a buffer, wscat prints nothing at all.
/// Read its lines through [`plain`]. With `keyboard`, [`Program::type_line`] types.
pub fn terminal(command: &str, keyboard: bool) -> Program {
    Program::spawn_in(
        Path::new("script"),
        &["-qec", command, "/dev/null"],
        &crate::workspace_root(),
        true,
        keyboard,
    )
}

/// What a terminal shows after `lines` (read from a [`terminal`] program): each line
/// of the screen, with colours, cursor moves and rewritten prompts applied, as a
/// person sees them. Blank lines at the end are left out.
pub fn screen(lines: &[String]) -> Vec<String> {
    let mut parser = vt100::Parser::new(1000, 250, 0);
    for line in lines {
        parser.process(line.as_bytes());
        parser.process(b"\r\n");
    }
    let mut rows: Vec<String> =
        parser.screen().contents().lines().map(|row| row.trim_end().to_string()).collect();
    while rows.last().is_some_and(String::is_empty) {
        rows.pop();
    }
    rows
}

/// One terminal line as the terminal shows it (see [`screen`]).
pub fn plain(line: &str) -> String {
    screen(&[line.to_string()]).join("\n")
}

/// The output of a page's `curl` block, from the real curl. Without curl (and
/// without `LESSONS_REQUIRE_TOOLS`), the test's own HTTP client sends the same
/// request instead, so that the server's side of the page is still checked.
pub fn curl(block: &Block, default: &str, actual: &str) -> Vec<String> {
    if available(&format!("the real curl for block `{}`", block.id), &[&CURL]) {
        run_block(block, default, actual, true)
    } else {
        crate::record::map_address(actual, default);
        crate::page::record_command(block.command());
        crate::http::curl(actual, block.command()).0
    }
}

/// [`curl`] for a command that does not end by itself (`curl -N` after a 101).
pub fn curl_until_shown(block: &Block, default: &str, actual: &str) -> Vec<String> {
    if available(&format!("the real curl for block `{}`", block.id), &[&CURL, &SCRIPT]) {
        run_block_until_shown(block, default, actual)
    } else {
        crate::record::map_address(actual, default);
        crate::page::record_command(block.command());
        crate::http::curl(actual, block.command()).0
    }
}

#[cfg(test)]
mod tests {
    use super::{at, back, plain, screen};

    /// The install lines take their versions from `scripts/pins`.
    #[test]
    fn install_lines_name_the_pinned_versions() {
        assert!(super::WEBSOCAT.install().starts_with("cargo install --locked websocat@"));
        assert!(super::WSCAT.install().starts_with("npm install -g wscat@"));
        for tool in [
            super::PY_WEBSOCKETS,
            super::PY_WEBSOCKET_CLIENT,
            super::PY_FLASK,
            super::PY_REQUESTS,
            super::PY_REDIS,
            super::PY_AIOHTTP,
        ] {
            let line = tool.install();
            assert!(line.starts_with("pip install ") && line.contains("=="), "{line}");
        }
    }

    #[test]
    fn commands_point_at_the_test_server_and_output_back_at_the_default() {
        let default = "127.0.0.1:5001";
        let actual = "127.0.0.1:39411";
        assert_eq!(
            at("printf 'x' | nc -q 1 127.0.0.1 5001", default, actual),
            "printf 'x' | nc -q 1 127.0.0.1 39411"
        );
        assert_eq!(
            at("websocat ws://127.0.0.1:5001/", default, actual),
            "websocat ws://127.0.0.1:39411/"
        );
        assert_eq!(at("head -c 15001 x", default, actual), "head -c 15001 x");
        assert_eq!(
            back("port 39411 (http://127.0.0.1:39411/)", default, actual),
            "port 5001 (http://127.0.0.1:5001/)"
        );
        assert_eq!(back("content-length: 394110", default, actual), "content-length: 394110");
    }

    #[test]
    fn a_terminal_line_is_what_the_terminal_shows() {
        assert_eq!(plain("\u{1b}[1mupgrade\u{1b}[0m: websocket\r\r"), "upgrade: websocket");
        assert_eq!(plain("> \r< answer"), "< answer");
        let lines = [
            "\u{1b}[2K\u{1b}[3DConnected\r".to_string(),
            "\u{1b}[1G\u{1b}[0J> \u{1b}[3Gx".to_string(),
        ];
        assert_eq!(screen(&lines), ["Connected", "> x"]);
    }
}
