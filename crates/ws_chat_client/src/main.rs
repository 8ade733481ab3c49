//! Lesson 06: a chat client.
//!
//! Start lesson 05's server in one terminal:
//!
//!     cargo run -p ws_chat_server
//!
//! then run this client in two or three others, and type:
//!
//!     cargo run -p ws_chat_client
//!
//! Builds on: lesson 04 (connect, send, receive, the close handshake). Adds: doing
//! two things at once. The keyboard and the socket can each have something for us at
//! any moment; `tokio::select!` waits for both and handles whichever comes first.

use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, info};

mod keyboard;

// Carried unchanged from the lesson that teaches it: the file lives once, there
// (`scripts/diff-lessons` names it). To change it for this lesson only, copy it into
// this `src/` and delete its `#[path]` line.
#[path = "../../ws_echo_client/src/open.rs"] // lesson 04
mod open;

/// How long we wait for the server to connect or to answer before giving up. A
/// server that never answers must not leave the client hanging for ever.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(about = "Lesson 06: a chat client")]
struct Args {
    /// The server to talk to: HOST:PORT, :PORT, or a URL such as ws://127.0.0.1:5002/
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::WS_CHAT_ADDR)]
    #[arg(value_parser = common::ws_address)]
    addr: common::Address,
    /// A first message to send, before the lines you type.
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
    // A WebSocket address is a URL with its own scheme: ws:// (or wss:// with TLS).
    let url = args.addr.ws_url("/");

    // Ctrl-C is ours from now on: it closes the connection properly instead of
    // killing the program mid-conversation.
    let mut ctrl_c = pin!(keyboard::ctrl_c());
    let mut ws = connect(&url, &args.addr).await?;

    if !args.message.is_empty() {
        send(&mut ws, &url, args.message.join(" ")).await?;
    }

    // Three things can happen at any moment: you type a line, a message arrives, or
    // Ctrl-C. `select!` waits for all three and runs the branch of whichever is
    // first; the others are dropped. `keyboard.recv()` and `ws.next()` are made
    // afresh at the next turn of the loop, which is safe because both are
    // cancel-safe: a line or a frame not yet taken stays where it was. The Ctrl-C
    // future is made once, before the loop, and only lent to each turn (`&mut`):
    // dropping the loan leaves it as it was, and the next turn resumes it.
    let mut keyboard = keyboard::lines();
    let goodbye = loop {
        tokio::select! {
            () = &mut ctrl_c => {
                // 1001 "going away": what a browser says when its tab closes.
                info!("Ctrl-C: closing the connection with 1001 (going away)");
                break CloseFrame { code: CloseCode::Away, reason: "Ctrl-C".into() };
            }
            line = keyboard.recv() => match line {
                Some(line) if line.trim() == "/quit" => break bye(),
                Some(line) if line.trim().is_empty() => {}
                Some(line) => send(&mut ws, &url, line).await?,
                // End of input: Ctrl-D on the keyboard, or the end of a pipe.
                None => break bye(),
            },
            message = ws.next() => received(message, &mut ws, &url).await?,
        }
    };
    close(ws, goodbye).await
}

/// The Close frame for an ordinary goodbye: 1000, normal.
fn bye() -> CloseFrame {
    CloseFrame { code: CloseCode::Normal, reason: "bye".into() }
}

async fn send(ws: &mut Socket, url: &str, line: String) -> anyhow::Result<()> {
    ws.send(Message::text(line)).await.with_context(|| format!("sending to {url} failed"))
}

/// What the server sent: a line to print, or the end of the conversation.
async fn received(
    message: Option<Result<Message, WsError>>,
    ws: &mut Socket,
    url: &str,
) -> anyhow::Result<()> {
    match message {
        Some(Ok(Message::Text(text))) => common::println!("{text}"),
        Some(Ok(Message::Close(frame))) => {
            // tungstenite has queued our answering Close; send it on its way.
            let _ = ws.flush().await;
            let why = frame.map_or_else(
                || "no code".to_string(),
                |f| format!("{} {:?}", f.code, f.reason.as_str()),
            );
            bail!("the server closed the connection: {why}");
        }
        // tungstenite answers Pings for us; this chat sends no binary.
        Some(Ok(_)) => {}
        Some(Err(err)) => bail!("the connection to {url} broke: {err}"),
        None => bail!("{url} went away without a close frame"),
    }
    Ok(())
}

/// The close handshake: we send a Close frame with a code (1000: normal, or 1001
/// after Ctrl-C), the server answers with its own Close, and only then is the TCP
/// connection shut.
async fn close(mut ws: Socket, goodbye: CloseFrame) -> anyhow::Result<()> {
    // The server answers each line we sent before it reads our Close, so the
    // answers to everything we typed arrive before its Close: we print them.
    ws.close(Some(goodbye)).await.context("closing failed")?;
    match tokio::time::timeout(TIMEOUT, answer_to_close(&mut ws)).await {
        Ok(Some(frame)) => {
            info!("Closed: the server answered {} {:?}", frame.code, frame.reason.as_str());
        }
        Ok(None) => info!("Closed: the server answered without a code"),
        Err(_) => {
            bail!("the server did not answer our Close within {} s", TIMEOUT.as_secs());
        }
    }
    Ok(())
}

/// Opens the WebSocket (`open.rs`: TCP, then the handshake) and logs it: the 101
/// response, and the headers of the upgrade.
async fn connect(url: &str, addr: &common::Address) -> anyhow::Result<Socket> {
    let (ws, response) = open::open(url, addr, ("05", "ws_chat_server")).await?;
    // stdout is for the chat now, so how we connected goes to the log (stderr).
    info!("Connected to {url} ({:?} {})", response.version(), response.status());
    for name in ["upgrade", "connection", "sec-websocket-accept"] {
        let value = response.headers().get(name).and_then(|v| v.to_str().ok());
        debug!("    {name}: {}", value.unwrap_or("(not sent)"));
    }
    Ok(ws)
}

/// Reads until the server's answering Close arrives and the stream ends, printing
/// the messages that come before it.
async fn answer_to_close(ws: &mut Socket) -> Option<CloseFrame> {
    let mut answer = None;
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Text(text) => common::println!("{text}"),
            Message::Close(frame) => answer = frame,
            _ => {}
        }
    }
    answer
}
