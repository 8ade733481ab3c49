//! Lesson 02, first version: the requests tutorial's two calls, on hyper. One idea:
//! a client opens one TCP connection, sends a request on it, reads the response,
//! and may send the next one on the same connection (keep-alive).
//!
//!     cargo run -p http_server_first      (in one terminal)
//!     cargo run -p http_client_first      (in another)
//!
//! It `unwrap`s where the full lesson (`cargo run -p http_client`) answers: a server
//! that is not running panics here. The page shows what else the full lesson adds.

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5000, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5000") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5000".to_string());
    // One TCP connection, and hyper's HTTP/1.1 on it. `connection` is the part that
    // reads and writes the bytes: it runs in a task of its own while we talk.
    let stream = TcpStream::connect(&addr).await.unwrap();
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
}
