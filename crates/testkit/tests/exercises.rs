//! The exercises (`exercises/<crate>/<N>-<name>/`), as files: each has a test and a
//! solution, and its page links both; each lesson 01 to 09 has one that starts from
//! a small program (its first version with one `todo!()`), and lesson 10 has two.
//! That each test fails without its solution and passes with it is
//! `scripts/check-exercises`'s job (CI runs it): it builds and runs them all.

use std::path::Path;

use testkit::roster;

/// The exercise folders of a lesson's crate, sorted.
fn exercises(krate: &str) -> Vec<std::path::PathBuf> {
    let dir = testkit::workspace_root().join("exercises").join(krate);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut found: Vec<_> = entries.map(|e| e.expect("an exercise folder").path()).collect();
    found.sort();
    found
}

/// The files a solution changes (`+++ b/<path>` lines).
fn patched(solution: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(solution).expect("a solution.patch");
    text.lines().filter_map(|l| l.strip_prefix("+++ b/")).map(str::to_string).collect()
}

#[test]
fn every_exercise_has_a_test_and_a_solution_that_its_page_links() {
    let root = testkit::workspace_root();
    let mut wrong = Vec::new();
    for lesson in roster::lessons() {
        let page = std::fs::read_to_string(root.join("lessons").join(&lesson.page))
            .expect("the lesson's page");
        for dir in exercises(&lesson.krate) {
            let name = dir.strip_prefix(&root).expect("in the workspace").display().to_string();
            for file in ["test.rs", "solution.patch"] {
                if !dir.join(file).is_file() {
                    wrong.push(format!("{name} has no {file}"));
                } else if !page.contains(&format!("](../{name}/{file})")) {
                    wrong.push(format!("{} does not link {name}/{file}", lesson.page));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_lesson_has_an_exercise_from_a_small_program() {
    let root = testkit::workspace_root();
    let mut wrong = Vec::new();
    for lesson in roster::lessons() {
        let all = exercises(&lesson.krate);
        if lesson.number == 10 {
            if all.len() < 2 {
                wrong.push(format!("lesson 10 has {} exercises, not 2", all.len()));
            }
            continue;
        }
        // An exercise from a small program changes one file of the first version's
        // package: an example with exactly one `todo!()`, which its page names.
        let first = format!("crates/{}/first/", lesson.krate);
        let small: Vec<String> = all
            .iter()
            .flat_map(|dir| patched(&dir.join("solution.patch")))
            .filter(|file| file.starts_with(&first))
            .collect();
        if small.is_empty() {
            wrong.push(format!(
                "lesson {:02} has no exercise that starts from {first}",
                lesson.number
            ));
        }
        let page = std::fs::read_to_string(root.join("lessons").join(&lesson.page))
            .expect("the lesson's page");
        for file in small {
            let text = std::fs::read_to_string(root.join(&file)).expect("the exercise's file");
            // Code, not the comments that talk about it.
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            let todos = code.filter(|l| l.trim_start().starts_with("todo!(")).count();
            if todos != 1 {
                wrong.push(format!("{file}: {todos} `todo!()`, not one"));
            }
            if !page.contains(&format!("](../{file})")) {
                wrong.push(format!("{} does not link {file}", lesson.page));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An example named as an exercise's is one: some exercise's solution changes it.
#[test]
fn every_exercise_example_belongs_to_an_exercise() {
    let root = testkit::workspace_root();
    let mut solved: Vec<String> = Vec::new();
    for lesson in roster::lessons() {
        for dir in exercises(&lesson.krate) {
            solved.extend(patched(&dir.join("solution.patch")));
        }
    }
    let mut wrong = Vec::new();
    for lesson in roster::lessons() {
        let examples = root.join("crates").join(&lesson.krate).join("first/examples");
        let Ok(entries) = std::fs::read_dir(&examples) else { continue };
        for entry in entries {
            let path = entry.expect("an example").path();
            let name = path.file_name().expect("a name").to_string_lossy().into_owned();
            let file = path.strip_prefix(&root).expect("in the workspace").display().to_string();
            if name.contains("_exercise_") && !solved.contains(&file) {
                wrong.push(format!("{file}: no exercise's solution changes it"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
