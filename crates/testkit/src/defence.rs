//! A page's defence table: each way to break a lesson, what the first version does,
//! the step that turns it and what the full lesson does, as found by running them
//! over loopback. A test builds the table with [`rows_with_steps`] (servers) or
//! [`program_rows_with_steps`] (clients) and [`table_with_steps`], and checks it
//! against the page's block (`<!-- check: defences -->` above a markdown table), so
//! the page can claim no defence the code lacks, no failure the first version does
//! not show, and no step that does not turn its row.

use std::time::{Duration, Instant};

/// One row: the case, then what each program did, in a few words.
pub struct Row {
    pub case: &'static str,
    pub first: String,
    pub lesson: String,
}

/// A row still to be found: the case, and for each program the work that finds its
/// cell (it starts what it needs, and gives what the program did in a few words).
pub struct Case<'a> {
    case: &'static str,
    first: Cell<'a>,
    lesson: Cell<'a>,
}

type Cell<'a> = Box<dyn FnOnce() -> String + Send + 'a>;

/// A row to find: what `first` and `lesson` find are its two cells.
pub fn case<'a>(
    case: &'static str,
    first: impl FnOnce() -> String + Send + 'a,
    lesson: impl FnOnce() -> String + Send + 'a,
) -> Case<'a> {
    Case { case, first: Box::new(first), lesson: Box::new(lesson) }
}

/// Finds every cell of `cases` at once, each on a thread of its own, and returns the
/// rows in their order. Most cells wait (for a timeout, a reconnect, a program to
/// stop), so a table takes as long as its slowest cell rather than the sum of all;
/// each cell starts what it needs, so no cell sees another's clients. A cell that
/// names a server's address gives it in the page's words (see
/// [`crate::page::as_on_the_page`]) while that server still runs.
pub fn rows_at_once(cases: Vec<Case<'_>>) -> Vec<Row> {
    std::thread::scope(|scope| {
        let mut found = Vec::new();
        for Case { case, first, lesson } in cases {
            let first = scope.spawn(move || (first(), crate::record::runs()));
            let lesson = scope.spawn(move || (lesson(), crate::record::runs()));
            found.push((case, first, lesson));
        }
        found
            .into_iter()
            .map(|(case, first, lesson)| {
                let cell = |handle: std::thread::ScopedJoinHandle<'_, (String, Vec<String>)>| {
                    let (cell, runs) =
                        handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    // What the cell ran, this test ran: a page's block may show it.
                    crate::record::adopt_runs(runs);
                    cell
                };
                Row { case, first: cell(first), lesson: cell(lesson) }
            })
            .collect()
    })
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

/// Waits until every one of `listeners` is in the room that `talker` speaks to: the
/// talker says `probe` (a chat line in the server's own format) until each listener
/// has heard it. A server may take a client into its room a moment after its
/// handshake ends (a first version does), and a line said before then never
/// reaches it. The lines heard stay behind in the talker's own stream, which the
/// cases skip as they skip notices.
pub fn until_all_hear(
    talker: &mut std::net::TcpStream,
    listeners: &mut [&mut std::net::TcpStream],
    probe: &str,
) {
    let deadline = Instant::now() + crate::TIMEOUT;
    let mut heard = vec![false; listeners.len()];
    while heard.contains(&false) {
        assert!(Instant::now() < deadline, "a client never joined the room");
        crate::ws::send_text(talker, probe);
        for (listener, heard) in listeners.iter_mut().zip(heard.iter_mut()) {
            while !*heard {
                match crate::ws::read_frame_within(listener, Duration::from_millis(200)) {
                    // Answered as a real client answers it (a server's heartbeat).
                    crate::ws::Within::Frame(frame) if frame.opcode == crate::ws::PING => {
                        crate::ws::send(listener, crate::ws::PONG, &frame.payload, true);
                    }
                    crate::ws::Within::Frame(frame) => *heard = frame.text().contains("probe"),
                    crate::ws::Within::Nothing => break,
                    crate::ws::Within::Closed => panic!("a listener was closed"),
                }
            }
        }
    }
}

