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
    let mut lines = text.lines().skip_while(|line| line.trim() != marker).skip(1);
    // The block may be indented, inside a list item: take its indent off every line.
    let indent = match lines.next() {
        Some(fence) if fence.trim_start().starts_with("```") => {
            fence.len() - fence.trim_start().len()
        }
        _ => panic!("{page} has no code block right after {marker}"),
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

/// Replaces every `127.0.0.1:<port>` with `127.0.0.1:PORT`, the value of a `date:`
/// header with `DATE`, WebSocket keys (random for each connection) with `KEY`, and
/// trims line ends.
pub fn normalise(line: &str) -> String {
    if line.starts_with("date: ") {
        return "date: DATE".to_string();
    }
    let mut line = line.to_string();
    for name in ["sec-websocket-key: ", "sec-websocket-accept: "] {
        if let Some(at) = line.find(name) {
            let start = at + name.len();
            let end = line[start..].find([',', ')', ' ']).map_or(line.len(), |n| start + n);
            line.replace_range(start..end, "KEY");
        }
    }
    // Waits with a random part (jitter) differ on every run: `0.4 s` -> `N.N s`.
    let line = decimal_seconds(&line);
    let line = line.as_str();
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("PORT");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out.trim_end().to_string()
}

/// Replaces every `<digits>.<digits> s` with `N.N s`.
fn decimal_seconds(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let decimal = word.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && (a.chars().chain(b.chars())).all(|c| c.is_ascii_digit())
        });
        out.push(if decimal && words.get(i + 1) == Some(&"s") { "N.N" } else { word });
    }
    out.join(" ")
}

/// Fails, showing both sides, unless the page's block and the program's real output
/// are the same lines once normalised. A line `...` in the block stands for any
/// number of lines (the page says why: retries that depend on timing, say).
pub fn assert_matches(block: &Block, actual: &[String]) {
    let expected: Vec<String> = block.output.iter().map(|l| normalise(l)).collect();
    let actual: Vec<String> = actual.iter().map(|l| normalise(l)).collect();
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
    use super::normalise;

    #[test]
    fn ports_are_normalised() {
        assert_eq!(
            normalise("conn #1 127.0.0.1:53712 GET / -> 127.0.0.1:5000.  "),
            "conn #1 127.0.0.1:PORT GET / -> 127.0.0.1:PORT."
        );
        assert_eq!(normalise("no address here"), "no address here");
        assert_eq!(normalise("127.0.0.1: x"), "127.0.0.1: x");
        assert_eq!(
            normalise("(sec-websocket-key: Qc/6at9G/+27ssy9QUVwfw==, sec-websocket-version: 13)"),
            "(sec-websocket-key: KEY, sec-websocket-version: 13)"
        );
        assert_eq!(
            normalise("    sec-websocket-accept: ljLGcFUw6PZmSgxWNrZLOH5AKKY="),
            "    sec-websocket-accept: KEY"
        );
        assert_eq!(
            normalise(" INFO Reconnecting in 0.4 s (attempt 1)"),
            " INFO Reconnecting in N.N s (attempt 1)"
        );
        assert_eq!(normalise("version 1.0 is here"), "version 1.0 is here");
    }

    #[test]
    fn dots_match_any_lines() {
        let lines = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        assert!(super::lines_match(&lines("a,...,d"), &lines("a,b,c,d")));
        assert!(super::lines_match(&lines("a,...,d"), &lines("a,d")));
        assert!(!super::lines_match(&lines("a,...,d"), &lines("a,b,c")));
        assert!(!super::lines_match(&lines("a,b"), &lines("a,b,c")));
    }
}
