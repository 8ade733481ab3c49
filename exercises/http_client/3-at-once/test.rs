//! Lesson 02, exercise 3: requests 1 and 2 go out at the same time, on two
//! connections. The stand-in server here answers neither until both have arrived:
//! a client that waits for the first answer before sending the second never gets it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use testkit::{TIMEOUT, run};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nHello\n";

fn read_head(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(TIMEOUT)).expect("a timeout");
    let (mut head, mut byte) = (Vec::new(), [0u8; 1]);
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
}

#[test]
fn two_requests_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("an address").to_string();
    let together = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&together);
    thread::spawn(move || {
        let (mut first, _) = listener.accept().expect("a first connection");
        read_head(&mut first);
        // Wait up to 3 s for the second request, without answering the first.
        listener.set_nonblocking(true).expect("non-blocking");
        let deadline = Instant::now() + Duration::from_secs(3);
        let second = loop {
            match listener.accept() {
                Ok((stream, _)) => break Some(stream),
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Err(_) => break None,
            }
        };
        let Some(mut second) = second else { return }; // one at a time: no answer
        second.set_nonblocking(false).expect("blocking");
        read_head(&mut second);
        seen.store(true, Ordering::SeqCst);
        let _ = first.write_all(ANSWER);
        let _ = second.write_all(ANSWER);
        // Then any other request (the `Connection: close` one) is answered at once.
        listener.set_nonblocking(false).expect("blocking");
        for stream in listener.incoming().take(1) {
            let mut stream = stream.expect("a connection");
            read_head(&mut stream);
            let _ = stream.write_all(ANSWER);
        }
    });
    let client = std::path::Path::new(env!("CARGO_BIN_EXE_http_client"));
    let finished = run(client, &["--addr", &addr], &[], "", Duration::from_secs(30));
    assert!(together.load(Ordering::SeqCst), "the two requests did not arrive together");
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(finished.stdout.matches("body: Hello\n").count(), 3, "{}", finished.stdout);
}
