//! Lesson 01, exercise 5, from the first version: `POST /echo` answers with the body
//! it was sent.
//!
//!     cargo run -p http_server_first --example http_server_exercise_echo
//!     curl --data 'hello' http://127.0.0.1:5000/echo
//!
//! The first version never reads a request's body; here `hello` hands it to
//! `read_body` for `POST /echo`. Write `read_body`: wait for all of the body's
//! pieces and join them. Until you do, its `todo!()` panics, the task serving
//! that connection ends, and curl says `Empty reply from server`; the server
//! itself goes on. Check it with `scripts/exercise http_server 5`.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The whole body of a request. A body comes in pieces (frames), as the client
/// sends them: `http_body_util::BodyExt` has a method that waits for them all.
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
async fn read_body(body: Incoming) -> Bytes {
    todo!("wait for the whole body and return its bytes")
}

/// One request in, one response out, as in the first version, and `POST /echo`.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::POST, "/echo") => (StatusCode::OK, read_body(request.into_body()).await),
        (_, "/") => (StatusCode::OK, Bytes::from("Hello, World!\n")),
        _ => (StatusCode::NOT_FOUND, Bytes::from("Not found\n")),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    Ok(response)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5000".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on http://{}", listener.local_addr().unwrap());
    loop {
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            let service = service_fn(hello);
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
