//! Lesson 01, step 3 of 5: a limit on the request head.
//! A request head above 16 KiB gets `431 Request Header Fields Too Large`.
//!
//!     cargo run -p http_server_first --example http_server_step3
//!     curl -i -H "X-Big: $(head -c 20000 /dev/zero | tr '\\0' a)" http://127.0.0.1:5000/
//!
//! Page 01 shows this step as a diff against the one before (`scripts/diff-lessons 1
//! --steps`).

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// One request in, one response out: Flask's `@app.route("/")` and its function.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, "Hello, World!\n".to_string()),
        // The query string (`name=Alice` after the `?`), decoded: `+` is a space, and
        // `%E5%B0%8F` stands for the three UTF-8 bytes of one character.
        "/hello" => {
            let query = request.uri().query().unwrap_or("");
            let name = form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "name")
                .map_or("stranger".to_string(), |(_, name)| name.into_owned());
            (StatusCode::OK, format!("Hello, {name}!\n"))
        }
        _ => (StatusCode::NOT_FOUND, "Not found\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5000, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5000") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5000".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on http://{}", listener.local_addr().unwrap());
    // Every connection's HTTP settings: a client must send its whole request head
    // within 5 s, or it is dropped. hyper times it with the timer we give it. A head
    // above 16 KiB gets 431 (browsers send 1-2 KiB), so nobody fills our memory.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(5))
        .max_header_size(16 * 1024);
    loop {
        // Wait for the next connection, then serve it in a task of its own, so that
        // one slow client does not hold up the next.
        let (stream, _peer) = listener.accept().await.unwrap();
        let http = http.clone();
        tokio::spawn(async move {
            // hyper reads each request, calls `hello`, writes the response, and
            // keeps the connection open for the next request (keep-alive).
            let service = service_fn(hello);
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
