//! A page's defence table: each way to break a lesson, what the first version does
//! and what the full lesson does, as found by running both over loopback. A test
//! builds the table with [`table`] and checks it against the page's block (`<!--
//! check: defences -->` above a markdown table), so the page can claim no defence the
//! code lacks, and no failure the first version does not show.

use std::time::{Duration, Instant};

/// One row: the case, then what each program did, in a few words.
pub struct Row {
    pub case: &'static str,
    pub first: String,
    pub lesson: String,
}

/// The table as the page shows it, one line per row, after its head.
pub fn table(rows: &[Row]) -> Vec<String> {
    let mut lines = vec![
        "| Break it | The first version | The full lesson |".to_string(),
        "|---|---|---|".to_string(),
    ];
    for row in rows {
        lines.push(format!("| {} | {} | {} |", row.case, row.first, row.lesson));
    }
    lines
}

/// Whether `program` printed a panic (a task of the first version that `unwrap`ped
/// an error) after its first `mark` lines, waiting up to `within` for it.
pub fn panicked_since(program: &mut crate::Program, mark: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if program.output()[mark..].iter().any(|line| line.contains("panicked at")) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        program.next_line(left);
    }
}
