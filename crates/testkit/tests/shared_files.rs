//! The plumbing files that several lessons carry are the same, word for word, in
//! every lesson that has them: `scripts/diff-lessons` then shows them as unchanged,
//! and a fix made in one copy cannot drift from the others unnoticed.

use std::collections::BTreeMap;

/// Each shared file, with the lessons that carry it. Any other file name found in
/// two lessons must be a lesson's own (`OWN`), grown from one lesson to the next.
const SHARED: &[(&str, &[&str])] = &[
    (
        "listen.rs",
        &["http_server", "ws_echo_server", "ws_chat_server", "http_ws_server", "http_ws_cluster"],
    ),
    (
        "shutdown.rs",
        &["http_server", "ws_echo_server", "ws_chat_server", "http_ws_server", "http_ws_cluster"],
    ),
    ("websocket.rs", &["ws_echo_server", "ws_chat_server", "http_ws_server", "http_ws_cluster"]),
    ("tls.rs", &["http_ws_server", "http_ws_cluster"]),
    ("upgrade.rs", &["http_ws_server", "http_ws_cluster"]),
    ("handshake.rs", &["ws_echo_server", "ws_chat_server"]),
    ("keyboard.rs", &["ws_chat_client", "ws_reconnect_client"]),
    ("wss.rs", &["ws_echo_client", "ws_chat_client", "ws_reconnect_client"]),
];
const OWN: &[&str] = &["main.rs", "chat.rs", "room.rs", "http.rs", "api.rs", "page.html"];
const LESSONS: &[&str] = &[
    "http_server",
    "http_client",
    "ws_echo_server",
    "ws_echo_client",
    "ws_chat_server",
    "ws_chat_client",
    "http_ws_server",
    "ws_reconnect_client",
    "http_ws_cluster",
];

fn source(lesson: &str, file: &str) -> Option<String> {
    let path = testkit::workspace_root().join("crates").join(lesson).join("src").join(file);
    std::fs::read_to_string(path).ok()
}

#[test]
fn shared_files_are_the_same_in_every_lesson_that_has_them() {
    for (file, lessons) in SHARED {
        let first =
            source(lessons[0], file).unwrap_or_else(|| panic!("{} has no {file}", lessons[0]));
        for lesson in &lessons[1..] {
            let copy = source(lesson, file).unwrap_or_else(|| panic!("{lesson} has no {file}"));
            assert!(
                copy == first,
                "crates/{lesson}/src/{file} differs from crates/{}/src/{file}: make them the same \
                 (copy the one you changed over the others)",
                lessons[0]
            );
        }
    }
}

#[test]
fn every_file_two_lessons_share_by_name_is_listed() {
    let mut holders: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for lesson in LESSONS {
        let src = testkit::workspace_root().join("crates").join(lesson).join("src");
        for entry in std::fs::read_dir(&src).expect("a lesson has src/").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            holders.entry(name).or_default().push(lesson);
        }
    }
    for (file, lessons) in holders {
        if lessons.len() < 2 || OWN.contains(&file.as_str()) {
            continue;
        }
        let listed = SHARED.iter().find(|(name, _)| *name == file);
        let listed =
            listed.unwrap_or_else(|| panic!("{file} is in {lessons:?}: add it to SHARED or OWN"));
        assert_eq!(listed.1, lessons.as_slice(), "{file}: SHARED lists other lessons than have it");
    }
}
