//! The ramp on each page that has one (`testkit::steps`): the first version shown in
//! full, each step as a diff against the one before, each step small, each with the
//! command that runs it, and each named in the page's "Break it" table or said to
//! add a feature. The blocks are checked against the files, as output blocks are
//! checked against the programs.

use testkit::roster::{Lesson, lessons};
use testkit::steps::{self, page_block};

fn with_steps() -> impl Iterator<Item = (&'static Lesson, Vec<steps::Step>)> {
    lessons().iter().map(|lesson| (lesson, steps::of(&lesson.krate))).filter(|(_, s)| !s.is_empty())
}

#[test]
fn the_first_version_is_on_its_page_in_full() {
    for (lesson, _) in with_steps() {
        let path =
            testkit::workspace_root().join("crates").join(&lesson.krate).join("first/main.rs");
        let file = std::fs::read_to_string(&path).expect("first/main.rs");
        let file: Vec<&str> = file.lines().collect();
        assert_eq!(
            page_block(&lesson.page, "first-code"),
            file,
            "{}: the `first-code` block is not {}",
            lesson.page,
            path.display()
        );
    }
}

#[test]
fn each_step_is_on_its_page_as_a_diff_against_the_one_before() {
    let mut wrong = Vec::new();
    for (lesson, steps) in with_steps() {
        for step in &steps {
            let diff = steps::diff(&steps::before(&lesson.krate, step.number), &step.path);
            let shown = page_block(&lesson.page, &format!("step{}-diff", step.number));
            if shown != diff {
                let first = shown.iter().zip(&diff).position(|(a, b)| a != b);
                wrong.push(format!(
                    "{}: step {}'s diff differs from the files at line {:?} (page {} lines, \
                     files {}); `scripts/step-diffs {}` writes it",
                    lesson.page,
                    step.number,
                    first,
                    shown.len(),
                    diff.len(),
                    lesson.number
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_step_is_small_and_has_the_command_that_runs_it() {
    let mut wrong = Vec::new();
    for (lesson, steps) in with_steps() {
        let page =
            std::fs::read_to_string(testkit::workspace_root().join("lessons").join(&lesson.page))
                .expect("the page");
        for step in &steps {
            let diff = steps::diff(&steps::before(&lesson.krate, step.number), &step.path);
            let changed = steps::changed_code_lines(&diff);
            if changed > steps::limit(lesson.number) {
                wrong.push(format!(
                    "{}: changes {changed} lines of code, more than {}",
                    step.name,
                    steps::limit(lesson.number)
                ));
            }
            let command = format!("cargo run -p {}_first --example {}", lesson.krate, step.name);
            if !page.contains(&command) {
                wrong.push(format!("{}: the page does not say `{command}`", lesson.page));
            }
        }
        if steps.len() < 2 || steps.len() > 6 {
            wrong.push(format!("{}: {} steps, not 2 to 6", lesson.krate, steps.len()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `scripts/diff-lessons N --steps` prints each step in turn: its title and command,
/// the "Break it" rows it turns, and its diff.
#[test]
fn diff_lessons_steps_shows_each_step_after_the_rows_it_turns() {
    for (lesson, steps) in with_steps() {
        let script = testkit::workspace_root().join("scripts/diff-lessons");
        let number = lesson.number.to_string();
        let shown = testkit::run(&script, &[&number, "--steps"], &[], "", testkit::TIMEOUT);
        assert!(shown.status.success(), "{shown:?}");
        let table = testkit::page::block(&lesson.page, "defences").output;
        for step in &steps {
            let title = format!("cargo run -p {}_first --example {}", lesson.krate, step.name);
            assert!(shown.stdout.contains(&title), "no `{title}` in:\n{}", shown.stdout);
            for row in table.iter().filter(|row| row.contains(&format!("| step {} |", step.number)))
            {
                let case = row.trim_start_matches("| ").split(" | ").next().unwrap_or_default();
                let turns = format!("turns: {case}: ");
                assert!(shown.stdout.contains(&turns), "no `{turns}` in:\n{}", shown.stdout);
            }
        }
        let hunks = shown.stdout.lines().filter(|line| line.contains("@@ ")).count();
        assert!(hunks >= steps.len(), "{hunks} hunks for {} steps", steps.len());
    }
}
