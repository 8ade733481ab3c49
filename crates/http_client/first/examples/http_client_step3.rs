//! Lesson 02, step 3 of 4: a new connection when the server closes one.
//! A server that closes the connection after each answer (an HTTP/1.0 one, or
//! Flask's) gets each request on a new connection, instead of a panic.
//!
//!     cargo run -p http_client_first --example http_client_step3
//!     python3 -m http.server 5000 --bind 127.0.0.1      (in another terminal first)
//!
//! Page 02 shows this step as a diff against the one before (`scripts/diff-lessons 2
//! --steps`).

use std::process::ExitCode;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Version};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[tokio::main]
async fn main() -> ExitCode {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5000, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5000") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5000".to_string());
    // Connection 1: two requests, as requests' `Session` does; connection 2: one
    // request that asks the server to close the connection after answering.
    let mut number = 0;
    for (requests, close) in [(2, false), (1, true)] {
        let mut sender = None;
        for _ in 0..requests {
            // No connection yet, or the server closed the last one: open another.
            if sender.is_none() {
                number += 1;
                sender = connect(&addr, number).await;
            }
            let Some(open) = sender.as_mut() else {
                return ExitCode::FAILURE;
            };
            let mut request = Request::get("/").header("host", &addr);
            if close {
                request = request.header("connection", "close");
            }
            let request = request.body(Empty::<Bytes>::new()).unwrap();
            // Wait until the connection can take a request: hyper may still be
            // finishing the last one, or the server may have closed it.
            open.ready().await.unwrap();
            let response = open.send_request(request).await.unwrap();
            let status = response.status();
            // An HTTP/1.0 answer, or `connection: close`: the server closes this
            // connection after answering, so the next request needs a new one.
            let closes = response.version() == Version::HTTP_10
                || response.headers().get("connection").is_some_and(|c| c == "close");
            // The body arrives in pieces; `collect` gathers them.
            let body = response.into_body().collect().await.unwrap().to_bytes();
            print!("{status}: {}", String::from_utf8_lossy(&body));
            if closes {
                sender = None;
            }
        }
    }
    ExitCode::SUCCESS
}

/// One TCP connection, and hyper's HTTP/1.1 on it, said as `Connection N: ours ->
/// theirs`. `connection` is the part that reads and writes the bytes: it runs in a
/// task of its own while we talk. No server there: one line, and `None`.
async fn connect(addr: &str, number: u32) -> Option<SendRequest<Empty<Bytes>>> {
    let stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(err) => {
            eprintln!("error: could not connect to {addr}: is the server running? ({err})");
            return None;
        }
    };
    println!("Connection {number}: {} -> {addr}", stream.local_addr().unwrap());
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    Some(sender)
}
