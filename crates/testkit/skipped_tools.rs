//! The end of `cargo test --workspace`: how many checks were skipped for a missing
//! tool, and which tools would run them (see `crates/testkit/src/skipped.rs`).

fn main() {
    testkit::skipped::print_summary_and_forget();
}
