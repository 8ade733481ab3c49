//! Lesson 03: a WebSocket echo server.
//!
//! Run it in one terminal:
//!
//!     cargo run -p ws_echo_server
//!
//! and connect from another with lesson 04's client, `cargo run -p ws_echo_client`,
//! or any WebSocket client: `websocat ws://127.0.0.1:5001/`, then type a line.
//!
//! Builds on: lesson 01 (the accept loop, one task per connection, Ctrl-C). Adds: a
//! WebSocket starts as an HTTP request that asks to upgrade; after the 101 answer the
//! same TCP connection carries frames, both ways, for as long as both sides like.

use std::net::SocketAddr;
use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{info, warn};

mod handshake;
mod websocket;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../http_server/src/listen.rs"] // lesson 01
mod listen;
#[path = "../../http_server/src/shutdown.rs"] // lesson 01
mod shutdown;
use websocket::{ClientClose, Ended, Heard};

/// How long Ctrl-C waits for every connection to end. It is longer than a close
/// handshake and the linger after it, so that even a silent client ends in time.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

#[derive(Parser)]
#[command(about = "Lesson 03: a WebSocket echo server")]
struct Args {
    /// Where to listen. 0.0.0.0:5001 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::WS_ECHO_ADDR)]
    #[arg(value_parser = common::server_address)]
    addr: common::Address,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    common::init_logging();

    let listener = match listen::bind(&args.addr).await {
        Ok(listener) => listener,
        Err(why) => return common::fail(why),
    };
    // From here on, Ctrl-C is ours to handle (see `shutdown.rs`).
    let mut shutdown = pin!(shutdown::signal());
    let addr = listener.local_addr().expect("a bound socket has an address");
    println!("Listening on ws://{addr}");
    println!("Try: cargo run -p ws_echo_client -- --addr ws://{addr}");

    // hyper's GracefulShutdown only knows HTTP connections, and after the upgrade
    // these are not HTTP any more. So we make our own signal: every connection task
    // watches this channel, and the channel tells us when the last task has ended.
    let (shutdown_tx, _) = watch::channel(false);
    let mut connections: u64 = 0;

    loop {
        // Wait for whichever comes first: a new connection, or Ctrl-C.
        let (stream, peer) = tokio::select! {
            accepted = listen::accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        connections += 1;
        // Send each message as soon as it is written. By default TCP holds a small
        // write back while an earlier one is unacknowledged (Nagle's algorithm), and
        // the other side may wait before acknowledging: for chat, a visible delay
        // (page 03, "Going deeper: what a connection costs", has the measured figure).
        let _ = stream.set_nodelay(true);

        // Each connection gets its own task, so a slow client never holds up the
        // others: tokio runs thousands of these on a few threads.
        tokio::spawn(serve(stream, connections, peer, shutdown_tx.subscribe()));
    }

    // Stop accepting (dropping the listener closes the port), then tell every
    // connection to say goodbye, and wait until they have (or until we tire).
    drop(listener);
    info!("Shutting down: closing every connection with 1001 (going away)");
    let _ = shutdown_tx.send(true);
    tokio::select! {
        () = shutdown_tx.closed() => info!("All connections closed, bye"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            warn!("Gave up waiting after {} s", SHUTDOWN_GRACE.as_secs());
        }
    }
    ExitCode::SUCCESS
}

/// One connection, from the opening handshake to the last frame.
async fn serve(
    mut stream: TcpStream,
    conn: u64,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let ws = match handshake::accept(&mut stream, conn, peer).await {
        Ok(ws) => ws,
        Err(err) => return handshake::refuse(stream, conn, peer, err).await,
    };
    echo(ws, conn, &mut shutdown).await.log(conn);
    // When we closed the connection because of a bad message, the client may still be
    // sending: read and drop what arrives for a moment before hanging up.
    handshake::linger(stream).await;
}

/// Answers each text message with `Server received: <text>` and echoes binary
/// messages as they are, until the connection ends.
async fn echo(
    mut ws: WebSocketStream<&mut TcpStream>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let mut client_close = ClientClose::NotYet;
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            () = websocket::shutting_down(shutdown) => {
                return websocket::close(&mut ws, CloseCode::Away, "server shutting down").await;
            }
        };
        let reply = match websocket::hear(message, conn, &mut client_close) {
            Heard::Text(text) => {
                info!("conn #{conn} text: {}", websocket::preview(text.as_str()));
                Message::text(format!("Server received: {text}"))
            }
            Heard::Binary(bytes) => {
                info!("conn #{conn} binary: {} bytes", bytes.len());
                Message::Binary(bytes)
            }
            Heard::Nothing => continue,
            Heard::Bad(code, reason) => return websocket::close(&mut ws, code, reason).await,
            Heard::End(ended) => return ended,
        };
        if let Err(ended) = websocket::send(&mut ws, reply).await {
            return ended;
        }
    }
}
