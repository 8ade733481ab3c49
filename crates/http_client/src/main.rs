//! Lesson 02: an HTTP client on raw hyper, and what a connection is.
//!
//! Start lesson 01's server in one terminal:
//!
//!     cargo run -p http_server
//!
//! then run this client in another, with a name to greet if you like:
//!
//!     cargo run -p http_client -- Bob
//!
//! Builds on: nothing (lesson 01 is the server it talks to). It shows that HTTP/1.1
//! keeps a connection open for more requests, and what `Connection: close` changes.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, HOST};
use hyper::{Request, Response, Version};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

/// How long we wait for the server to connect or to answer before giving up. A
/// server that never answers must not leave the client hanging for ever.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(about = "Lesson 02: an HTTP client on raw hyper")]
struct Args {
    /// The server to talk to: HOST:PORT, :PORT, or a URL such as http://127.0.0.1:5000.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::HTTP_ADDR)]
    #[arg(value_parser = common::http_address)]
    addr: common::Address,
    /// The name to greet.
    #[arg(default_value = "Alice")]
    name: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();
    // Whatever went wrong is one line, as the servers say theirs (`common::fail`).
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => common::fail(why),
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let addr = args.addr.to_string();
    // A URL cannot hold a space or `小明` as they are: form_urlencoded writes them
    // as `+` and %-escaped UTF-8 bytes, the way a browser's form does.
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", &args.name.join(" "))
        .finish();
    let target = format!("/hello?{query}");

    // Connection 1: two requests, one after the other, over the same TCP connection,
    // if the server agrees. Keep-alive is negotiated, not promised: a server may say
    // it will close after this answer (`Connection: close`, or an HTTP/1.0 answer
    // without `keep-alive`), and then the next request needs a new connection.
    let mut connections = 1;
    let (mut sender, mut connection) = connect(&args.addr, connections).await?;
    let (mut served, mut open) = (0, true);
    for number in 1..=2 {
        if !open {
            connections += 1;
            (sender, connection) = connect(&args.addr, connections).await?;
            (served, open) = (0, true);
        }
        let request = get(&addr, &target, false);
        common::println!("  Request {number}: GET {target}");
        let response = send(&mut sender, request, &addr).await?;
        served += 1;
        let closing = closes_after(&response);
        print_response(response, &addr).await?;
        if let Some(why) = closing {
            common::println!("  The server will close connection {connections}: {why}.");
            let _ = (&mut connection).await;
            open = false;
        }
    }
    if open {
        // Dropping the sender tells hyper we have no more requests, so it closes the
        // connection; waiting for the connection task lets us see that happen.
        drop(sender);
        let _ = connection.await;
        let requests = if served == 2 { "two requests" } else { "one request" };
        common::println!("Connection {connections} closed by us: {requests}, one connection.");
    }

    // One more connection: one request that asks the server to close the connection
    // after answering, as HTTP/1.0 used to do for every request.
    connections += 1;
    let (mut sender, connection) = connect(&args.addr, connections).await?;
    common::println!("  Request 3: GET {target} (with Connection: close)");
    let response = send(&mut sender, get(&addr, &target, true), &addr).await?;
    print_response(response, &addr).await?;
    let _ = connection.await;
    common::println!("Connection {connections} closed by the server, as we asked.");
    Ok(())
}

/// Why the server will close the connection after this response, if it will. HTTP/1.1
/// keeps a connection open unless either side says `Connection: close`; HTTP/1.0 closes
/// it unless the server says `Connection: keep-alive`.
fn closes_after(response: &Response<hyper::body::Incoming>) -> Option<&'static str> {
    // `Connection` holds a comma-separated list of tokens, in any case.
    let tokens: Vec<String> = response
        .headers()
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .collect();
    if tokens.iter().any(|token| token == "close") {
        Some("it answered with `connection: close`")
    } else if response.version() == Version::HTTP_10 && !tokens.iter().any(|t| t == "keep-alive") {
        Some("it answered in HTTP/1.0 without `connection: keep-alive`")
    } else {
        None
    }
}

/// Opens a TCP connection and hands it to hyper's HTTP/1.1 client. `handshake` sends
/// nothing (HTTP/1.1 has no handshake of its own); it splits the result in two: a
/// `SendRequest` to send requests with, and the connection itself, a future that does
/// the reading and writing and must be polled: we spawn it.
async fn connect(
    address: &common::Address,
    number: u32,
) -> anyhow::Result<(http1::SendRequest<Empty<Bytes>>, JoinHandle<()>)> {
    // A name (`localhost:5000`) is looked up, and each of its addresses tried in turn
    // (`common::connect`); an IP address is dialled as it is.
    let addr = address.to_string();
    let stream = match tokio::time::timeout(TIMEOUT, common::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
            bail!("could not connect to {addr}: {}", address.refused_hint("http_server"));
        }
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::NotFound => return Err(err.into()),
        Ok(Err(err)) => bail!("could not connect to {addr}: {err}"),
        Err(_) => {
            bail!("could not connect to {addr}: no answer within {} s", TIMEOUT.as_secs());
        }
    };
    let local = stream.local_addr()?;
    common::println!("Connection {number}: {local} -> {addr}");

    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("setting up HTTP/1.1 with {addr} failed"))?;
    let task = tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::warn!("connection {number} failed: {err}");
        }
    });
    Ok((sender, task))
}

fn get(addr: &str, target: &str, close: bool) -> Request<Empty<Bytes>> {
    // HTTP/1.1 requires `Host`: one server may answer for many names.
    let mut request = Request::get(target).header(HOST, addr);
    if close {
        request = request.header(CONNECTION, "close");
    }
    request.body(Empty::new()).expect("a GET with valid headers")
}

async fn send(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    request: Request<Empty<Bytes>>,
    addr: &str,
) -> anyhow::Result<Response<hyper::body::Incoming>> {
    // One request at a time on an HTTP/1.1 connection: wait until the connection has
    // finished with the previous response and is ready for the next request.
    let exchange = async {
        sender.ready().await?;
        sender.send_request(request).await
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(err)) => Err(anyhow!("the request to {addr} failed: {err}")),
        Err(_) => Err(anyhow!("no response from {addr} within {} s", TIMEOUT.as_secs())),
    }
}

/// Prints the status line, the headers that say how the body and the connection are
/// handled, and the body. A 404 or a 500 is still an answer: we print it like any other.
async fn print_response(
    response: Response<hyper::body::Incoming>,
    addr: &str,
) -> anyhow::Result<()> {
    common::println!("  Response:  {:?} {}", response.version(), response.status());
    for name in ["content-type", "content-length", "connection"] {
        let value = response.headers().get(name).and_then(|v| v.to_str().ok());
        common::println!("    {name}: {}", value.unwrap_or("(not sent)"));
    }
    // The body arrives in pieces, as the bytes come in; hyper knows where it ends from
    // `content-length` (or, for a chunked body, the last chunk). `collect` gathers it.
    let body = match tokio::time::timeout(TIMEOUT, response.into_body().collect()).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(err)) => bail!("reading the body from {addr} failed: {err}"),
        Err(_) => {
            bail!("the body from {addr} did not arrive within {} s", TIMEOUT.as_secs());
        }
    };
    // One line of body is enough to see what came back; an HTML error page is longer.
    let body = String::from_utf8_lossy(&body);
    let mut lines = body.trim_end().lines();
    common::println!("    body: {}", lines.next().unwrap_or_default());
    let more = lines.count();
    if more > 0 {
        common::println!("          ({more} more lines)");
    }
    Ok(())
}
