//! Lesson 13's terminal client: the room's event stream read with hyper, as a
//! browser's `EventSource` reads it. It prints each line said, and when the stream
//! ends or breaks it waits as long as the server's `retry:` says, then connects
//! again, saying the last event id it got (`Last-Event-ID`): the server sends what
//! it missed.
//!
//!     cargo run -p http_push_client
//!
//! with the server running (`cargo run -p http_push`). It only listens: say
//! something from the page, or with curl (page 13).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tracing::debug;

#[derive(Parser)]
#[command(about = "Lesson 13: the room's event stream, in a terminal")]
struct Args {
    /// The server: host:port, or a URL such as http://127.0.0.1:5007/
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::PUSH_ADDR)]
    #[arg(value_parser = common::http_address)]
    addr: common::Address,
}

/// Where the stream is: the last event id, and how long to wait before connecting
/// again (3 s, as browsers wait, until the server says otherwise with `retry:`).
struct Place {
    last_id: Option<String>,
    retry: Duration,
    /// Our name in the room, from the welcome: our own arrival is not news.
    me: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();
    let mut place = Place { last_id: None, retry: Duration::from_secs(3), me: String::new() };
    let mut heard_once = false;
    loop {
        let ended = listen(&args.addr, &mut place, &mut heard_once).await;
        match ended {
            // A server that never answered: one line that says what to do.
            Err(why) if !heard_once => {
                return common::fail(format!(
                    "{why:#} (is the server running? cargo run -p http_push)"
                ));
            }
            Err(why) => common::println!("* the stream broke: {why:#}"),
            Ok(()) => common::println!("* the stream ended"),
        }
        let from = place.last_id.as_deref().map_or(String::new(), |id| format!(", from {id}"));
        common::println!("* connecting again in {} s{from}", place.retry.as_secs_f64());
        tokio::time::sleep(place.retry).await;
    }
}

/// One connection: `GET /api/events`, then each event as it comes, until the
/// stream ends (`Ok`) or breaks.
async fn listen(addr: &common::Address, place: &mut Place, heard: &mut bool) -> anyhow::Result<()> {
    let stream =
        common::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = Request::get("/api/events").header(HOST, addr.authority());
    request = request.header(ACCEPT, "text/event-stream");
    if let Some(id) = &place.last_id {
        request = request.header("last-event-id", id);
    }
    let response = sender.send_request(request.body(Empty::<Bytes>::new())?).await?;
    let kind = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !response.status().is_success() || kind != Some("text/event-stream") {
        bail!("{addr} answered {} {kind:?}, not an event stream", response.status());
    }
    *heard = true;
    let mut body = response.into_body();
    let mut text = String::new();
    // The body comes in pieces (HTTP chunks); an event ends at an empty line.
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            text.push_str(std::str::from_utf8(&data).context("an event stream is UTF-8")?);
        }
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            show(&event, place)?;
        }
    }
    Ok(())
}

/// One event: its fields read (`id`, `retry`, `event`, `data`; a line that starts
/// with `:` is a comment), then what it says, printed.
fn show(event: &str, place: &mut Place) -> anyhow::Result<()> {
    let (mut kind, mut data) = ("message", String::new());
    for line in event.lines() {
        // `field: value`, with one optional space after the colon.
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "" => debug!("comment: {value}"),
            "id" => place.last_id = Some(value.to_string()),
            "retry" => place.retry = value.parse().map_or(place.retry, Duration::from_millis),
            "event" => kind = value,
            "data" => data.push_str(value),
            _ => {}
        }
    }
    if kind == "restarted" {
        common::println!("* the server restarted: its history began again");
        return Ok(());
    }
    if data.is_empty() {
        return Ok(());
    }
    let message: serde_json::Value = serde_json::from_str(&data).context("an event's data")?;
    let text = |key: &str| message[key].as_str().unwrap_or_default().to_string();
    match message["type"].as_str() {
        Some("chat") => common::println!("{}: {}", text("from"), text("text")),
        Some("welcome") => {
            place.me = text("name");
            common::println!("* you are {}, {} online", place.me, message["online"]);
        }
        Some("joined") if text("name") != place.me => {
            common::println!("* {} joined ({} online)", text("name"), message["online"]);
        }
        Some("left") => common::println!("* {} left ({} online)", text("name"), message["online"]),
        _ => debug!("an event this client does not show: {data}"),
    }
    Ok(())
}
