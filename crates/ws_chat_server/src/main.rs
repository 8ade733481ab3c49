//! Lesson 05: a WebSocket chat server.
//!
//! Run it in one terminal:
//!
//!     cargo run -p ws_chat_server
//!
//! and connect from two or three more with lesson 06's client,
//! `cargo run -p ws_chat_client`, or any WebSocket client:
//! `websocat ws://127.0.0.1:5002/`. Type a line in one; everyone sees it.
//!
//! Builds on: lesson 03 (the handshake, the message loop, close codes, shutdown).
//! Adds: many connections sharing state. A room (`room.rs`) knows who is online and
//! hands every line to every connection's task (`chat.rs`), through a bounded queue
//! for each: a slow reader gets every line, and one that stops reading is put out.

use std::net::SocketAddr;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{info, warn};

mod chat;
mod deliver;
mod members;
mod room;

// Carried unchanged from the lessons that teach them: each file lives once,
// there (`scripts/diff-lessons` names them). To change one for this lesson only,
// copy it into this `src/` and delete its `#[path]` line.
#[path = "../../ws_echo_server/src/handshake.rs"] // lesson 03
mod handshake;
#[path = "../../http_server/src/listen.rs"] // lesson 01
mod listen;
#[path = "../../http_server/src/shutdown.rs"] // lesson 01
mod shutdown;
#[path = "../../ws_echo_server/src/websocket.rs"] // lesson 03
mod websocket;
use room::Room;

/// How long Ctrl-C waits for every connection to end. It is longer than a close
/// handshake and the linger after it, so that even a silent client ends in time.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

#[derive(Parser)]
#[command(about = "Lesson 05: a WebSocket chat server")]
struct Args {
    /// Where to listen. 0.0.0.0:5002 lets other machines in; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::WS_CHAT_ADDR)]
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
    println!("Try: cargo run -p ws_chat_client -- --addr ws://{addr}");

    // The state every connection shares. An `Arc` lets each task hold it.
    let room = Arc::new(Room::new());

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
        let shutdown = shutdown_tx.subscribe();
        tokio::spawn(serve(stream, connections, peer, shutdown, Arc::clone(&room)));
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
    room: Arc<Room>,
) {
    let mut ws = match handshake::accept(&mut stream, conn, peer).await {
        Ok(ws) => ws,
        Err(err) => return handshake::refuse(stream, conn, peer, err).await,
    };
    // The socket stays here, and the chat borrows it: an `async fn` keeps what it
    // is given by value in its own future, so passing it down by value would store
    // it once at every level, for every connection (page 05, "Going deeper: what an
    // idle client costs").
    chat::chat(&mut ws, conn, &mut shutdown, &room).await.log(conn);
    drop(ws);
    // When we closed the connection because of a bad message, the client may still be
    // sending: read and drop what arrives for a moment before hanging up.
    handshake::linger(stream).await;
}
