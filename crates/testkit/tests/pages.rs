//! Every block of expected output on a page is checked against the real programs
//! (`<!-- check: ID -->`, read by the lesson's tests), with one exception said in
//! the page itself: a block that needs the internet, which no test here reaches.

use std::collections::HashSet;

/// The one reason a page may give for a block of output that no test checks.
const NOT_CHECKED: &str =
    "<!-- not checked: it needs the internet, and the tests send traffic only to this computer -->";

#[test]
fn every_output_block_is_checked_or_says_why_not() {
    let lessons = testkit::workspace_root().join("lessons");
    let mut pages: Vec<_> = std::fs::read_dir(&lessons)
        .expect("the lessons folder")
        .map(|entry| entry.expect("a page").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut unchecked = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("a page");
        let lines: Vec<&str> = text.lines().collect();
        let mut ids = HashSet::new();
        for (at, line) in lines.iter().enumerate() {
            if let Some(id) = line.trim().strip_prefix("<!-- check: ") {
                assert!(ids.insert(id), "{}: two blocks marked {id}", page.display());
            }
            if line.trim() != "```console" {
                continue;
            }
            // Output: a line of the block that is not a command (`$ `) or Ctrl-C.
            let block = lines[at + 1..].iter().take_while(|l| !l.trim().starts_with("```"));
            let shows_output = block.map(|l| l.trim()).any(|l| !l.starts_with("$ ") && l != "^C");
            let marker = at.checked_sub(1).map(|before| lines[before].trim()).unwrap_or_default();
            let marked = marker.starts_with("<!-- check: ") || marker == NOT_CHECKED;
            if shows_output && !marked {
                unchecked.push(format!("{}:{}: {marker}", page.display(), at + 1));
            }
        }
    }
    assert!(unchecked.is_empty(), "output blocks that no test checks:\n{}", unchecked.join("\n"));
}

/// Each lesson's walk-through opens with a reading path: what to read first, on a
/// second reading, and what to skip at first, by file and function. Every function
/// it names must be in the file it names, so the path cannot send a student to a
/// function that moved or was renamed.
#[test]
fn every_reading_path_names_functions_that_exist() {
    let root = testkit::workspace_root();
    for n in 1..=9 {
        let prefix = format!("{n:02}-");
        let page = std::fs::read_dir(root.join("lessons"))
            .expect("the lessons folder")
            .map(|entry| entry.expect("a page").path())
            .find(|path| path.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&prefix)))
            .unwrap_or_else(|| panic!("no page {prefix}"));
        let text = std::fs::read_to_string(&page).expect("a page");
        for label in ["**Read first:**", "**Second reading:**", "**Skip on first reading:**"] {
            // The item, with its wrapped lines joined.
            let start = text.find(&format!("- {label}")).unwrap_or_else(|| {
                panic!("{}: no `- {label}` line in its walk-through", page.display())
            });
            let item: String = text[start..]
                .lines()
                .enumerate()
                .take_while(|(at, line)| *at == 0 || line.starts_with("  "))
                .map(|(_, line)| line.trim())
                .collect::<Vec<_>>()
                .join(" ");
            let mut named = 0;
            for part in item.split("[`").skip(1) {
                let (_, rest) = part.split_once("](../").expect("a link to a file");
                let (path, rest) = rest.split_once(')').expect("a link's end");
                let functions = rest.trim_start().strip_prefix('(').and_then(|r| r.split_once(')'));
                let functions = functions.map_or("", |(inside, _)| inside);
                let source = std::fs::read_to_string(root.join(path))
                    .unwrap_or_else(|e| panic!("{}: {label} names {path}: {e}", page.display()));
                for function in functions.split(", ").map(|f| f.trim_matches('`')) {
                    let defined = source.lines().any(|line| {
                        line.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| {
                            w[0] == "fn" && w[1].split(['(', '<']).next() == Some(function)
                        })
                    });
                    assert!(
                        defined,
                        "{}: {label} names {function} in {path}, which has no such function",
                        page.display()
                    );
                    named += 1;
                }
            }
            assert!(named > 0, "{}: {label} names no function", page.display());
        }
    }
}
