//! Each file lives once, in the lesson that teaches it; a later lesson carries it
//! with a `#[path = "../../CRATE/src/FILE"]` line in its `main.rs` rather than a
//! copy. The compiler already checks that a carried path exists. What it cannot
//! see, and these tests do: a file that comes back as a copy, and a carried file
//! that names the wrong lesson or comes from a later one.

use std::path::PathBuf;

fn src(lesson: &str) -> PathBuf {
    testkit::workspace_root().join("crates").join(lesson).join("src")
}

fn number(lesson: &str) -> u32 {
    testkit::roster::by_crate(lesson).unwrap_or_else(|| panic!("no lesson {lesson}")).number
}

/// The lessons' crates, in order (`scripts/roster`).
fn lessons() -> impl Iterator<Item = &'static str> {
    testkit::roster::lessons().iter().map(|lesson| lesson.krate.as_str())
}

/// The modules a lesson carries: (the crate it comes from, the file, the lesson
/// number its comment names), from lines like
/// `#[path = "../../http_server/src/listen.rs"] // lesson 01`.
fn carried(lesson: &str) -> Vec<(String, String, String)> {
    let main = std::fs::read_to_string(src(lesson).join("main.rs")).expect("main.rs");
    main.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("#[path = \"../../")?;
            let (path, comment) = rest.split_once("\"]")?;
            let (from, file) = path.split_once("/src/")?;
            let named = comment.trim().strip_prefix("// lesson ").unwrap_or("").to_string();
            Some((from.to_string(), file.to_string(), named))
        })
        .collect()
}

#[test]
fn no_lesson_holds_a_copy_of_another_lessons_file() {
    let mut seen: Vec<(String, String)> = Vec::new(); // (where, contents)
    for lesson in lessons() {
        for entry in std::fs::read_dir(src(lesson)).expect("a lesson has src/").flatten() {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let here = format!("crates/{lesson}/src/{}", entry.file_name().to_string_lossy());
            if let Some((first, _)) = seen.iter().find(|(_, seen)| *seen == text) {
                panic!(
                    "{here} is a copy of {first}: carry it with a #[path] line in main.rs \
                     instead (see lesson 05's). If it is your own copy, to experiment in this \
                     lesson alone, this test says so until you change it."
                );
            }
            seen.push((here, text));
        }
    }
}

#[test]
fn a_carried_file_comes_from_an_earlier_lesson_and_says_which() {
    let mut any = 0;
    for lesson in lessons() {
        for (from, file, named) in carried(lesson) {
            any += 1;
            let what = format!("crates/{lesson}/src/main.rs carries {from}/src/{file}");
            assert!(number(&from) < number(lesson), "{what}: a lesson builds only on earlier ones");
            assert_eq!(
                named,
                format!("{:02}", number(&from)),
                "{what}: its comment names the lesson"
            );
            assert!(
                !src(lesson).join(&file).exists(),
                "{what}, and has its own {file} too: delete one"
            );
        }
    }
    assert!(any >= 18, "the carried files were not found ({any}): has the #[path] form changed?");
}

/// The files a page's header (the paragraph under its title, `Code: ...`) links: the
/// files that page teaches, as (the folder under `crates/` that holds its `src/`,
/// the file): `http_ws_cluster` or, for lesson 09's client, `http_ws_cluster/client`.
fn taught_by(page: &str) -> Vec<(String, String)> {
    let path = testkit::workspace_root().join("lessons").join(page);
    let text = std::fs::read_to_string(&path).expect("a page");
    let after_title = text.split_once("\n# ").map_or("", |(_, rest)| rest);
    let header = after_title.trim_start_matches(|c| c != '\n').trim_start();
    let header = header.split("\n\n").next().unwrap_or_default();
    header
        .split("](../crates/")
        .skip(1)
        .filter_map(|link| {
            let (path, _) = link.split_once(')')?;
            let (krate, file) = path.split_once("/src/")?;
            Some((krate.to_string(), file.to_string()))
        })
        .collect()
}

