//! Lesson 04: a WebSocket client.
//!
//! Start lesson 03's server in one terminal:
//!
//!     cargo run -p ws_echo_server
//!
//! then run this client in another, with a message to send if you like:
//!
//!     cargo run -p ws_echo_client -- Hi there
//!
//! Builds on: lesson 02 (connect, send, print what comes back, friendly errors).
//! Adds: the opening handshake's 101 response, a message each way over the upgraded
//! connection, and the close handshake that ends it.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

mod open;

/// How long we wait for the server to connect or to answer before giving up. A
/// server that never answers must not leave the client hanging for ever.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(about = "Lesson 04: a WebSocket client")]
struct Args {
    /// The server to talk to: HOST:PORT, :PORT, or a URL such as ws://127.0.0.1:5001/
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::WS_ECHO_ADDR)]
    #[arg(value_parser = common::ws_address)]
    addr: common::Address,
    /// The message to send.
    #[arg(default_value = "Hello Server!")]
    message: Vec<String>,
}

use open::Socket;

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
    // A WebSocket address is a URL with its own scheme: ws://.
    let url = args.addr.ws_url("/");

    let mut ws = connect(&url, &args.addr).await?;

    let text = args.message.join(" ");
    common::println!("  Sent:      {text}");
    ws.send(Message::text(text)).await.with_context(|| format!("sending to {url} failed"))?;
    let reply = receive(&mut ws, &url).await?;
    common::println!("  Received:  {reply}");

    // The close handshake: we send a Close frame with a code (1000: normal), the
    // server answers with its own Close, and only then is the TCP connection shut.
    // Both sides thus know that nothing was lost on the way.
    let frame = CloseFrame { code: CloseCode::Normal, reason: "done".into() };
    common::println!("  Closing:   1000 \"done\"");
    ws.close(Some(frame)).await.context("closing failed")?;
    match tokio::time::timeout(TIMEOUT, answer_to_close(&mut ws)).await {
        Ok(Some(frame)) => {
            common::println!(
                "  Closed:    the server answered {} {:?}",
                frame.code,
                frame.reason.as_str()
            );
        }
        Ok(None) => common::println!("  Closed:    the server answered without a code"),
        Err(_) => {
            bail!("the server did not answer our Close within {} s", TIMEOUT.as_secs());
        }
    }
    Ok(())
}

/// Opens the WebSocket (`open.rs`: TCP, then the handshake) and prints it: the 101
/// response, and the headers of the upgrade.
async fn connect(url: &str, addr: &common::Address) -> anyhow::Result<Socket> {
    let (ws, response) = open::open(url, addr, ("03", "ws_echo_server")).await?;
    common::println!("Connected to {url}");
    print_response(&response);
    Ok(ws)
}

/// Prints the 101's status line and the headers of the upgrade, as lesson 02 prints
/// an HTTP response's. A 101 has no body: the connection is the WebSocket's now.
fn print_response(response: &tokio_tungstenite::tungstenite::handshake::client::Response) {
    common::println!("  Response:  {:?} {}", response.version(), response.status());
    for name in ["upgrade", "connection", "sec-websocket-accept"] {
        let value = response.headers().get(name).and_then(|v| v.to_str().ok());
        common::println!("    {name}: {}", value.unwrap_or("(not sent)"));
    }
}

/// Waits for the next text or binary message. tungstenite answers Pings for us, so
/// control frames are skipped here.
async fn receive(ws: &mut Socket, url: &str) -> anyhow::Result<String> {
    loop {
        let message = match tokio::time::timeout(TIMEOUT, ws.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(err))) => bail!("reading from {url} failed: {err}"),
            Ok(None) => bail!("{url} closed the connection before answering"),
            Err(_) => {
                bail!("no answer from {url} within {} s", TIMEOUT.as_secs());
            }
        };
        match message {
            Message::Text(text) => return Ok(text.to_string()),
            Message::Binary(bytes) => return Ok(format!("({} bytes of binary data)", bytes.len())),
            Message::Close(frame) => {
                let why = frame.map_or_else(
                    || "no code".to_string(),
                    |f| format!("{} {:?}", f.code, f.reason.as_str()),
                );
                bail!("{url} closed the connection before answering: {why}");
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

/// Reads until the server's answering Close arrives and the stream ends.
async fn answer_to_close(ws: &mut Socket) -> Option<CloseFrame> {
    let mut answer = None;
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Close(frame) = message {
            answer = frame;
        }
    }
    answer
}