/// For a flood past a client that stopped reading: waits until `server` says it put
/// a client out of its room (its log line since line `mark`), or until `over` says
/// the flood is over, whichever comes first. A client that was put out is sent a
/// Close, but the server waits only a moment (a second) for the client to make room
/// for it: the stuck client reads again at once, as a phone that wakes up does, or
/// it would see its Close only if the flood happened to end within that second.
pub fn until_put_out_or(server: &mut crate::Server, mark: usize, over: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !over() {
        if server.program.output()[mark..].iter().any(|line| line.contains("put out of the room")) {
            return;
        }
        assert!(Instant::now() < deadline, "the flood took more than 60 s");
        // Wakes as soon as the server prints a line, and looks at `over` every 50 ms.
        server.program.next_line(Duration::from_millis(50));
    }
}

/// A request head that never ends: what the server at `addr` does within 7 s.
pub fn endless_head(addr: &str) -> String {
    use std::io::{ErrorKind, Read, Write};
    let mut stream = crate::http::connect(addr);
    stream.write_all(b"GET / HTTP/1.1\r\n").expect("send");
    let wait = Duration::from_secs(7);
    stream.set_read_timeout(Some(wait)).expect("a read timeout");
    let started = Instant::now();
    let mut byte = [0u8; 1];
    // A signal to this process ends the timed read early (EINTR): read again.
    let read = loop {
        match stream.read(&mut byte) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    match read {
        Ok(0) => format!("drops it after {} s", started.elapsed().as_secs()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            format!("still waiting after {} s", wait.as_secs())
        }
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {
            format!("drops it after {} s", started.elapsed().as_secs())
        }
        other => format!("answers: {other:?}"),
    }
}

/// What a program that ended printed and how, in a few words: its one error line
/// and its exit status, or that it panicked (with the error it unwrapped). A panic's
/// exit status is always Rust's 101, which the pages explain once rather than print
/// in every cell (where it reads like HTTP's 101 Switching Protocols).
pub fn how_it_ended(finished: &crate::Finished) -> String {
    let status = finished.status.code().map_or("killed".to_string(), |c| format!("status {c}"));
    if let Some(panic) = finished.stderr.lines().find(|l| l.contains("panicked at")) {
        let why =
            finished.stderr.lines().skip_while(|l| *l != panic).nth(1).unwrap_or_default().trim();
        let value = why.split_once("value: ").map_or(why, |(_, value)| value);
        return format!("panics: \"{}\"{}", short(&error_words(value)), not_101(&status));
    }
    match finished.stderr.lines().find(|l| l.starts_with("error: ")) {
        Some(line) => format!("one line, \"{}\", {status}", short(line)),
        None => status,
    }
}

/// Nothing for a panic's usual exit status (101), or the status if it was another
/// (a panic inside a panic aborts, for one).
pub fn not_101(status: &str) -> String {
    if status == "status 101" { String::new() } else { format!(", {status}") }
}

/// A long message cut to its first words, for a table cell.
pub fn short(message: &str) -> String {
    // The words before any aside in parentheses, without what would break a table.
    let message = message.split(" (").next().unwrap_or(message).replace(['`', '|'], "");
    let words: Vec<&str> = message.split_whitespace().collect();
    if words.len() <= 7 { words.join(" ") } else { format!("{} ...", words[..7].join(" ")) }
}

/// A client against a server that takes the connection and never answers: how long
/// it waits, and how it ends. `address` makes the client's `--addr` from the port's.
pub fn against_a_silent_server(bin: &std::path::Path, address: impl Fn(&str) -> String) -> String {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = silent.local_addr().expect("an address").to_string();
    let started = Instant::now();
    let mut client = crate::Program::start(bin, &["--addr", &address(&addr)]);
    // The client connects, or ends first (a bad address, say): never wait for ever.
    silent.set_nonblocking(true).expect("a non-blocking listener");
    let _held = loop {
        match silent.accept() {
            Ok((stream, _)) => break stream,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some((status, lines)) = client.wait_exit_within(Duration::from_millis(20)) {
                    panic!("the client ended before it connected: {status:?} {lines:?}");
                }
                assert!(started.elapsed() < crate::TIMEOUT, "the client never connected");
            }
            Err(err) => panic!("accepting the client: {err}"),
        }
    };
    let wait = Duration::from_secs(12);
    match client.wait_exit_within(wait) {
        Some((status, lines)) => {
            let took = started.elapsed().as_secs();
            let code = status.code().map_or("killed".to_string(), |c| format!("status {c}"));
            let lines = lines.iter().filter(|l| l.starts_with("error: ")).count();
            let said = if lines == 1 { "one line" } else { "no error line" };
            format!("gives up after {took} s: {said}, {code}")
        }
        None => {
            client.kill();
            format!("still waiting after {} s", wait.as_secs())
        }
    }
}

