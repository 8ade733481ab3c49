//! A lesson's steps: the complete programs between its first version and the full
//! lesson, each one defence (or one promised feature) more than the step before.
//! They are examples of the first version's package,
//! `crates/<lesson>/first/examples/<lesson>_step<N>.rs`, run with `cargo run -p
//! <lesson>_first --example <lesson>_step<N>`. Page N shows the first version in full
//! and each step as a diff against the one before; this module finds the steps and
//! makes those diffs, for the tests that check the page and for the table of
//! defences, which runs every case on the step that turns it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace_root;

/// One step of a lesson.
pub struct Step {
    /// 1, 2, ...
    pub number: u32,
    /// Its example's name, `<lesson>_step<N>`: unique in the workspace.
    pub name: String,
    /// Its source file.
    pub path: PathBuf,
}

/// The steps of lesson crate `krate`, in order (none yet for most lessons).
pub fn of(krate: &str) -> Vec<Step> {
    let dir = workspace_root().join("crates").join(krate).join("first/examples");
    let mut steps = Vec::new();
    for number in 1.. {
        let name = format!("{krate}_step{number}");
        let path = dir.join(format!("{name}.rs"));
        if !path.exists() {
            break;
        }
        steps.push(Step { number, name, path });
    }
    steps
}

/// The file a lesson's step `number` is compared with: the step before, or the first
/// version for step 1.
pub fn before(krate: &str, number: u32) -> PathBuf {
    let first = workspace_root().join("crates").join(krate).join("first");
    if number == 1 {
        first.join("main.rs")
    } else {
        first.join("examples").join(format!("{krate}_step{}.rs", number - 1))
    }
}

/// A program's code without its `//!` header (what it is, how to run it), which
/// each step has its own of: the diffs compare what runs.
pub fn code(path: &Path) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|line| !line.starts_with("//!")).unwrap_or(lines.len());
    // The blank line after the header goes with it.
    let start =
        if lines.get(start).is_some_and(|line| line.is_empty()) { start + 1 } else { start };
    let mut code = lines[start..].join("\n");
    code.push('\n');
    code
}

/// The unified diff of `old`'s code against `new`'s (`diff -u`, headers left out):
/// the lines a page's `diff` block shows, from the first `@@`.
pub fn diff(old: &Path, new: &Path) -> Vec<String> {
    let dir = crate::temp_folder("step-diff");
    let (a, b) = (dir.join("before.rs"), dir.join("after.rs"));
    std::fs::write(&a, code(old)).expect("write the code before");
    std::fs::write(&b, code(new)).expect("write the code after");
    let mut diff = Command::new("diff");
    diff.arg("-u").arg(&a).arg(&b).stdout(std::process::Stdio::piped());
    let out =
        crate::start(&mut diff).and_then(std::process::Child::wait_with_output).expect("run diff");
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip_while(|line| !line.starts_with("@@"))
        .map(str::to_string)
        .collect()
}

/// The lines of code a diff changes: added or removed, neither blank nor a comment.
pub fn changed_code_lines(diff: &[String]) -> usize {
    diff.iter()
        .filter(|line| line.starts_with('+') || line.starts_with('-'))
        .map(|line| line[1..].trim())
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count()
}

/// The most lines of code a step may change against the step before: a step is one
/// defence, small enough to read on the page. Lessons 07 to 09 do more per defence.
pub fn limit(lesson: u32) -> usize {
    if lesson >= 7 { 60 } else { 40 }
}

/// The lines of the fenced block right after `<!-- check: ID -->` on page `page`,
/// as they are (a `rust` or `diff` block, which no program prints).
pub fn page_block(page: &str, id: &str) -> Vec<String> {
    let path = workspace_root().join("lessons").join(page);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let marker = format!("<!-- check: {id} -->");
    let mut lines = text.lines().skip_while(|line| line.trim() != marker).skip(1);
    match lines.next() {
        Some(fence) if fence.starts_with("```") => {}
        _ => panic!("{page} has no code block right after {marker}"),
    }
    lines.take_while(|line| !line.starts_with("```")).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_diff_counts_changed_code_but_not_comments_or_blank_lines() {
        let diff: Vec<String> =
            ["@@ -1,2 +1,3 @@", " same", "-old", "+new", "+// why", "+", "+    more"]
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(super::changed_code_lines(&diff), 3);
    }
}
