//! The lesson pages show what each program prints. Those blocks are marked, so a test
//! can find them and compare them with what the real program prints:
//!
//! ````markdown
//! <!-- check: client -->
//! ```console
//! $ cargo run -p http_client
//! Connection 1: 127.0.0.1:53712 -> 127.0.0.1:5000
//! ```
//! ````
//!
//! Lines starting with `$ ` are commands the student types; `^C` is the student
//! pressing Ctrl-C. The rest is output. Port numbers and dates differ on every run,
//! so both sides have them replaced by placeholders before comparing ([`normalise`]).

use std::fmt::Write as _;
use std::path::Path;

pub use crate::record::{as_on_the_page, map_address, record_command};
use crate::workspace_root;

/// One marked block from a lesson page.
#[derive(Debug, Clone)]
pub struct Block {
    pub id: String,
    /// The commands typed, without the `$ `.
    pub commands: Vec<String>,
    /// The output lines (commands and `^C` left out).
    pub output: Vec<String>,
}

impl Block {
    /// The block's one command, for a block that shows exactly one.
    pub fn command(&self) -> &str {
        match self.commands.as_slice() {
            [command] => command,
            _ => panic!("block {} shows {} commands, not one", self.id, self.commands.len()),
        }
    }

    /// The arguments after `--` in the block's first `cargo run` command.
    pub fn cargo_run_args(&self) -> Vec<String> {
        let command = self
            .commands
            .iter()
            .find(|c| c.starts_with("cargo run"))
            .unwrap_or_else(|| panic!("block {} has no `$ cargo run` line", self.id));
        match command.split_once(" -- ") {
            Some((_, args)) => args.split_whitespace().map(str::to_string).collect(),
            None => Vec::new(),
        }
    }

    /// The input of a `$ printf '...' | cargo run ...` command, with `\n` as newlines.
    pub fn piped_input(&self) -> String {
        let command = &self.commands[0];
        let quoted = command
            .strip_prefix("printf '")
            .and_then(|rest| rest.split_once("' |"))
            .unwrap_or_else(|| panic!("block {}: no `printf '...' |` in {command:?}", self.id));
        quoted.0.replace("\\n", "\n")
    }
}

/// The block marked `<!-- check: ID -->` in `lessons/<page>`.
pub fn block(page: &str, id: &str) -> Block {
    let path = workspace_root().join("lessons").join(page);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let marker = format!("<!-- check: {id} -->");
    let mut lines = text.lines().skip_while(|line| line.trim() != marker).skip(1).peekable();
    // A table (a defence table, say) is checked line by line, as output.
    if lines.peek().is_some_and(|line| line.trim_start().starts_with('|')) {
        let output = lines.take_while(|line| line.trim_start().starts_with('|'));
        let output = output.map(|line| line.trim().to_string()).collect();
        return Block { id: id.to_string(), commands: Vec::new(), output };
    }
    // The block may be indented, inside a list item: take its indent off every line.
    let indent = match lines.next() {
        Some(fence) if fence.trim_start().starts_with("```") => {
            fence.len() - fence.trim_start().len()
        }
        _ => panic!("{page} has no code block or table right after {marker}"),
    };
    let mut block = Block { id: id.to_string(), commands: Vec::new(), output: Vec::new() };
    for line in lines.take_while(|line| !line.trim_start().starts_with("```")) {
        let line = line.get(indent..).unwrap_or("");
        if let Some(command) = line.strip_prefix("$ ") {
            block.commands.push(command.to_string());
        } else if line != "^C" {
            block.output.push(line.to_string());
        }
    }
    block
}

/// The RFC 6455 example key (section 1.3) and its accept value: fixed, so a page
/// that shows them must show them exactly.
const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// Ports from here up differ on every run: the ones the tests pick for a server
/// ([`crate::free_addr`], from 10,000), and the ones the system picks for a
/// connection's client side and for port 0 (Linux: 32768-60999). The lessons' own
/// ports (5000-5006) and any port a page names are below.
const FIRST_VARYING_PORT: u32 = crate::server::FIRST_TEST_PORT as u32;

