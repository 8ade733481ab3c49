//! The lessons, as `scripts/roster` lists them: the one place that says which
//! number is which crate, what it builds on, where its server listens and which
//! page teaches it.

use std::sync::OnceLock;

/// One line of `scripts/roster`.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// 1, 2, ...
    pub number: u32,
    /// The package a student runs: `cargo run -p CRATE`.
    pub krate: String,
    /// The lesson it builds on, if any.
    pub builds_on: Option<u32>,
    /// The lesson whose `main.rs` its `main.rs` is compared with, if any.
    pub main_from: Option<u32>,
    /// Where its server listens by default; `None` for a client.
    pub address: Option<String>,
    /// Its page's file name in `lessons/`.
    pub page: String,
}

/// Every lesson, in order.
pub fn lessons() -> &'static [Lesson] {
    static LESSONS: OnceLock<Vec<Lesson>> = OnceLock::new();
    LESSONS.get_or_init(|| {
        let path = crate::workspace_root().join("scripts/roster");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        parse(&text)
    })
}

/// The lesson whose crate is `krate` (a first version's `_first` dropped, and a
/// step's `_step<N>`).
pub fn by_crate(krate: &str) -> Option<&'static Lesson> {
    let krate = krate.strip_suffix("_first").unwrap_or(krate);
    let krate = match krate.rsplit_once("_step") {
        Some((lesson, n)) if n.parse::<u32>().is_ok() => lesson,
        _ => krate,
    };
    lessons().iter().find(|lesson| lesson.krate == krate)
}

/// Lesson `number`.
pub fn by_number(number: u32) -> &'static Lesson {
    lessons()
        .iter()
        .find(|lesson| lesson.number == number)
        .unwrap_or_else(|| panic!("scripts/roster has no lesson {number}"))
}

fn parse(text: &str) -> Vec<Lesson> {
    let number = |field: &str| (field != "-").then(|| field.parse().expect("a lesson number"));
    let text_or_none = |field: &str| (field != "-").then(|| field.to_string());
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [n, krate, builds_on, main_from, address, page] = fields[..] else {
                panic!("scripts/roster: not six fields: {line}");
            };
            Lesson {
                number: n.parse().expect("a lesson number"),
                krate: krate.to_string(),
                builds_on: number(builds_on),
                main_from: number(main_from),
                address: text_or_none(address),
                page: page.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// The roster is in order, each lesson builds on an earlier one, each crate and
    /// page exists, and each server's address is the one `common` gives it.
    #[test]
    fn the_roster_is_whole() {
        let root = crate::workspace_root();
        for (i, lesson) in super::lessons().iter().enumerate() {
            assert_eq!(lesson.number as usize, i + 1, "{lesson:?}: out of order");
            for earlier in [lesson.builds_on, lesson.main_from].into_iter().flatten() {
                assert!(earlier < lesson.number, "{lesson:?} builds on a later lesson");
            }
            assert!(root.join("lessons").join(&lesson.page).exists(), "{lesson:?}: no page");
            let manifest = root.join("crates").join(&lesson.krate).join("Cargo.toml");
            assert!(manifest.exists(), "{lesson:?}: no crate");
        }
        // Each server's default address is one that `common` gives the programs.
        let known = [
            common::HTTP_ADDR,
            common::WS_ECHO_ADDR,
            common::WS_CHAT_ADDR,
            common::HTTP_WS_ADDR,
            common::CLUSTER_ADDR,
            common::LOGIN_ADDR,
            common::PUSH_ADDR,
        ];
        for lesson in super::lessons() {
            if let Some(address) = &lesson.address {
                assert!(known.contains(&address.as_str()), "{lesson:?}: not an address of common");
            }
        }
    }
}