/// The words of an error as `unwrap` prints it (its `Debug` form), for a table cell:
/// `Os { code: 111, kind: ConnectionRefused, message: "Connection refused" }` is
/// "Connection refused"; tungstenite's `Http(Response { status: 200, ... })` is "an
/// HTTP 200 answer".
fn error_words(value: &str) -> String {
    if let Some((_, message)) = value.split_once("message: \"") {
        return message.split('"').next().unwrap_or_default().to_string();
    }
    if let Some(rest) = value.strip_prefix("Http(Response { status: ") {
        let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return format!("an HTTP {code} answer, not a 101");
    }
    match value.split('"').nth(1) {
        Some(quoted) if !quoted.is_empty() => quoted.to_string(),
        _ => value.to_string(),
    }
}

/// How long a panic message may take to show in a server's output.
const PANIC_SHOWS: Duration = Duration::from_secs(2);

/// `what`, and that the server's task panicked, if it did since its line `mark`.
pub fn and_panics(server: &mut crate::Server, mark: usize, what: &str) -> String {
    if panicked_since(&mut server.program, mark, PANIC_SHOWS) {
        format!("{what}; its task panics")
    } else {
        what.to_string()
    }
}

/// What a WebSocket client reads next, in words.
pub fn next_frame(stream: &mut std::net::TcpStream) -> String {
    use crate::ws::{self, BINARY, CLOSE, TEXT};
    match ws::read(stream) {
        Some(frame) if frame.opcode == CLOSE => {
            let (code, reason) = frame.close_code();
            format!("closes with {code} \"{reason}\"")
        }
        Some(frame) if [TEXT, BINARY].contains(&frame.opcode) => {
            format!("echoes {} KiB back", frame.payload.len() / 1024)
        }
        Some(frame) => format!("answers a frame of opcode {}", frame.opcode),
        None => "drops the connection, without a Close".to_string(),
    }
}

/// A browser's plain `GET /` to a WebSocket server.
pub fn plain_get(server: &mut crate::Server, path: &str) -> String {
    use std::io::Write;
    let mark = server.program.output().len();
    let mut stream = crate::http::connect(&server.addr);
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    match crate::http::read_response(&mut stream, false) {
        Some(answer) => {
            let upgrade = answer.header("upgrade").unwrap_or("-").to_string();
            format!("`{} {}`, with `Upgrade: {upgrade}`", answer.status, answer.reason)
        }
        None => and_panics(server, mark, "no answer"),
    }
}

/// Ctrl-C to a WebSocket server with a client connected at `path`: what the client
/// is sent.
pub fn ws_ctrl_c(server: &mut crate::Server, path: &str) -> String {
    let (mut stream, _) = crate::ws::open(&server.addr, path);
    server.program.interrupt();
    loop {
        match next_frame(&mut stream) {
            what if what.starts_with("echoes") || what.starts_with("answers") => {}
            what => match what.strip_prefix("closes with ") {
                Some(close) => return format!("the client is sent Close {close}"),
                None => return "the connection drops, without a Close".to_string(),
            },
        }
    }
}

/// A row of a lesson's table once it has steps ([`crate::steps`]): the first
/// version's answer, the step that turns it, and the full lesson's.
pub struct StepRow {
    pub case: &'static str,
    pub first: String,
    pub step: u32,
    pub lesson: String,
}

/// What a case does to a server, given the program the server runs (a case that
/// starts a second copy needs it): the server's answer in a few words.
pub type StepCase = fn(&mut crate::Server, &std::path::Path) -> String;

