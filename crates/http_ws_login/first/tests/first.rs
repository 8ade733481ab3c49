//! Lesson 11's first version (`cargo run -p http_ws_login_first`), black-box: what
//! the page shows it print, a login with curl and a line said with websocat as the
//! session's name, and the same program in Python doing the same.

use std::path::Path;

use testkit::page::{assert_matches, block};
use testkit::tools::{self, CURL, WEBSOCAT};
use testkit::{Program, Server, bin_path};

const PAGE: &str = "11-http-ws-login.md";

/// The lines a page's block prints when its commands run one after another in one
/// shell (a variable set by one is there for the next), pointed at `addr`.
fn run_commands(id: &str, addr: &str) -> Vec<String> {
    let shown = block(PAGE, id);
    let commands: Vec<String> =
        shown.commands.iter().map(|c| tools::at(c, common::LOGIN_ADDR, addr)).collect();
    let (_, lines) = tools::shell_stdout(&commands.join("\n"), &std::env::temp_dir())
        .wait_exit(testkit::TIMEOUT);
    lines.iter().map(|line| tools::back(line, common::LOGIN_ADDR, addr)).collect()
}

/// The page's curl login, then its login and websocat line, against `addr`.
fn log_in_and_say(addr: &str) {
    tools::check_block(PAGE, "first-login", common::LOGIN_ADDR, addr, true);
    assert_matches(&block(PAGE, "first-chat"), &run_commands("first-chat", addr));
}

#[test]
fn first_version_logs_in_and_chats_as_page_11_shows() {
    let mut server = Server::start(&bin_path("http_ws_login_first"));
    // What it prints as it starts, which the page shows.
    let started = server.program.output();
    if tools::available("page 11's first curl and websocat", &[&WEBSOCAT, &CURL]) {
        log_in_and_say(&server.addr);
    }
    assert_matches(&block(PAGE, "first"), &started);
}

#[test]
fn first_version_in_python_does_the_same() {
    if !tools::available("page 11's Python server", &[&tools::PY_AIOHTTP, &WEBSOCAT, &CURL]) {
        return;
    }
    let script = testkit::workspace_root().join("scripts/interop/first/11_login_chat.py");
    testkit::page::record_command("python3 scripts/interop/first/11_login_chat.py");
    let env = [(common::ADDR_ENV, "127.0.0.1:0")];
    let program =
        Program::start_with(Path::new("python3"), &[script.to_str().expect("UTF-8")], &env);
    let mut python = Server::from_program(program, common::LOGIN_ADDR);
    let started = python.program.output();
    // aiohttp writes its cookie's attributes in another order, and names itself in a
    // `Server` header: the page's chat, not its login's head, is the same.
    assert_matches(&block(PAGE, "first-chat"), &run_commands("first-chat", &python.addr));
    assert_matches(&block(PAGE, "first-python"), &started);
}
