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
