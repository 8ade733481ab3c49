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
//! Adds: many connections sharing state. A room knows who is online and hands every
//! line to every connection's task, and a client that stops reading never slows
//! anyone else down.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};
use tracing::{debug, info, warn};

mod room;
use room::{Line, Room};

/// A client that has not finished its opening handshake by then is dropped, so that
/// a half-sent request cannot hold a connection for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest message we accept, in bytes. A bigger one closes that connection
/// with 1009 (message too big); tungstenite's default, 64 MiB, is far more than an
/// chat needs and would let one client make the server hold 64 MiB.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// A client whose connection takes nothing for this long (it stopped reading, or
/// the network is gone) is dropped, so it cannot hold its place for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a close handshake may take before we hang up anyway: a client that
/// stopped reading would keep us waiting for ever.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
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
async fn main() {
    let args = Args::parse();
    common::init_logging();

    // Binding claims the port. It fails if another program has it already: say so in
    // one line a beginner can act on, not with a backtrace.
    let listener = match TcpListener::bind(args.addr.socket).await {
        Ok(listener) => listener,
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "error: {} is already in use (is another copy of this lesson still running?). \
                 Stop it, or choose another port: cargo run -p ws_chat_server -- --addr 127.0.0.1:5052",
                args.addr
            );
            std::process::exit(1);
        }
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.addr);
            std::process::exit(1);
        }
    };
    // From here on, Ctrl-C is ours to handle (see `shutdown_signal`).
    let mut shutdown = pin!(shutdown_signal());
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
        // Wait for whichever comes first: a new connection, or Ctrl-C. `accept` is
        // not a busy loop: this task sleeps until the operating system hands us a
        // connection, and the other tasks run meanwhile.
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually "too many open files": wait a little for some to close
                    // rather than spinning on the same error.
                    warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        connections += 1;
        let conn = connections;
        // Send each message as soon as it is written. By default TCP holds a small
        // write back while an earlier one is unacknowledged (Nagle's algorithm), and
        // the other side may wait up to 40 ms before acknowledging: for chat, that is
        // a visible delay (the benchmarks measured p99 40 ms without this line, 4 ms with).
        let _ = stream.set_nodelay(true);

        // Each connection gets its own task, so a slow client never holds up the
        // others: tokio runs thousands of these on a few threads.
        let shutdown = shutdown_tx.subscribe();
        tokio::spawn(serve(stream, conn, peer, shutdown, Arc::clone(&room)));
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
}

/// One connection, from the opening handshake to the last frame.
async fn serve(
    mut stream: TcpStream,
    conn: u64,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
    room: Arc<Room>,
) {
    // Each connection's buffers are its own: tungstenite's defaults (128 KiB to read,
    // 128 KiB to write) suit a few fast connections, not thousands of idle ones.
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);

    // The opening handshake is an ordinary HTTP request. tungstenite checks it and
    // answers 101 Switching Protocols; this callback lets us look at it on the way.
    #[allow(clippy::result_large_err, reason = "the callback's type is tungstenite's")]
    let log_request = |request: &Request, response: Response| {
        let header =
            |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-");
        info!(
            "conn #{conn} {peer} {} {} (upgrade: {}, connection: {}, sec-websocket-key: {}, sec-websocket-version: {}) -> 101",
            request.method(),
            request.uri(),
            header("upgrade"),
            header("connection"),
            header("sec-websocket-key"),
            header("sec-websocket-version"),
        );
        Ok(response)
    };
    // We lend tungstenite the stream (`&mut stream`) rather than give it away: if the
    // request is not a WebSocket handshake, tungstenite hangs up without a word, and
    // we still hold the stream to answer it ourselves.
    let handshake = accept_hdr_async_with_config(&mut stream, log_request, Some(config));
    let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(err)) => return refuse(stream, conn, peer, err).await,
        Err(_) => {
            info!(
                "conn #{conn} {peer}: no handshake within {} s, dropped",
                HANDSHAKE_TIMEOUT.as_secs()
            );
            return;
        }
    };

    let ended = chat(ws, conn, &mut shutdown, &room).await;
    // Errors in one place: a peer going away is normal life for a server, so it is
    // only a line in the log; everything else says what went wrong.
    match ended {
        Ended::ClosedByClient(Some(frame)) => {
            info!("conn #{conn} closed by the client: {} {:?}", frame.code, frame.reason.as_str());
        }
        Ended::ClosedByClient(None) => info!("conn #{conn} closed by the client, without a code"),
        Ended::Vanished => info!("conn #{conn} vanished without a close frame"),
        Ended::ClosedByUs(code, reason) => info!("conn #{conn} closed by us: {code} {reason:?}"),
        Ended::TooSlow => {
            info!("conn #{conn} dropped: it took nothing for {} s", SEND_TIMEOUT.as_secs())
        }
    }
    // When we closed the connection because of a bad message, the client may still be
    // sending: read and drop what arrives for a moment before hanging up, or the
    // operating system would answer with a reset that can destroy our Close frame.
    linger(stream).await;
}