/// Makes a line comparable across runs, changing only what truly varies: the value
/// of a `date:` header (`DATE`); a random WebSocket key and its accept value (`KEY`),
/// never the RFC's example; a client-side or system-picked port (`127.0.0.1:PORT`,
/// and lesson 10's proxy's `127.0.0.2:PORT`),
/// never a lesson's port; and the jittered wait of a `Reconnecting in X s (attempt
/// N)` line, which becomes `N.N` only if X is a wait the client can choose for
/// attempt N (see [`reconnect_wait_is_possible`]). Line ends are trimmed.
pub fn normalise(line: &str) -> String {
    if line.starts_with("date: ") {
        return "date: DATE".to_string();
    }
    let mut line = without_redis_stamp(line);
    for name in ["sec-websocket-key: ", "sec-websocket-accept: "] {
        if let Some(at) = line.find(name) {
            let start = at + name.len();
            let end = line[start..].find([',', ')', ' ']).map_or(line.len(), |n| start + n);
            if ![RFC_KEY, RFC_ACCEPT].contains(&line[start..end].trim_end()) {
                line.replace_range(start..end, "KEY");
            }
        }
    }
    let line = reconnect_wait(&session_id(&history_id(&line)));
    let mut out = String::with_capacity(line.len());
    let mut rest = line.as_str();
    // 127.0.0.2 is lesson 10's proxy, which connects from ports the system picks.
    let next = |rest: &str| {
        ["127.0.0.1:", "127.0.0.2:"]
            .iter()
            .filter_map(|host| rest.find(host).map(|at| at + host.len()))
            .min()
    };
    while let Some(at) = next(rest) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let port: u32 = after[..digits].parse().unwrap_or(0);
        if port >= FIRST_VARYING_PORT {
            out.push_str("PORT");
        } else {
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
        // Lesson 09 names each instance by its address and a random tag, `/3f2a`.
        if let Some(tag) = instance_tag(rest) {
            out.push_str("/TAG");
            rest = &rest[tag..];
        }
    }
    out.push_str(rest);
    out.trim_end().to_string()
}

/// A history's id, new at every start of lesson 07's room (hex, the time it
/// started): in the `server-instance` header, and in lesson 13's event ids,
/// `id: HISTORY.N`.
fn history_id(line: &str) -> String {
    for prefix in ["id: ", "server-instance: "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let hex = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
            let ends = rest[hex..].is_empty() || rest[hex..].starts_with('.');
            if hex >= 8 && ends {
                return format!("{prefix}HISTORY{}", &rest[hex..]);
            }
        }
    }
    line.to_string()
}

