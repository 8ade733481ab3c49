//! Lesson 02, exercise 4, from the first version: print each response's headers,
//! as `curl -i` does, between its status and its body.
//!
//!     cargo run -p http_server_first                                   (one terminal)
//!     cargo run -p http_client_first --example http_client_exercise_headers   (another)
//!
//! The first version prints `200 OK: Hello, World!`. Here the status has a line of
//! its own, then `print_headers` prints one line per header, `name: value`, and then
//! the body. Write `print_headers`. Until you do, its `todo!()` panics. Check it
//! with `scripts/exercise http_client 4`.

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One line per header: `content-length: 14`. hyper keeps the names in lower case
/// (HTTP/1.1 names are case-insensitive); a value is bytes, which may not be text.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn print_headers(headers: &HeaderMap) {
    todo!("print each header as `name: value`")
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5000".to_string());
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    for _ in 0..2 {
        let request = Request::get("/").header("host", &addr).body(Empty::<Bytes>::new()).unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        println!("{}", response.status());
        print_headers(response.headers());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        print!("{}", String::from_utf8_lossy(&body));
    }
}