/// Which lesson teaches which file is said once, by its page's header: each file in
/// a lesson's `src/` is linked there, and a page links only its own crate's files. So
/// a file that a later page teaches cannot sit in an earlier lesson's crate: its
/// page would have to link an earlier crate (this test fails), or the earlier page
/// would have to claim it (and a later crate that needs it carries it).
#[test]
fn each_lessons_files_are_the_ones_its_page_teaches() {
    let mut wrong = Vec::new();
    for lesson in testkit::roster::lessons() {
        let taught = taught_by(&lesson.page);
        for (krate, file) in &taught {
            if krate.split('/').next() != Some(lesson.krate.as_str()) {
                wrong.push(format!(
                    "{} teaches crates/{krate}/src/{file}, a file of another lesson's crate: \
                     move it to crates/{}/src/ (and carry it from there)",
                    lesson.page, lesson.krate
                ));
            }
        }
        // The lesson's own src/, and that of a program of its own beside it (lesson
        // 09's client, in crates/http_ws_cluster/client/).
        let root = testkit::workspace_root().join("crates");
        let mut folders = vec![lesson.krate.clone()];
        for entry in std::fs::read_dir(root.join(&lesson.krate)).expect("a crate").flatten() {
            let sub = entry.file_name().to_string_lossy().into_owned();
            if entry.path().join("src").is_dir() {
                folders.push(format!("{}/{sub}", lesson.krate));
            }
        }
        for folder in folders {
            for entry in std::fs::read_dir(root.join(&folder).join("src")).expect("src/").flatten()
            {
                let file = entry.file_name().to_string_lossy().into_owned();
                if !taught.iter().any(|(k, f)| *k == folder && *f == file) {
                    wrong.push(format!(
                        "crates/{folder}/src/{file} is not linked in the header of {}, which \
                         teaches it",
                        lesson.page
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The items a lesson's `main.rs` defines at its top level: `struct Shared`,
/// `fn handle`, `const PAGE`, ...
fn defined_in_main(lesson: &str) -> Vec<String> {
    let main = std::fs::read_to_string(src(lesson).join("main.rs")).expect("main.rs");
    main.lines()
        .filter_map(|line| {
            let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
            let line = line.strip_prefix("async ").unwrap_or(line);
            let (kind, rest) = line.split_once(' ')?;
            ["struct", "enum", "fn", "const", "static", "type"].contains(&kind).then(|| {
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("")
            })
        })
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// A file below `main.rs` (its own or carried) takes what it needs as parameters,
/// or from another module, never from `main.rs`: an arrow back up would make
/// every lesson that carries the file define the same items, a contract that only
/// the compiler, one lesson at a time, could check.
#[test]
fn no_file_below_main_reaches_main() {
    let mut wrong = Vec::new();
    for lesson in lessons() {
        let from_main = defined_in_main(lesson);
        let mut files: Vec<PathBuf> = std::fs::read_dir(src(lesson))
            .expect("a lesson has src/")
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "rs"))
            .filter(|path| path.file_name().is_some_and(|n| n != "main.rs"))
            .collect();
        files.extend(carried(lesson).iter().map(|(from, file, _)| src(from).join(file)));
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a source file");
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                let Some(at) = line.find("crate::") else { continue };
                let after = &line[at + "crate::".len()..];
                let names: Vec<&str> = if let Some(list) = after.strip_prefix('{') {
                    list.split(['}', ','])
                        .map(|n| n.trim().split("::").next().unwrap_or(""))
                        .collect()
                } else {
                    after.split(|c: char| !(c.is_alphanumeric() || c == '_')).take(1).collect()
                };
                for name in names.into_iter().filter(|n| from_main.iter().any(|m| m == n)) {
                    wrong.push(format!(
                        "{} (in {lesson}) uses crate::{name} of main.rs",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
