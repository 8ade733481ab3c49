//! Lesson 02, step 1 of 4: no server, said in one line.
//! No server at the address: one line that says what to do, and status 1,
//! instead of a panic.
//!
//!     cargo run -p http_client_first --example http_client_step1
//!     cargo run -p http_server_first      (in another terminal first)
//!
//! Page 02 shows this step as a diff against the one before (`scripts/diff-lessons 2
//! --steps`).

use std::process::ExitCode;

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
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
    // One TCP connection, and hyper's HTTP/1.1 on it. `connection` is the part that
    // reads and writes the bytes: it runs in a task of its own while we talk.
    // No server there: say so in one line, and end with status 1.
    let stream = match TcpStream::connect(&addr).await {
        Ok(stream) => stream,
        Err(err) => {
            eprintln!("error: could not connect to {addr}: is the server running? ({err})");
            return ExitCode::FAILURE;
        }
    };
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    // Two requests on that one connection, as requests' `Session` does.
    for _ in 0..2 {
        let request = Request::get("/").header("host", &addr).body(Empty::<Bytes>::new()).unwrap();
        // Wait until the connection can take a request: hyper may still be
        // finishing the last one, or the server may have closed it.
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        // The body arrives in pieces; `collect` gathers them.
        let body = response.into_body().collect().await.unwrap().to_bytes();
        print!("{status}: {}", String::from_utf8_lossy(&body));
    }
    ExitCode::SUCCESS
}
