//! Lesson 01, first version: Flask's hello world, on hyper. One idea: a server
//! takes TCP connections, reads HTTP requests from each, and writes responses.
//!
//!     cargo run -p http_server_first
//!     curl -i http://127.0.0.1:5000/
//!
//! It `unwrap`s where the full lesson (`cargo run -p http_server`) answers: a port
//! in use panics here. The page shows what else the full lesson adds, and why.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request in, one response out: Flask's `@app.route("/")` and its function.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, "Hello, World!\n"),
        _ => (StatusCode::NOT_FOUND, "Not found\n"),
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
    loop {
        // Wait for the next connection, then serve it in a task of its own, so that
        // one slow client does not hold up the next.
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            // hyper reads each request, calls `hello`, writes the response, and
            // keeps the connection open for the next request (keep-alive).
            let service = service_fn(hello);
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