/// A line with lesson 11's session id, 32 random hex digits after `session=`, as
/// `session=ID`.
fn session_id(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("session=") {
        let (before, after) = rest.split_at(at + "session=".len());
        out.push_str(before);
        let hex = after.len() - after.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
        if hex == 32 {
            out.push_str("ID");
            rest = &after[hex..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A line of redis-server's log without what differs at every start: its process
/// id and the time, `8096:M 04 Dec 2026 05:51:46.815 * Ready` -> `PID:M TIME * Ready`.
fn without_redis_stamp(line: &str) -> String {
    let stamp = line.split_once(':').and_then(|(pid, rest)| {
        let (role, rest) = rest.split_once(' ')?;
        let words: Vec<&str> = rest.splitn(5, ' ').collect();
        let is_time = |w: &str| w.len() == 12 && w.as_bytes()[2] == b':' && w.as_bytes()[8] == b'.';
        let ok = pid.bytes().all(|b| b.is_ascii_digit())
            && !pid.is_empty()
            && role.len() == 1
            && words.len() == 5
            && words[2].len() == 4
            && is_time(words[3]);
        ok.then(|| format!("PID:{role} TIME {}", words[4]))
    });
    stamp.unwrap_or_else(|| line.to_string())
}

/// The length of an instance's tag (`/` and 4 hex digits) at the start of `rest`.
fn instance_tag(rest: &str) -> Option<usize> {
    let hex = rest.strip_prefix('/')?.get(..4)?;
    let ends = !rest[5..].starts_with(|c: char| c.is_ascii_alphanumeric());
    (hex.chars().all(|c| c.is_ascii_hexdigit()) && ends).then_some(5)
}

/// `Reconnecting in 0.4 s (attempt 1)` -> `Reconnecting in N.N s (attempt 1)`, if 0.4
/// s is a wait lesson 08 can choose for attempt 1; otherwise the line is left as it
/// is, so that it matches nothing the client prints.
fn reconnect_wait(line: &str) -> String {
    let parsed = line.split_once("Reconnecting in ").and_then(|(before, rest)| {
        let (seconds, rest) = rest.split_once(" s (attempt ")?;
        let attempt: u32 = rest.trim_end().strip_suffix(')')?.parse().ok()?;
        Some((before, seconds.parse::<f64>().ok()?, attempt))
    });
    match parsed {
        Some((before, seconds, attempt)) if reconnect_wait_is_possible(seconds, attempt) => {
            format!("{before}Reconnecting in N.N s (attempt {attempt})")
        }
        _ => line.to_string(),
    }
}

/// Lesson 08 waits a random 50-100 % of a delay that starts at 0.5 s and doubles
/// after each failed attempt, up to 30 s. A wait printed with one decimal is possible
/// for attempt N of an outage if it is in that range (give or take the rounding).
pub fn reconnect_wait_is_possible(seconds: f64, attempt: u32) -> bool {
    let exponent = i32::try_from(attempt.saturating_sub(1).min(16)).unwrap_or(16);
    let delay = (0.5 * 2f64.powi(exponent)).min(30.0);
    attempt >= 1 && seconds >= delay / 2.0 - 0.05 && seconds <= delay + 0.05
}

/// The default address of a lesson server, by its binary's name (`scripts/roster`).
pub(crate) fn default_address(bin: &Path) -> Option<&'static str> {
    // A lesson's first version (`http_server_first`) listens where the lesson does.
    let name = bin.file_stem()?.to_str()?;
    crate::roster::by_crate(name)?.address.as_deref()
}

/// A line a program printed, made comparable with a page's line: [`normalise`]d,
/// after every test address in it is written as the default address the page shows.
pub fn normalise_output(line: &str) -> String {
    normalise(&crate::record::as_on_the_page(line))
}

/// Fails unless this test ran every command the block shows: a page that says
/// `cargo run -p http_server` above a lesson 03 server's output is wrong.
fn assert_commands_ran(block: &Block) {
    let runs = crate::record::runs();
    for command in &block.commands {
        // `printf '...' | cargo run -p NAME`: the input is checked by the test that
        // types it; the program is checked here.
        let program = command.rsplit(" | ").next().unwrap_or(command);
        let ran = runs.iter().any(|run| run == command || run == program);
        assert!(
            ran,
            "the page's block `{}` shows `$ {command}`, but the test ran none such; it ran:\n{}",
            block.id,
            runs.join("\n")
        );
    }
}

/// Fails, showing both sides, unless the page's block and the program's real output
/// are the same lines once normalised. A line `...` in the block stands for any
/// number of lines (the page says why: retries that depend on timing, say).
pub fn assert_matches(block: &Block, actual: &[String]) {
    assert_commands_ran(block);
    let expected: Vec<String> = block.output.iter().map(|l| normalise(l)).collect();
    let actual: Vec<String> = actual.iter().map(|l| normalise_output(l)).collect();
    if lines_match(&expected, &actual) {
        return;
    }
    let mut report =
        format!("the page's block `{}` does not match the program's output\n", block.id);
    let width = expected.len().max(actual.len());
    for i in 0..width {
        let e = expected.get(i).map_or("<none>", String::as_str);
        let a = actual.get(i).map_or("<none>", String::as_str);
        let mark = if e == a { ' ' } else { '!' };
        let _ = writeln!(report, "{mark} page:    {e}\n{mark} program: {a}");
    }
    panic!("{report}");
}

/// Line-by-line equality, where an expected `...` matches zero or more lines.
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual.first() == Some(first) && lines_match(rest, &actual[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::{lines_match, normalise, reconnect_wait_is_possible};

    fn same(page: &str, program: &str) -> bool {
        normalise(page) == normalise(program)
    }

    #[test]
    fn only_what_varies_is_normalised() {
        // redis-server's process id and time.
        assert!(same(
            "8096:M 04 Dec 2026 05:51:46.815 * Ready to accept connections",
            "31:M 28 Nov 2026 22:58:49.001 * Ready to accept connections"
        ));
        assert!(!same(
            "8096:M 04 Dec 2026 05:51:46.815 * Ready",
            "8096:C 04 Dec 2026 05:51:46.815 * Ready"
        ));
        // A session id is random; what surrounds it is not.
        assert!(same(
            "set-cookie: session=5f0c1e2a9b3d4c6e8f7a1b2c3d4e5f60; Path=/",
            "set-cookie: session=0123456789abcdef0123456789abcdef; Path=/"
        ));
        assert!(!same("session=5f0c1e2a9b3d4c6e8f7a1b2c3d4e5f60; Path=/", "session=ab; Path=/"));
        // Client-side ports vary; the lessons' ports do not.
        assert!(same("conn #1 127.0.0.1:54236 GET /", "conn #1 127.0.0.1:38411 GET /"));
        assert!(same("Listening on ws://127.0.0.1:5001", "Listening on ws://127.0.0.1:5001"));
        assert!(!same("Listening on ws://127.0.0.1:9999", "Listening on ws://127.0.0.1:5001"));
        assert!(!same("Listening on ws://127.0.0.1:5001", "Listening on ws://127.0.0.1:5002"));
        assert_eq!(normalise("127.0.0.1: x"), "127.0.0.1: x");
        assert_eq!(normalise("date: Sun, 22 Nov 2026 15:14:55 GMT"), "date: DATE");
        // A random key varies; the RFC's example does not.
        assert!(same(
            "(sec-websocket-key: Qc/6at9G/+27ssy9QUVwfw==, sec-websocket-version: 13)",
            "(sec-websocket-key: V7cV+eqPOgufGlV0vXMSNg==, sec-websocket-version: 13)"
        ));
        assert!(same(
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        ));
        assert!(!same(
            "sec-websocket-accept: nonsenseBiTxaQ9kYGzzhZRbK+xOo=",
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        ));
        assert_eq!(normalise("version 1.0 is here"), "version 1.0 is here");
        // Lesson 09's instances have a random tag; a path does not.
        assert!(same("as 127.0.0.1:5004/3f2a", "as 127.0.0.1:5004/09bc"));
        assert!(!same("GET 127.0.0.1:5004/api", "GET 127.0.0.1:5004/abc0"));
        assert!(!same("127.0.0.1:5004/abcdef", "127.0.0.1:5004/abc012"));
    }

    #[test]
    fn a_jittered_wait_is_checked_against_its_real_range() {
        let program = " INFO Reconnecting in 0.3 s (attempt 1)";
        assert!(same(" INFO Reconnecting in 0.4 s (attempt 1)", program));
        assert!(!same(" INFO Reconnecting in 29.9 s (attempt 1)", program));
        assert!(!same(" INFO Reconnecting in 99.0 s (attempt 42)", program));
        assert!(!same(" INFO Reconnecting in 0.4 s (attempt 2)", program));
        assert!(reconnect_wait_is_possible(0.6, 2));
        assert!(reconnect_wait_is_possible(30.0, 42) && reconnect_wait_is_possible(15.0, 7));
        assert!(!reconnect_wait_is_possible(99.0, 42) && !reconnect_wait_is_possible(0.2, 3));
    }

    #[test]
    fn the_wrong_edits_to_page_03_are_caught() {
        // What lesson 03's server and curl print, as the test sees it once the test's
        // port is written as the default.
        let program = [
            "Listening on ws://127.0.0.1:5001",
            "Try: cargo run -p ws_echo_client -- --addr ws://127.0.0.1:5001",
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ];
        for (right, wrong) in [
            (program[0], "Listening on ws://127.0.0.1:9999"),
            (program[1], "Try: cargo run -p ws_echo_client -- --addr ws://127.0.0.1:5011"),
            (program[2], "sec-websocket-accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ] {
            assert!(same(right, right), "{right}");
            assert!(!same(wrong, right), "{wrong} must not pass for {right}");
        }
    }

    #[test]
    fn dots_match_any_lines() {
        let lines = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        assert!(lines_match(&lines("a,...,d"), &lines("a,b,c,d")));
        assert!(lines_match(&lines("a,...,d"), &lines("a,d")));
        assert!(!lines_match(&lines("a,...,d"), &lines("a,b,c")));
        assert!(!lines_match(&lines("a,b"), &lines("a,b,c")));
    }
}