/// How a WebSocket connection ended.
enum Ended {
    ClosedByClient(Option<CloseFrame>),
    ClosedByUs(CloseCode, &'static str),
    Vanished,
    TooSlow,
}

/// Puts the connection in the room, passes lines both ways until it ends, and takes
/// it out of the room again.
async fn chat(
    ws: WebSocketStream<&mut TcpStream>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    room: &Room,
) -> Ended {
    let (name, lines) = room.join(conn);
    info!("conn #{conn} joined as {name}");
    // However `talk` ends (a Close, a vanished client, a bad frame, Ctrl-C), we get
    // here and the room hears of it: the online count never drifts.
    let ended = talk(ws, conn, shutdown, room, name, lines).await;
    room.leave(conn);
    ended
}

/// Sends what the client says to the room, and what the room says to the client,
/// whichever comes first, until the connection ends.
async fn talk(
    mut ws: WebSocketStream<&mut TcpStream>,
    conn: u64,
    shutdown: &mut watch::Receiver<bool>,
    room: &Room,
    mut name: String,
    mut lines: broadcast::Receiver<Line>,
) -> Ended {
    let welcome =
        format!("Welcome, {name}! Type a message and press Enter; /name NEW changes your name.");
    if ws.send(Message::text(welcome)).await.is_err() {
        return Ended::Vanished;
    }
    let mut client_close = None;
    loop {
        let reply = tokio::select! {
            // `biased` tries the branches in this order instead of at random: Ctrl-C
            // first, then the room's lines, then the client's next message. A client
            // thus sees everything said before its own line is answered, and a busy
            // room is passed on before we take more from this client.
            biased;
            _ = shutdown.changed() => {
                return close(&mut ws, CloseCode::Away, "server shutting down").await;
            }
            // Once the client has said Close, we only wait for the stream to end.
            line = lines.recv(), if client_close.is_none() => match line {
                Ok(Line { from: Some(from), .. }) if from == conn => continue,
                Ok(line) => Message::Text(line.text),
                // This client fell more than QUEUE_LENGTH lines behind: the oldest
                // were overwritten before it read them. Say so, and carry on from the
                // oldest line still there.
                Err(RecvError::Lagged(missed)) => {
                    info!("conn #{conn} missed {missed} lines");
                    Message::text(format!("(you missed {missed} messages: your connection could not keep up)"))
                }
                Err(RecvError::Closed) => return Ended::Vanished,
            },
            message = ws.next() => match message {
                // `None` is the end of the stream: after a Close, the normal end.
                None | Some(Err(Error::ConnectionClosed)) if client_close.is_some() => {
                    return Ended::ClosedByClient(client_close.flatten());
                }
                None => return Ended::Vanished,
                Some(Ok(Message::Text(text))) => {
                    info!("conn #{conn} text: {}", preview(text.as_str()));
                    match text.strip_prefix("/name ") {
                        Some(new) => match room.rename(conn, new.trim()) {
                            Ok(()) => {
                                name = new.trim().to_string();
                                continue;
                            }
                            Err(why) => Message::text(format!("Cannot rename: {why}.")),
                        },
                        // The sender gets its own line at once, marked as its own;
                        // everyone else gets it through the room.
                        None => {
                            room.announce(Some(conn), format!("{name}: {text}"));
                            Message::text(format!("you: {text}"))
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => Message::text("This chat takes text messages only."),
                // tungstenite answers a Ping with a Pong by itself, and a Close with a
                // Close: control frames are never passed on to anyone.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    // Keep reading: the stream ends once tungstenite has sent our reply.
                    client_close = Some(frame);
                    continue;
                }
                // A bad message: tell the client why with the right close code, rather
                // than dropping the connection without a word.
                Some(Err(Error::Capacity(_))) => {
                    return close(&mut ws, CloseCode::Size, "message too big: the limit is 64 KiB").await;
                }
                Some(Err(Error::Utf8(_))) => {
                    return close(&mut ws, CloseCode::Invalid, "text is not valid UTF-8").await;
                }
                Some(Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                    return Ended::Vanished;
                }
                Some(Err(Error::Protocol(err))) => {
                    debug!("conn #{conn} protocol error: {err}");
                    return close(&mut ws, CloseCode::Protocol, "protocol error").await;
                }
                Some(Err(err)) => {
                    debug!("conn #{conn} read failed: {err}");
                    return Ended::Vanished;
                }
            },
        };
        // A client that stops reading makes this wait, and only this: its own task.
        // Everyone else's lines keep flowing, and the room keeps this client's lines
        // in its ring until it catches up, or for at most SEND_TIMEOUT.
        match tokio::time::timeout(SEND_TIMEOUT, ws.send(reply)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Ended::Vanished,
            Err(_) => return Ended::TooSlow,
        }
    }
}

/// Starts the close handshake with `code`, and waits (briefly) for the client's
/// answering Close.
async fn close(
    ws: &mut WebSocketStream<&mut TcpStream>,
    code: CloseCode,
    reason: &'static str,
) -> Ended {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    // A client that stopped reading would keep us waiting for ever: give up in time.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    Ended::ClosedByUs(code, reason)
}

/// Answers a request that is not a WebSocket handshake (a browser's address bar,
/// curl) with a plain HTTP error that says what this server is.
async fn refuse(mut stream: TcpStream, conn: u64, peer: SocketAddr, err: Error) {
    let (status, extra_header) = match &err {
        // The connection broke mid-handshake: there is nobody to answer.
        Error::Io(_) | Error::Protocol(ProtocolError::HandshakeIncomplete) => {
            debug!("conn #{conn} {peer}: gone during the handshake: {err}");
            return;
        }
        Error::Protocol(
            ProtocolError::MissingConnectionUpgradeHeader
            | ProtocolError::MissingUpgradeWebSocketHeader,
        ) => ("426 Upgrade Required", "upgrade: websocket\r\n"),
        Error::Protocol(ProtocolError::MissingSecWebSocketVersionHeader) => {
            ("426 Upgrade Required", "sec-websocket-version: 13\r\n")
        }
        Error::Protocol(_) | Error::HttpFormat(_) | Error::Capacity(_) | Error::AttackAttempt => {
            ("400 Bad Request", "")
        }
        _ => {
            warn!("conn #{conn} {peer}: handshake failed: {err}");
            return;
        }
    };
    info!("conn #{conn} {peer}: not a WebSocket handshake ({err}) -> {status}");
    let local = stream.local_addr().map_or_else(|_| "this address".to_string(), |a| a.to_string());
    let body = format!(
        "This is a WebSocket chat server (lesson 05), and that request was not a WebSocket handshake: {err}.\n\
         Connect with a WebSocket client: cargo run -p ws_chat_client, or websocat ws://{local}/\n"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n{extra_header}connection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_ok() {
        linger(stream).await;
    }
}

/// Closes our side, then reads and drops whatever the client still sends, for at
/// most a second, until it closes its side too.
async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(1..) = stream.read(&mut sink).await {}
    })
    .await;
}

/// Starts listening for Ctrl-C and SIGTERM (what `kill` and service managers send)
/// and returns a future that completes when either arrives. Listening starts when
/// this is called, not at the first `.await`, so an early Ctrl-C is not missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = signal(SignalKind::interrupt()).and_then(|interrupt| {
            signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
        });
        async move {
            match signals {
                Ok((mut interrupt, mut terminate)) => tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                },
                // Without our own handlers, Ctrl-C simply ends the program.
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What the log shows of a message: all of a short one, the start of a long one, so
/// that one 64 KiB message does not become a 64 KiB log line.
fn preview(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &text[..end], text.len()),
    }
}
