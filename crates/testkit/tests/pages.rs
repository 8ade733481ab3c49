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
    for lesson in lessons_with_a_first_version() {
        let page = root.join("lessons").join(&lesson.page);
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

/// A first reading fits one sitting: a page's prose outside code blocks, `<details>`
/// boxes and comments is at most 1,600 words for lessons 01 to 06 and 2,000 for 07
/// to 09 (and 10), and "What you will learn" lists at most 6 ideas (8). Everything
/// else (other tools, troubleshooting, memory and size detail, file-by-file
/// changes) waits in a box a student opens when they want it.
#[test]
fn a_first_reading_fits_one_sitting() {
    let root = testkit::workspace_root();
    let mut over = Vec::new();
    for entry in std::fs::read_dir(root.join("lessons")).expect("the lessons folder") {
        let page = entry.expect("a page").path();
        let name = page.file_name().expect("a name").to_string_lossy().into_owned();
        let Some(n) = name.get(..2).and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let (words_at_most, ideas_at_most) = if n <= 6 { (1600, 6) } else { (2000, 8) };
        let text = std::fs::read_to_string(&page).expect("a page");
        let words = first_reading_words(&text);
        let ideas = ideas(&text);
        println!("{name}: {words} words of first reading, {ideas} ideas");
        if words > words_at_most {
            over.push(format!("{name}: {words} words of first reading, more than {words_at_most}"));
        }
        if ideas == 0 || ideas > ideas_at_most {
            over.push(format!(
                "{name}: {ideas} ideas in What you will learn, not 1 to {ideas_at_most}"
            ));
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}

/// Words a student reads on a first pass: the page without its front matter, code
/// blocks, `<details>` boxes and HTML comments.
fn first_reading_words(page: &str) -> usize {
    let page = match page.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")) {
        Some((_front_matter, rest)) => rest,
        None => page,
    };
    let mut prose = String::new();
    let mut in_code = false;
    for line in outside_details(page).lines() {
        if line.trim().starts_with("```") {
            in_code = !in_code;
        } else if !in_code {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let mut words = 0;
    let mut rest = prose.as_str();
    // What is outside comments (`<!-- check: ... -->` and the like).
    while !rest.is_empty() {
        let (before, after) = match rest.split_once("<!--") {
            Some((before, after)) => (before, after.split_once("-->").map_or("", |(_, a)| a)),
            None => (rest, ""),
        };
        words += before
            .split(|c: char| !(c.is_alphanumeric() || "_'’.-".contains(c)))
            .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()))
            .count();
        rest = after;
    }
    words
}

/// The bullet points under "What you will learn".
fn ideas(page: &str) -> usize {
    let Some(start) = page.find("## What you will learn\n") else {
        return 0;
    };
    page[start..]
        .lines()
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .filter(|line| line.starts_with("- "))
        .count()
}

/// A page's `minutes:` is what a student needs for a first pass: read it, run what
/// it runs, and do one exercise. The estimate: 120 words of prose a minute (first
/// reading only), a minute and a half for each command block to run and compare
/// (outside boxes), ten lines of the first version a minute, and 20 minutes for one
/// exercise. The page's figure may round it, but not stray far from it.
#[test]
fn minutes_are_reading_running_and_one_exercise() {
    let root = testkit::workspace_root();
    let mut wrong = Vec::new();
    for lesson in lessons_with_a_first_version() {
        let (page, package) = (root.join("lessons").join(&lesson.page), &lesson.krate);
        let text = std::fs::read_to_string(&page).expect("a page");
        let minutes: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("minutes: "))
            .and_then(|m| m.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: no `minutes:` line", page.display()));
        let blocks = outside_details(&text).matches("```console").count() as f64;
        let first =
            std::fs::read_to_string(root.join("crates").join(package).join("first/main.rs"))
                .expect("the first version");
        let code_lines =
            first.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")).count()
                as f64;
        let estimate =
            first_reading_words(&text) as f64 / 120.0 + 1.5 * blocks + code_lines / 10.0 + 20.0;
        println!("{}: minutes {minutes}, estimate {estimate:.0}", page.display());
        if !(0.8 * estimate..=1.25 * estimate).contains(&minutes) {
            wrong.push(format!(
                "{}: minutes: {minutes}, but the estimate is {estimate:.0}",
                page.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The page without its `<details>` boxes.
fn outside_details(page: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = page;
    while !rest.is_empty() {
        let open = rest.find("<details>");
        let close = rest.find("</details>");
        match [open, close].into_iter().flatten().min() {
            Some(i) => {
                if depth == 0 {
                    out.push_str(&rest[..i]);
                }
                if Some(i) == open {
                    depth += 1;
                    rest = &rest[i + "<details>".len()..];
                } else {
                    depth = depth.saturating_sub(1);
                    rest = &rest[i + "</details>".len()..];
                }
            }
            None => {
                if depth == 0 {
                    out.push_str(rest);
                }
                rest = "";
            }
        }
    }
    out
}

/// Lesson `n`'s page: `lessons/NN-*.md`.
fn lessons_with_a_first_version() -> impl Iterator<Item = &'static testkit::roster::Lesson> {
    let crates = testkit::workspace_root().join("crates");
    testkit::roster::lessons()
        .iter()
        .filter(move |lesson| crates.join(&lesson.krate).join("first/main.rs").exists())
}

/// Both READMEs' tables of lessons agree with `scripts/roster`: each lesson's row
/// gives its number, its crate, its page and (in lessons/README.md) what it builds on.
#[test]
fn both_readmes_list_the_lessons_of_the_roster() {
    let root = testkit::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let index = std::fs::read_to_string(root.join("lessons/README.md")).expect("lessons/README");
    let row = |text: &str, number: u32| -> Vec<String> {
        let start = format!("| {number:02} |");
        let line = text.lines().find(|line| line.starts_with(&start)).unwrap_or_default();
        line.split('|').map(|cell| cell.trim().to_string()).collect()
    };
    for lesson in testkit::roster::lessons() {
        let krate = format!("`{}`", lesson.krate);
        let top = row(&readme, lesson.number);
        assert!(
            top.len() > 4
                && top[2] == krate
                && top[4].contains(&format!("(lessons/{})", lesson.page)),
            "README.md's row for lesson {:02} should name {krate} and lessons/{}: {top:?}",
            lesson.number,
            lesson.page
        );
        let on = |n: Option<u32>| n.map_or("-".to_string(), |n| format!("{n:02}"));
        let builds_on = match lesson.main_from {
            Some(main) if lesson.main_from != lesson.builds_on => {
                format!("{}, {}", on(lesson.builds_on), on(Some(main)))
            }
            _ => on(lesson.builds_on),
        };
        let listed = row(&index, lesson.number);
        assert!(
            listed.len() > 4
                && listed[2].contains(&format!("({})", lesson.page))
                && listed[3] == krate
                && listed[4] == builds_on,
            "lessons/README.md's row for lesson {:02} should link {}, name {krate} and build on \
             {builds_on}: {listed:?}",
            lesson.number,
            lesson.page
        );
    }
}

/// Lines of code in a first version, as the pages count them: neither blank nor a
/// comment.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("//")).collect()
}

/// A page that says its first version is "in N lines" says how many lines of code
/// (not blank, not a comment) its `first/main.rs` has.
#[test]
fn every_first_version_is_as_long_as_its_page_says() {
    let root = testkit::workspace_root();
    let mut wrong = Vec::new();
    for lesson in lessons_with_a_first_version() {
        let page = std::fs::read_to_string(root.join("lessons").join(&lesson.page)).expect("page");
        let section = page.split("## First, the idea alone").nth(1).unwrap_or_default();
        let section = section.split("\n## ").next().unwrap_or_default();
        let words: Vec<&str> = section.split_whitespace().collect();
        let claims: Vec<usize> = words
            .windows(3)
            .filter(|w| w[0] == "in" && w[2].starts_with("lines"))
            .filter_map(|w| w[1].parse().ok())
            .collect();
        assert_eq!(claims.len(), 1, "{}: one `in N lines` in its first section", lesson.page);
        let file = root.join("crates").join(&lesson.krate).join("first/main.rs");
        let real = code_lines(&std::fs::read_to_string(&file).expect("first/main.rs")).len();
        if claims[0] != real {
            wrong.push(format!(
                "{}: says {}, {} has {real}",
                lesson.page,
                claims[0],
                file.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "first versions' lengths:\n{}", wrong.join("\n"));
}

/// The first versions are a path: each is the first version it builds on plus its
/// idea (`scripts/diff-lessons N --first-path`), so most of the lines of code of the
/// one it builds on are still there, unchanged: 05 is 03 with a room, 06 is 04 with
/// `select!`, 07 is 01's server with 05's room on `/ws`, 09 is 07 with Redis in the
/// middle, 11 is 07 with a login, 13 is 07 heard as events. The others start a new kind of program: 02 and 04 are clients of 01 and
/// 03; 03 speaks WebSocket where 01 speaks HTTP; 08 is websocket-client's
/// `WebSocketApp`, the tutorial it answers, speaking lesson 07's JSON.
#[test]
fn each_first_version_keeps_most_of_the_one_it_builds_on() {
    let root = testkit::workspace_root();
    let first = |number: u32| {
        let lesson = testkit::roster::lessons().iter().find(|l| l.number == number);
        let krate = &lesson.expect("a lesson of the roster").krate;
        let text = std::fs::read_to_string(root.join("crates").join(krate).join("first/main.rs"));
        (krate.clone(), text.expect("first/main.rs"))
    };
    let path: [(u32, &[u32]); 6] =
        [(5, &[3]), (6, &[4]), (7, &[1, 5]), (9, &[7]), (11, &[7]), (13, &[7])];
    let mut short = Vec::new();
    for (number, bases) in path {
        let (krate, new) = first(number);
        let new: HashSet<&str> = code_lines(&new).into_iter().collect();
        for &base in bases {
            let (base_krate, old) = first(base);
            let old = code_lines(&old);
            let kept = old.iter().filter(|line| new.contains(*line)).count();
            if kept * 2 < old.len() {
                short.push(format!(
                    "{krate}'s first version keeps {kept} of the {} lines of code of {base_krate}'s",
                    old.len()
                ));
            }
        }
    }
    assert!(short.is_empty(), "first versions that are not a path:\n{}", short.join("\n"));
}