/// Finds the rows of a table with steps, every cell at once ([`rows_at_once`]): each
/// case on the first version, the full lesson, the step that is said to turn it and
/// the one before (step 1's is the first version). A row holds only if that step
/// changes the answer and gives the full lesson's: else this panics, saying which.
pub fn rows_with_steps(krate: &str, cases: &[(&'static str, u32, StepCase)]) -> Vec<StepRow> {
    let (first, lesson, step) = programs(krate);
    let on = |bin: std::path::PathBuf, run: StepCase| {
        move || crate::page::as_on_the_page(&run(&mut crate::Server::start(&bin), &bin))
    };
    let mut found = Vec::new();
    for &(name, _, run) in cases {
        found.push(case(name, on(first.clone(), run), on(lesson.clone(), run)));
    }
    for &(name, n, run) in cases {
        found.push(case(name, on(step(n - 1), run), on(step(n), run)));
    }
    checked_step_rows(cases.iter().map(|&(name, n, _)| (name, n)).collect(), rows_at_once(found))
}

/// A lesson's programs, built if need be: its first version, the full lesson, and
/// step `n` (0 is the first version).
fn programs(
    krate: &str,
) -> (std::path::PathBuf, std::path::PathBuf, impl Fn(u32) -> std::path::PathBuf) {
    let package = format!("{krate}_first");
    let first = crate::bin_path(&package);
    let lesson = crate::bin_path(krate);
    let from = first.clone();
    let step = move |n: u32| match n {
        0 => from.clone(),
        n => crate::example_path(&package, &format!("{krate}_step{n}")),
    };
    (first, lesson, step)
}

/// The rows of a table with steps from the rows found: the first half first version
/// against full lesson, the second half each step before against its step. Panics
/// unless each step changes its row's answer and gives the full lesson's.
fn checked_step_rows(cases: Vec<(&'static str, u32)>, rows: Vec<Row>) -> Vec<StepRow> {
    let (ends, steps) = rows.split_at(cases.len());
    ends.iter()
        .zip(steps)
        .zip(cases)
        .map(|((ends, steps), (case, step))| {
            let before = if step == 1 {
                "the first version".to_string()
            } else {
                format!("step {}", step - 1)
            };
            // Compared as a page compares them: a port the system picked is PORT.
            let same = |a: &str, b: &str| crate::page::normalise(a) == crate::page::normalise(b);
            assert!(
                !same(&steps.first, &steps.lesson),
                "{case}: step {step} does not change what {before} does: {}",
                steps.lesson
            );
            assert!(
                same(&steps.lesson, &ends.lesson),
                "{case}: step {step} does not do what the full lesson does: {} against {}",
                steps.lesson,
                ends.lesson
            );
            StepRow { case, first: ends.first.clone(), step, lesson: ends.lesson.clone() }
        })
        .collect()
}

/// The table of [`rows_with_steps`] as the page shows it.
pub fn table_with_steps(rows: &[StepRow]) -> Vec<String> {
    let mut lines = vec![
        "| Break it | The first version | Turned at | The full lesson |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    for row in rows {
        lines
            .push(format!("| {} | {} | step {} | {} |", row.case, row.first, row.step, row.lesson));
    }
    lines
}

/// What a case does with a client program, given its path: what it did, in a few
/// words.
pub type ProgramStepCase = fn(&std::path::Path) -> String;

/// [`rows_with_steps`] for clients: each case runs the program it is given (the
/// first version, the full lesson, the step said to turn it and the one before).
pub fn program_rows_with_steps(
    krate: &str,
    cases: &[(&'static str, u32, ProgramStepCase)],
) -> Vec<StepRow> {
    let (first, lesson, step) = programs(krate);
    // In the page's words: an address a case made stands for the lesson's.
    let on = |bin: std::path::PathBuf, run: ProgramStepCase| {
        move || crate::page::as_on_the_page(&run(&bin))
    };
    let mut found = Vec::new();
    for &(name, _, run) in cases {
        found.push(case(name, on(first.clone(), run), on(lesson.clone(), run)));
    }
    for &(name, n, run) in cases {
        found.push(case(name, on(step(n - 1), run), on(step(n), run)));
    }
    checked_step_rows(cases.iter().map(|&(name, n, _)| (name, n)).collect(), rows_at_once(found))
}
