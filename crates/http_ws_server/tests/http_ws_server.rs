//! Lesson 07, black-box: the real binary on port 0; HTTP and WebSocket by hand.

// One test program for the whole lesson: tests/defences.rs is its module, so that
// its slow cases (a timeout waited out, a server restarted) run beside the rest
// instead of after it. `cargo test -p http_ws_server --test defences` still runs it alone.
mod defences;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use testkit::http::{connect, get, read_response, read_to_close, request};
use testkit::ws::{self, CLOSE, PING, PONG, TEXT};
use testkit::{Server, TIMEOUT};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_http_ws_server"))
}

fn server() -> Server {
    Server::start(bin())
}

fn post(addr: &str, body: &str) -> testkit::http::Response {
    testkit::http::post(addr, "/api/messages", body)
}

/// Sends a raw handshake with `headers` and returns the response.
fn handshake(addr: &str, headers: &str) -> testkit::http::Response {
    let mut stream = connect(addr);
    stream
        .write_all(format!("GET /ws HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes())
        .expect("send");
    read_response(&mut stream, true).expect("a response")
}

/// A WebSocket client that has joined: it read its welcome and its own arrival.
fn join(server: &Server, name: &str, online: usize) -> TcpStream {
    let (mut stream, _) = ws::open(&server.addr, "/ws");
    let welcome = next(&mut stream);
    assert!(
        welcome.starts_with(&format!("{{\"type\":\"welcome\",\"name\":\"{name}\"")),
        "{welcome}"
    );
    assert_eq!(
        next(&mut stream),
        format!("{{\"type\":\"joined\",\"name\":\"{name}\",\"online\":{online}}}")
    );
    stream
}

fn next(stream: &mut TcpStream) -> String {
    ws::read_data(stream).text().to_string()
}

#[test]
fn the_page_is_served_at_the_root() {
    let server = server();
    let page = get(&server.addr, "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(page.body.contains("<title>The lessons' chat</title>"));
    assert!(page.body.contains("textContent"), "the page shows messages as text");
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "the page fetches nothing from elsewhere"
    );
}

#[test]
fn the_api_keeps_the_last_100_messages_oldest_first() {
    let server = server();
    assert_eq!(get(&server.addr, "/api/messages").body, "[]");
    for n in 1..=105 {
        let response =
            post(&server.addr, &format!(r#"{{"name": "poster", "text": "message {n}"}}"#));
        assert_eq!(response.status, 201, "{}", response.body);
        assert_eq!(response.body, format!(r#"{{"id":{n},"from":"poster","text":"message {n}"}}"#));
    }
    let history = get(&server.addr, "/api/messages");
    assert_eq!(history.header("content-type"), Some("application/json"));
    assert!(
        history.body.starts_with(r#"[{"id":6,"from":"poster","text":"message 6"},"#),
        "{:.80}",
        history.body
    );
    assert!(history.body.ends_with(r#"{"id":105,"from":"poster","text":"message 105"}]"#));
    assert_eq!(history.body.matches("\"id\"").count(), 100);
}

#[test]
fn a_post_reaches_websocket_clients_live_and_online_lists_them() {
    let server = server();
    let mut a = join(&server, "guest-1", 1);
    let mut b = join(&server, "guest-2", 2);
    assert_eq!(next(&mut a), r#"{"type":"joined","name":"guest-2","online":2}"#);
    assert_eq!(get(&server.addr, "/api/online").body, r#"["guest-1","guest-2"]"#);

    post(&server.addr, r#"{"name": "curl", "text": "<b>hello</b> from HTTP"}"#);
    let chat = r#"{"type":"chat","id":1,"from":"curl","text":"<b>hello</b> from HTTP"}"#;
    assert_eq!(next(&mut a), chat);
    assert_eq!(next(&mut b), chat);

    ws::send_text(&mut b, r#"{"type": "chat", "text": "and from WebSocket"}"#);
    let chat = r#"{"type":"chat","id":2,"from":"guest-2","text":"and from WebSocket"}"#;
    assert_eq!(next(&mut a), chat);
    assert_eq!(next(&mut b), chat);
    assert!(get(&server.addr, "/api/messages").body.contains("and from WebSocket"));
}

#[test]
fn bad_posts_get_a_400_with_a_json_error() {
    let server = server();
    for (body, error) in [
        ("not json", "the body is not a message: expected ident at line 1 column 2"),
        (r#"{"name": "x"}"#, "the body is not a message: missing field `text` at line 1 column 13"),
        (r#"{"name": "two words", "text": "hi"}"#, "a name is 1 to 20 letters, digits, - or _"),
        (r#"{"name": "x", "text": "  "}"#, "the text is empty"),
    ] {
        let response = post(&server.addr, body);
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.body, format!(r#"{{"error":"{error}"}}"#), "{body}");
    }
    let big = format!(r#"{{"name": "x", "text": "{}"}}"#, "a".repeat(20_000));
    let response = post(&server.addr, &big);
    assert_eq!(
        (response.status, response.body.as_str()),
        (413, r#"{"error":"the body is larger than 16 KiB"}"#)
    );
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(get(&server.addr, "/api/messages").body, "[]", "nothing bad got into the history");
}

#[test]
fn a_post_is_json_from_this_site_and_its_201_says_where_it_is() {
    use testkit::http::post_with;
    let server = server();
    let body = r#"{"name": "curl", "text": "hi"}"#;
    let said = post(&server.addr, body);
    assert_eq!(said.status, 201, "{}", said.body);
    assert_eq!(said.header("location"), Some("/api/messages/1"));
    let again = get(&server.addr, "/api/messages/1");
    assert_eq!((again.status, again.body.as_str()), (200, said.body.as_str()));
    let missing = get(&server.addr, "/api/messages/2");
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(get(&server.addr, "/api/messages/two").status, 404);
    let wrong = request(&server.addr, "DELETE", "/api/messages/1");
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("GET, HEAD")));

    // A form, or text/plain: what another site's page may send without asking.
    for content_type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"] {
        let header = format!("Content-Type: {content_type}\r\n");
        let refused = post_with(&server.addr, "/api/messages", &header, body);
        assert_eq!(refused.status, 415, "{content_type}: {}", refused.body);
        assert!(refused.body.contains("Content-Type: application/json"), "{}", refused.body);
    }
    assert_eq!(post_with(&server.addr, "/api/messages", "", body).status, 415, "no type");
    let json = "Content-Type: Application/JSON; charset=utf-8\r\n";
    assert_eq!(post_with(&server.addr, "/api/messages", json, body).status, 201);

    // Another site's page, even with a form's type, is refused for its origin; this
    // server's own page is let in.
    let forged = "Origin: http://evil.example\r\nContent-Type: text/plain\r\n";
    let refused = post_with(&server.addr, "/api/messages", forged, body);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("--allow-origin http://evil.example"), "{}", refused.body);
    let own = format!("Origin: http://{}\r\nContent-Type: application/json\r\n", server.addr);
    assert_eq!(post_with(&server.addr, "/api/messages", &own, body).status, 201);
    let history = get(&server.addr, "/api/messages").body;
    assert_eq!(
        history.matches(r#""from":"curl""#).count(),
        3,
        "only the accepted posts: {history}"
    );
}

#[test]
fn unknown_paths_and_wrong_methods() {
    let server = server();
    let missing = get(&server.addr, "/nope");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("POST /api/messages"), "{}", missing.body);
    for (method, path, allow) in [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/api/messages", "GET, HEAD, POST"),
        ("POST", "/api/online", "GET, HEAD"),
        ("POST", "/ws", "GET"),
    ] {
        let response = request(&server.addr, method, path);
        assert_eq!(
            (response.status, response.header("allow")),
            (405, Some(allow)),
            "{method} {path}"
        );
    }
}

#[test]
fn every_handshake_check() {
    let server = server();
    let key = format!("Sec-WebSocket-Key: {}\r\n", ws::KEY);
    let good =
        format!("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}");
    let accepted = handshake(&server.addr, &good);
    assert_eq!(accepted.status, 101);
    assert_eq!(accepted.header("sec-websocket-accept"), Some(ws::ACCEPT));

    for (what, headers, status, problem) in [
        ("no upgrade", format!("Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}"), 426, "Upgrade: websocket"),
        ("no key", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n".into(), 400, "missing"),
        (
            "a malformed key",
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-base64-at-all-sorry!\r\n".into(),
            400,
            "16 bytes in base64",
        ),
        (
            "a key of 15 bytes",
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n".into(),
            400,
            "16 bytes in base64",
        ),
        ("version 12", format!("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 12\r\n{key}"), 426, "must be 13"),
        ("no Upgrade token", format!("Upgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Version: 13\r\n{key}"), 400, "does not include"),
    ] {
        let mut stream = connect(&server.addr);
        stream.write_all(format!("GET /ws HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes()).expect("send");
        let response = read_response(&mut stream, false).expect("a response");
        assert_eq!(response.status, status, "{what}: {}", response.body);
        assert!(response.body.contains(problem), "{what}: {}", response.body);
        if status == 426 {
            // RFC 9110: a 426 says which protocol to upgrade to.
            assert_eq!(response.header("upgrade"), Some("websocket"), "{what}");
            assert_eq!(response.header("sec-websocket-version"), Some("13"), "{what}");
        }
    }

    // Firefox's `Connection: keep-alive, Upgrade`, and header names in lower case.
    let firefox = format!(
        "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}"
    );
    assert_eq!(handshake(&server.addr, &firefox).status, 101);
    let lower = format!(
        "upgrade: WebSocket\r\nconnection: upgrade\r\nsec-websocket-version: 13\r\n{}",
        key.to_lowercase().replace(&ws::KEY.to_lowercase(), ws::KEY)
    );
    assert_eq!(handshake(&server.addr, &lower).status, 101);
}

#[test]
fn bad_json_gets_an_error_message_and_the_connection_stays() {
    let server = server();
    let mut a = join(&server, "guest-1", 1);
    for (sent, error) in [
        ("hello", "not a message this server understands: expected value at line 1 column 1"),
        (
            r#"{"type": "dance"}"#,
            "not a message this server understands: unknown variant `dance`, expected `chat` or `rename` at line 1 column 16",
        ),
        (r#"{"type": "chat"}"#, "not a message this server understands: missing field `text`"),
        (
            r#"{"type": "rename", "name": "no spaces please"}"#,
            "a name is 1 to 20 letters, digits, - or _",
        ),
    ] {
        ws::send_text(&mut a, sent);
        assert_eq!(next(&mut a), format!(r#"{{"type":"error","message":"{error}"}}"#), "{sent}");
    }
    ws::send_text(&mut a, r#"{"type": "rename", "name": "Ada"}"#);
    assert_eq!(next(&mut a), r#"{"type":"renamed","old":"guest-1","new":"Ada"}"#);
    ws::send_text(&mut a, r#"{"type": "chat", "text": "still here"}"#);
    assert_eq!(next(&mut a), r#"{"type":"chat","id":1,"from":"Ada","text":"still here"}"#);
}

#[test]
fn the_heartbeat_drops_a_peer_that_never_answers_pings() {
    // A 1 s heartbeat: the lively client's Pong must come within two intervals of
    // the last frame the server heard from it. With 0.3 s, a machine whose two cores
    // were busy (a build beside the tests) once delayed the lively client's Pong
    // past 0.6 s, and the server rightly dropped it too; 2 s is far beyond any such
    // delay, and the silent client is still dropped within a few seconds.
    let server = Server::start_with(bin(), &["--addr", "127.0.0.1:0", "--heartbeat", "1"], &[]);
    let mut silent = join(&server, "guest-1", 1);
    let mut lively = join(&server, "guest-2", 2);
    // `lively` answers every Ping with a Pong, on a thread of its own, until it has
    // seen `silent` leave and answered a few more Pings.
    let lively = std::thread::spawn(move || {
        let (mut answered, mut saw_leave) = (0, false);
        while !(saw_leave && answered >= 3) {
            let frame = ws::read_frame(&mut lively).expect("a frame");
            match frame.opcode {
                PING => {
                    ws::send(&mut lively, PONG, &frame.payload, true);
                    answered += 1;
                }
                TEXT => {
                    assert_eq!(frame.text(), r#"{"type":"left","name":"guest-1","online":1}"#);
                    saw_leave = true;
                }
                other => panic!("the lively client got opcode {other}"),
            }
        }
        lively
    });
    // `silent` reads, but never answers.
    let started = Instant::now();
    let mut pings = 0;
    let closed = loop {
        let frame = ws::read_frame(&mut silent).expect("a frame or a Close");
        match frame.opcode {
            PING => pings += 1,
            CLOSE => break frame.close_code(),
            _ => {}
        }
    };
    assert_eq!(closed, (1008, "no answer to pings".to_string()));
    // Two intervals of silence: one Ping unanswered, then the Close.
    assert!(pings >= 1, "{pings} pings before giving up");
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(8), "{took:?}");
    let _lively = lively.join().expect("the lively client stayed");
    assert_eq!(get(&server.addr, "/api/online").body, r#"["guest-2"]"#);
}

#[test]
fn lesson_01_and_05_guarantees_still_hold() {
    let server = server();
    // A 64 KiB header: 431, and the server carries on.
    let mut stream = connect(&server.addr);
    let _ = stream.write_all(
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(65536)).as_bytes(),
    );
    let answer = String::from_utf8_lossy(&read_to_close(&mut stream, TIMEOUT)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.60}");

    // An oversized WebSocket message: 1009 for that client only.
    let mut a = join(&server, "guest-1", 1);
    let mut big = join(&server, "guest-2", 2);
    assert_eq!(next(&mut a), r#"{"type":"joined","name":"guest-2","online":2}"#);
    let _ = big.write_all(&ws::encode(TEXT, &vec![b'a'; 64 * 1024 + 1], true));
    assert_eq!(ws::read_close(&mut big).0, 1009);
    assert_eq!(next(&mut a), r#"{"type":"left","name":"guest-2","online":1}"#);

    // Bad frames get their close codes.
    for (bytes, code) in
        [(ws::encode(TEXT, &[0xff], true), 1007), (ws::encode(TEXT, b"x", false), 1002)]
    {
        let (mut client, _) = ws::open(&server.addr, "/ws");
        client.write_all(&bytes).expect("send");
        assert_eq!(ws::read_close(&mut client).0, code);
    }

    // Ninety clients vanish (fewer than 100 online, so every join and leave is
    // announced): the count comes back to one.
    let many: Vec<_> = (0..90).map(|_| ws::open(&server.addr, "/ws").0).collect();
    drop(many);
    // Each of them joins (once its task has the connection) and leaves (once it
    // reads the end of the stream): 90 of each, in whatever order, after the two
    // clients closed for bad frames above, whose notices `a` has not read yet.
    let (mut joined, mut left) = (0, 0);
    while joined < 92 || left < 92 {
        let line = next(&mut a);
        if line.contains(r#""type":"joined""#) {
            joined += 1;
        } else if line.contains(r#""type":"left""#) {
            left += 1;
        }
    }
    assert_eq!(get(&server.addr, "/api/online").body, r#"["guest-1"]"#);

    // A client that trickles its headers is cut off after 5 s.
    let mut slow = connect(&server.addr);
    slow.write_all(b"GET / HTTP/1.1\r\n").expect("send");
    let started = Instant::now();
    read_to_close(&mut slow, Duration::from_secs(15));
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[test]
fn a_big_room_does_not_announce_every_join() {
    let mut server = server();
    let mut a = join(&server, "guest-1", 1);
    // 120 more: everyone hears of the joins up to 100 online, and of none after.
    let many: Vec<_> = (0..120).map(|_| ws::open(&server.addr, "/ws").0).collect();
    for n in 2..=100 {
        let line = next(&mut a);
        assert!(line.ends_with(&format!(r#","online":{n}}}"#)), "{line}");
    }
    server.program.wait_for("joined as guest-121");
    ws::send_text(&mut a, r#"{"type": "chat", "text": "hello, big room"}"#);
    let chat = r#"{"type":"chat","id":1,"from":"guest-1","text":"hello, big room"}"#;
    assert_eq!(next(&mut a), chat, "no join after the 100th");
    assert_eq!(get(&server.addr, "/api/online").body.matches("guest-").count(), 121);
    drop(many);
}

/// Samples a process's memory until the returned flag is cleared; the thread then
/// returns the peak, in KiB.
fn sample_peak_rss(
    pid: u32,
) -> (std::sync::Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<u64>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let running = std::sync::Arc::new(AtomicBool::new(true));
    let flag = std::sync::Arc::clone(&running);
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while flag.load(Ordering::Relaxed) {
            peak = peak.max(testkit::rss_kib(pid));
            // A sampling interval, not a wait for anything.
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    (running, sampler)
}

#[test]
fn a_slow_reader_gets_every_line_and_a_non_reader_is_put_out() {
    let mut server = server();
    let mut talker = join(&server, "guest-1", 1);
    let mut slow = join(&server, "guest-2", 2);
    assert_eq!(next(&mut talker), r#"{"type":"joined","name":"guest-2","online":2}"#);
    let _stuck = join(&server, "guest-3", 3); // never reads again
    next(&mut talker);
    next(&mut slow);

    // The server's memory, sampled while the flood lasts: it must stay bounded,
    // whatever the stuck client does not read.
    let before = testkit::rss_kib(server.program.pid());
    let (flooding, sampling) = sample_peak_rss(server.program.pid());

    // 8,000 chat lines of 1,900 characters: about 15 MB to each client, more than
    // the stuck client's socket buffers and queue hold, so the room puts it out.
    let count = 8000;
    let filler = "y".repeat(1900);
    let (talker, mut reader) = ws::split(talker);
    let echoes = std::thread::spawn(move || {
        let mut chats = 0;
        while chats < count {
            chats += usize::from(reader.read_data().text().contains(r#""from":"guest-1""#));
        }
        chats
    });
    // The slow client reads all the time, but slower than the talker sends: at most
    // two lines a millisecond.
    let slow = std::thread::spawn(move || {
        let mut ids = Vec::new();
        while ids.len() < count {
            let line = next(&mut slow);
            if let Some(rest) = line.strip_prefix(r#"{"type":"chat","id":"#) {
                ids.push(
                    rest.split(',').next().expect("an id").parse::<usize>().expect("a number"),
                );
            }
            if ids.len() % 2 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        ids
    });
    for _ in 0..count {
        talker.send_text(&format!(r#"{{"type":"chat","text":"{filler}"}}"#));
    }
    assert_eq!(echoes.join().expect("the talker's reader"), count);
    let ids = slow.join().expect("the slow reader");
    assert!(ids == (1..=count).collect::<Vec<_>>(), "the slow reader lost or reordered lines");
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let grew = sampling.join().expect("the sampler").saturating_sub(before);
    // At most 256 queued lines and a batch of 256 in the write buffer, for each of the
    // three clients, of 2 KB each: 3 MB, and room for the allocator. Keeping the 15 MB
    // the stuck client never read would break this.
    println!("the server grew by {grew} KiB at most during the flood");
    assert!(grew < 8 * 1024, "the server grew by {grew} KiB during the flood");
    server.program.wait_for("conn #3 put out of the room");
    server.program.wait_for(r#"conn #3 closed by us: 1008 "too slow: you stopped reading""#);
}

#[test]
fn a_post_whose_body_does_not_arrive_gets_408_and_the_connection_closes() {
    let server = server();
    // The head promises 40 bytes of body; one comes, then nothing.
    let mut stalled = connect(&server.addr);
    stalled
        .write_all(b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{")
        .expect("send");
    // Another, trickling its body a byte a second, gets the same answer in time.
    let mut trickle = connect(&server.addr);
    trickle
        .write_all(b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n")
        .expect("send");
    let started = Instant::now();
    let trickling = std::thread::spawn(move || {
        // A byte a second, reading between bytes, until the server hangs up.
        trickle.set_read_timeout(Some(Duration::from_secs(1))).expect("a read timeout");
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while started.elapsed() < Duration::from_secs(15) {
            let _ = trickle.write_all(b" ");
            match std::io::Read::read(&mut trickle, &mut chunk) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    });
    let answer =
        String::from_utf8_lossy(&read_to_close(&mut stalled, Duration::from_secs(15))).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"error":"the body did not arrive within 5 s"}"#), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let answer = trickling.join().expect("the trickler");
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    // Everyone else is served meanwhile.
    assert_eq!(get(&server.addr, "/api/messages").status, 200);
}

#[test]
fn ctrl_c_drains_http_and_says_going_away_to_websockets() {
    let mut server = server();
    let mut a = join(&server, "guest-1", 1);
    // A connection that has sent nothing yet (a browser opens such spares): Ctrl-C
    // does not wait for it.
    let silent = connect(&server.addr);
    server.program.interrupt();
    assert_eq!(ws::read_close(&mut a), (1001, "server shutting down".to_string()));
    ws::send(&mut a, CLOSE, &ws::close_payload(1001, ""), true);
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success(), "{status:?}");
    assert_eq!(output.last().map(String::as_str), Some(" INFO All connections closed, bye"));
    drop(silent);
}

#[test]
fn page_07_shows_what_the_server_prints() {
    let page = "07-http-ws-server.md";
    let mut server = server();
    for (id, log) in [
        ("curl-post", "POST /api/messages -> 201"),
        ("curl-get", "GET /api/messages -> 200"),
        ("curl-bad", "POST /api/messages -> 400"),
        ("curl-ws", "GET /ws -> 426"),
    ] {
        let block = testkit::page::block(page, id);
        let lines = testkit::tools::curl(&block, common::HTTP_WS_ADDR, &server.addr);
        testkit::page::assert_matches(&block, &lines);
        server.program.wait_for(log);
    }
    server.program.interrupt();
    let (status, output) = server.program.wait_exit(TIMEOUT);
    assert!(status.success());
    testkit::page::assert_matches(&testkit::page::block(page, "server"), &output);
}

#[test]
fn control_frames_are_never_forwarded_and_idle_connections_are_cheap() {
    let server = server();
    let pid = server.program.pid();
    let mut a = join(&server, "guest-1", 1);
    let mut b = join(&server, "guest-2", 2);
    assert_eq!(next(&mut a), r#"{"type":"joined","name":"guest-2","online":2}"#);
    ws::send(&mut b, PING, b"ping", true);
    ws::send(&mut b, CLOSE, &ws::close_payload(1000, "bye"), true);
    // What `a` sees next is b leaving: no ping, no close, nothing in between.
    assert_eq!(next(&mut a), r#"{"type":"left","name":"guest-2","online":1}"#);

    let before = testkit::rss_kib(pid);
    let idle: Vec<_> = (0..500).map(|_| ws::open(&server.addr, "/ws").0).collect();
    let after = testkit::rss_kib(pid);
    let per_connection = after.saturating_sub(before) / 500;
    println!("RSS {before} KiB -> {after} KiB with 500 idle WebSockets: {per_connection} KiB each");
    assert!(per_connection < 40, "{per_connection} KiB per idle connection");
    drop(idle);
}

#[test]
fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let server = server();
    let pid = server.program.pid();
    let mut talker = join(&server, "guest-1", 1);
    let _stuck = join(&server, "guest-2", 2); // never reads again
    let mut listener = join(&server, "guest-3", 3);
    for online in [2, 3] {
        assert!(next(&mut talker).ends_with(&format!(r#""online":{online}}}"#)));
    }
    let before = testkit::rss_kib(pid);
    let count = 5_000;
    let (talker, mut reader) = ws::split(talker);
    let echoes = std::thread::spawn(move || (0..count).map(|_| reader.read_data()).count());
    let filler = "x".repeat(1000);
    let mut burst = Vec::new();
    for n in 0..count {
        burst.extend(ws::encode(
            TEXT,
            format!(r#"{{"type":"chat","text":"{n:05} {filler}"}}"#).as_bytes(),
            true,
        ));
    }
    let started = Instant::now();
    talker.write_all(&burst);
    for n in 0..count {
        let line = next(&mut listener);
        let expected = format!(
            r#"{{"type":"chat","id":{},"from":"guest-1","text":"{n:05} {filler}"}}"#,
            n + 1
        );
        assert_eq!(line, expected, "message {n}");
    }
    println!("the listener got all {count} messages in {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(echoes.join().expect("the talker's reader"), count);
    let after = testkit::rss_kib(pid);
    println!("server RSS {before} KiB -> {after} KiB");
    assert!(after < before + 32 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn a_port_in_use_gets_one_friendly_line() {
    let server = server();
    let line = testkit::one_error_line(bin(), &["--addr", &server.addr]);
    assert!(line.starts_with(&format!("error: {} is already in use", server.addr)), "{line}");
}

#[test]
fn addresses_are_read_one_way_and_mistakes_are_usage_errors() {
    let bin = Path::new(env!("CARGO_BIN_EXE_http_ws_server"));
    testkit::assert_server_reads_addresses(bin, "http");
    let line = testkit::usage_error(bin, &["--heartbeat=-1"]);
    assert!(line.contains("a number of seconds above 0"), "{line}");
}

#[test]
fn page_07_commands_for_other_tools_work_as_shown() {
    use testkit::tools::{self, CURL, SCRIPT, WEBSOCAT};
    let page = "07-http-ws-server.md";
    let default = common::HTTP_WS_ADDR;
    // A 1 s heartbeat: quick to drop the frozen websocat below, and far beyond any
    // delay a busy machine adds to the live one's Pongs (see the heartbeat test).
    let mut server = Server::start_with(bin(), &["--addr", "127.0.0.1:0", "--heartbeat", "1"], &[]);
    let here = std::env::temp_dir();
    if tools::available("page 07's websocat commands", &[&WEBSOCAT, &SCRIPT]) {
        tools::check_block(page, "websocat", default, &server.addr, false);
        server.program.wait_for("conn #1 closed by the client");

        // A client that stops answering: websocat --no-close, frozen as Ctrl-Z does.
        let frozen = tools::inline_command(page, "websocat --no-close ws://127.0.0.1:5003/ws");
        // Its input at an end, --no-close keeps it connected; it runs in our own
        // process group, so that SIGSTOP reaches it as Ctrl-Z would.
        let mut websocat = tools::shell(&tools::at(frozen, default, &server.addr), &here);
        server.program.wait_for("joined as guest-2");
        websocat.pause();
        server.program.wait_for("did not answer pings");
        websocat.resume();
        websocat.kill();
    }
    if tools::available("page 07's curl commands", &[&CURL]) {
        for id in [
            "curl-huge",
            "curl-form",
            "curl-post-origin",
            "curl-slow",
            "curl-firefox",
            "curl-origin",
        ] {
            tools::check_block(page, id, default, &server.addr, true);
        }
    }
}

#[test]
fn interop_a_python_client_against_lesson_07() {
    use testkit::tools::{self, PY_WEBSOCKETS};
    if !tools::available("the interop page's Python client", &[&PY_WEBSOCKETS]) {
        return;
    }
    let server = server();
    tools::check_block("interop.md", "python-client-07", common::HTTP_WS_ADDR, &server.addr, false);
}

#[test]
fn the_handshake_checks_version_host_and_origin() {
    let key = format!("Sec-WebSocket-Key: {}\r\n", ws::KEY);
    let upgrade =
        format!("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n{key}");
    let answer = |addr: &str, request_line: &str, headers: &str| {
        let mut stream = connect(addr);
        stream.write_all(format!("{request_line}\r\n{headers}\r\n").as_bytes()).expect("send");
        read_response(&mut stream, false).expect("a response")
    };
    let server = server();
    let host = format!("Host: {}\r\n", server.addr);

    // HTTP/1.0 knows no upgrades; RFC 6455 asks for HTTP/1.1 at least.
    let old = answer(&server.addr, "GET /ws HTTP/1.0", &format!("{host}{upgrade}"));
    assert_eq!(old.status, 400, "{}", old.body);
    assert!(old.body.contains("needs HTTP/1.1"), "{}", old.body);
    // No Host header.
    let hostless = answer(&server.addr, "GET /ws HTTP/1.1", &upgrade);
    assert_eq!(hostless.status, 400, "{}", hostless.body);
    assert!(hostless.body.contains("no `Host` header"), "{}", hostless.body);

    // Origin: this server's own page may; no Origin (not a browser) may; another
    // site's page may not, unless --allow-origin names it.
    let own = format!("{host}Origin: http://{}\r\n{upgrade}", server.addr);
    assert_eq!(answer(&server.addr, "GET /ws HTTP/1.1", &own).status, 101);
    assert_eq!(answer(&server.addr, "GET /ws HTTP/1.1", &format!("{host}{upgrade}")).status, 101);
    let evil = format!("{host}Origin: http://evil.example\r\n{upgrade}");
    let refused = answer(&server.addr, "GET /ws HTTP/1.1", &evil);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("--allow-origin http://evil.example"), "{}", refused.body);

    let open = Server::start_with(
        bin(),
        &["--addr", "127.0.0.1:0", "--allow-origin", "http://evil.example"],
        &[],
    );
    let evil = format!("Host: {}\r\nOrigin: http://evil.example\r\n{upgrade}", open.addr);
    assert_eq!(answer(&open.addr, "GET /ws HTTP/1.1", &evil).status, 101);
}

/// Runs the command of the block `id` of page 07 in `dir` (where the TLS server wrote
/// its certificate), pointed at `actual`, and checks that it prints what it shows.
fn check_block_in(dir: &Path, id: &str, actual: &str, stdout_only: bool) {
    let (page, default) = ("07-http-ws-server.md", common::HTTP_WS_ADDR);
    testkit::tools::check_block_in(page, id, default, actual, stdout_only, dir);
}

#[test]
fn page_07_tls_serves_https_and_wss_with_its_own_certificate() {
    use testkit::tools::{self, CURL, PY_WEBSOCKETS};
    let testkit::TlsServer { mut server, folder: dir, cert } = testkit::tls_server("07-page");
    assert!(cert.exists(), "the certificate is written");
    if tools::available("page 07's curl commands over TLS", &[&CURL]) {
        check_block_in(&dir, "tls-curl", &server.addr, true);
        check_block_in(&dir, "tls-untrusted", &server.addr, false);
        check_block_in(&dir, "tls-plain", &server.addr, true);
        server.program.wait_for("conn #3 spoke plain HTTP");
        server.program.interrupt();
        let (status, output) = server.program.wait_exit(TIMEOUT);
        assert!(status.success(), "{status:?}");
        testkit::page::assert_matches(
            &testkit::page::block("07-http-ws-server.md", "tls-server"),
            &output,
        );
    }
    if tools::available("page 07's Python client over wss://", &[&PY_WEBSOCKETS]) {
        let server = Server::start_in(bin(), &["--tls", "--addr", "127.0.0.1:0"], &dir);
        check_block_in(&dir, "tls-python", &server.addr, true);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--tls` makes its certificate once and keeps it, with its key, in target/tls/:
/// the next start serves the same certificate, so a client (or a browser's
/// exception) that trusts the file goes on trusting the server after a restart.
/// Without the key file, a new pair is made.
#[test]
fn tls_keeps_its_certificate_between_runs() {
    let testkit::TlsServer { server, folder: dir, cert } = testkit::tls_server("07-kept");
    let first = std::fs::read(&cert).expect("the certificate");
    let key = dir.join("target/tls/http_ws_server.key.pem");
    assert!(key.exists(), "the key is kept beside it");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("the key").permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner may read the key: {mode:o}");
    }
    drop(server);
    let again = Server::start_in(bin(), &["--tls", "--addr", "127.0.0.1:0"], &dir);
    assert_eq!(std::fs::read(&cert).expect("the certificate"), first, "the same certificate");
    drop(again);
    std::fs::remove_file(&key).expect("remove the key");
    let _new = Server::start_in(bin(), &["--tls", "--addr", "127.0.0.1:0"], &dir);
    assert_ne!(std::fs::read(&cert).expect("the certificate"), first, "a new pair");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_mistakes_get_one_line_and_the_server_carries_on() {
    let testkit::TlsServer { server: mut tls, folder: dir, .. } =
        testkit::tls_server("07-mistakes");
    // Plain HTTP to the TLS port: a plain 400 that says so.
    let mut plain = connect(&tls.addr);
    plain.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let answer = String::from_utf8_lossy(&read_to_close(&mut plain, TIMEOUT)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(
        answer.ends_with("This port speaks TLS: use https:// or wss://, not http:// or ws://\n")
    );
    // Half a TLS handshake: cut off after 5 s, like a slow HTTP head.
    let mut half = connect(&tls.addr);
    half.write_all(&[0x16, 0x03, 0x01]).expect("send");
    let started = Instant::now();
    read_to_close(&mut half, Duration::from_secs(15));
    assert!(started.elapsed() >= Duration::from_secs(4), "{:?}", started.elapsed());
    tls.program.wait_for("did not finish its TLS handshake within 5 s: dropped");
    drop(tls);

    // A TLS handshake to the plain server: one line in its log, and it carries on.
    let mut server = server();
    let mut hello = connect(&server.addr);
    hello.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]).expect("send");
    read_to_close(&mut hello, TIMEOUT);
    server.program.wait_for("sent a TLS handshake to a plain port: dropped");
    assert_eq!(get(&server.addr, "/api/online").status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}
