//! Lesson 08: a client that survives.
//!
//! Start lesson 07's server in one terminal:
//!
//!     cargo run -p http_ws_server
//!
//! then this client in another, and type. Stop the server with Ctrl-C and start it
//! again: the client says so, waits, reconnects and carries on.
//!
//!     cargo run -p ws_reconnect_client
//!
//! Builds on: lesson 06 (keyboard and socket at once with `select!`). Adds: the
//! history over HTTP first (`http.rs`), JSON messages and event handlers
//! (`handler.rs`), a heartbeat that notices a dead server, and reconnecting with
//! exponential backoff and jitter.

use std::collections::VecDeque;
use std::pin::pin;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{info, warn};

mod handler;
mod http;
use handler::{Handler, Printer, ServerMessage};
use http::{FetchError, History, fetch_history};

/// How long we wait for the server to connect or to answer before giving up. A
/// server that never answers must not leave the client hanging for ever.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait before reconnecting; it doubles after each failure...
const BACKOFF_START: Duration = Duration::from_millis(500);
/// ...up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connection that lasted this long was a success: the next wait starts afresh.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// How many lines typed while disconnected are kept to send after the reconnect.
const QUEUE_LIMIT: usize = 20;

#[derive(Parser)]
#[command(about = "Lesson 08: a client that survives")]
struct Args {
    /// The server to talk to: host:port, or a URL such as http://127.0.0.1:5003/.
    #[arg(long, value_name = "ADDRESS", env = common::ADDR_ENV, default_value = common::HTTP_WS_ADDR)]
    #[arg(value_parser = common::http_or_ws_address)]
    addr: common::Address,
    /// Seconds between our Pings; two intervals without a word from the server
    /// mean the connection is dead.
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = common::seconds)]
    heartbeat: Duration,
    /// A first message to send, before the lines you type.
    message: Vec<String>,
}

/// Every way this client can fail for good, each said in one line.
type Error = String;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the user can do at any moment: type a line, or press Ctrl-C. Ctrl-C is a
/// future kept across connections; boxed, so that functions can take it by name.
type CtrlC = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
type Keyboard<'a> = (&'a mut mpsc::Receiver<String>, &'a mut CtrlC);

/// How a connection ended.
enum Session {
    /// `/quit` or the end of input: we are done.
    Quit,
    /// The connection was lost, for this reason: try again.
    Lost(String),
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    common::init_logging();
    common::exit_quietly_on_broken_pipe();
    if let Err(message) = run(args).await {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let heartbeat = args.heartbeat;
    // One address, two protocols: http://ADDR/api/messages and ws://ADDR/ws.
    let addr = args.addr.to_string();
    let url = format!("ws://{addr}/ws");
    let mut handler = Printer::default();

    // First the history, over HTTP: a question with one answer.
    let mut instance = match fetch_history(&addr).await {
        Ok(history) => {
            history.chats.iter().for_each(|chat| handler.show_chat(chat));
            history.instance
        }
        Err(FetchError::Refused) => {
            return Err(format!(
                "could not connect to {addr}: is the server running? Start it with `cargo run -p http_ws_server`"
            ));
        }
        Err(FetchError::Other(err)) => return Err(err),
    };

    // Ctrl-C closes the connection properly, as in lesson 06.
    let mut ctrl_c: CtrlC = Box::pin(ctrl_c());
    let mut keyboard = keyboard_lines();
    let mut outbox: VecDeque<String> = VecDeque::new();
    if !args.message.is_empty() {
        outbox.push_back(args.message.join(" "));
    }
    let mut delay = BACKOFF_START;
    let mut attempt = 0;
    loop {
        // Then the stream, over WebSocket, for as long as it lasts.
        let opened = Instant::now();
        match connect(&url).await {
            Ok(ws) => {
                handler.on_open(&url);
                attempt = 0;
                let keys = (&mut keyboard, &mut ctrl_c);
                match session(ws, &mut handler, keys, &mut outbox, heartbeat).await {
                    Session::Quit => return Ok(()),
                    Session::Lost(why) => handler.on_close(&why),
                }
                if opened.elapsed() >= STABLE_AFTER {
                    delay = BACKOFF_START;
                }
            }
            Err(err) => handler.on_error(&err),
        }

        // Wait, then try again: twice as long after each failure, up to 30 s, and
        // a random part of it (jitter), so that a hundred clients do not all come
        // back at the same instant when the server restarts.
        loop {
            attempt += 1;
            let wait = delay.mul_f64(0.5 + fastrand::f64() * 0.5);
            delay = (delay * 2).min(BACKOFF_MAX);
            info!("Reconnecting in {:.1} s (attempt {attempt})", wait.as_secs_f64());
            if wait_offline(wait, (&mut keyboard, &mut ctrl_c), &mut outbox).await {
                if !outbox.is_empty() {
                    warn!("Leaving with {} unsent lines", outbox.len());
                }
                return Ok(());
            }
            // What did we miss? Ask over HTTP; this also tells us whether the
            // server is back at all.
            match fetch_history(&addr).await {
                Ok(history) => {
                    catch_up(&mut handler, &mut instance, history);
                    break;
                }
                Err(FetchError::Refused) => {
                    handler.on_error(&format!("{addr} is not answering yet"))
                }
                Err(FetchError::Other(err)) => handler.on_error(&err),
            }
        }
    }
}

/// Shows the messages sent while we were away. A server that restarted has a new
/// `instance` and a history that began again (ids from 1): every message in it is
/// new to us. Comparing ids alone would miss a restart after which the new server
/// already has as many messages as we saw; ids going back is the sign we keep for a
/// server that sends no instance.
fn catch_up(handler: &mut Printer, instance: &mut Option<String>, history: History) {
    let newest = history.chats.last().map_or(0, |chat| chat.id);
    let new_instance = history.instance.is_some() && history.instance != *instance;
    if new_instance || newest < handler.last_id {
        println!("* the server restarted: its history starts again");
        handler.last_id = 0;
    }
    *instance = history.instance;
    let missed = history.chats.iter().filter(|chat| chat.id > handler.last_id).count();
    if missed > 0 {
        println!("* {missed} messages while you were away:");
    }
    history.chats.iter().for_each(|chat| handler.show_chat(chat));
}

/// One connection: sends what was typed (and what waited in `outbox`), hands what
/// arrives to the handler, and pings the server, until the connection ends.
async fn session(
    mut ws: Socket,
    handler: &mut impl Handler,
    (keyboard, ctrl_c): Keyboard<'_>,
    outbox: &mut VecDeque<String>,
    heartbeat: Duration,
) -> Session {
    // Lines typed while we were away go first, in order.
    while let Some(line) = outbox.pop_front() {
        if let Err(err) = ws.send(Message::text(to_json(&line))).await {
            outbox.push_front(line);
            return Session::Lost(format!("sending failed: {err}"));
        }
    }
    // The heartbeat: a Ping every interval. Any frame from the server (a Pong, a
    // message) shows it is alive; two intervals of silence mean it is not, even if
    // TCP has not noticed (a server frozen, a network gone quiet).
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            () = &mut *ctrl_c => {
                info!("Ctrl-C: closing the connection with 1001 (going away)");
                return goodbye(&mut ws, handler, CloseCode::Away, "Ctrl-C").await;
            }
            line = keyboard.recv() => match line {
                // End of input (Ctrl-D, or the end of a pipe) or /quit: leave well.
                None => return goodbye(&mut ws, handler, CloseCode::Normal, "bye").await,
                Some(line) if line.trim() == "/quit" => return goodbye(&mut ws, handler, CloseCode::Normal, "bye").await,
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    if let Err(err) = ws.send(Message::text(to_json(&line))).await {
                        outbox.push_back(line);
                        return Session::Lost(format!("sending failed: {err}"));
                    }
                }
            },
            message = ws.next() => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMessage>(&text) {
                        Ok(message) => handler.on_message(message),
                        Err(err) => handler.on_error(&format!("a message we do not understand ({err}): {text}")),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite has queued our answering Close; send it on its way.
                        let _ = ws.flush().await;
                        let why = frame.map_or_else(|| "no code".to_string(), |f| format!("{} {:?}", f.code, f.reason.as_str()));
                        return Session::Lost(format!("the server closed the connection: {why}"));
                    }
                    // tungstenite answers Pings for us; a Pong is the answer to ours.
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Session::Lost(format!("the connection broke: {err}")),
                    None => return Session::Lost("the connection ended without a close frame".to_string()),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > 2 * heartbeat {
                    return Session::Lost(format!("no answer to pings for {:.1} s", last_heard.elapsed().as_secs_f64()));
                }
                if let Err(err) = ws.send(Message::Ping(Default::default())).await {
                    return Session::Lost(format!("the connection broke: {err}"));
                }
            }
        }
    }
}

/// A typed line as a message for lesson 07's server: `/name NEW` renames, anything
/// else is said in the chat. serde_json writes the quotes and escapes.
fn to_json(line: &str) -> String {
    let message = match line.strip_prefix("/name ") {
        Some(name) => serde_json::json!({ "type": "rename", "name": name.trim() }),
        None => serde_json::json!({ "type": "chat", "text": line }),
    };
    message.to_string()
}

/// The close handshake, as in lesson 06: our Close, then the server's, showing the
/// messages that arrive before it (the answers to the last lines we sent).
async fn goodbye(
    ws: &mut Socket,
    handler: &mut impl Handler,
    code: CloseCode,
    reason: &str,
) -> Session {
    let frame = CloseFrame { code, reason: reason.into() };
    if ws.close(Some(frame)).await.is_ok() {
        let last_words = async {
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Text(text) = message
                    && let Ok(message) = serde_json::from_str::<ServerMessage>(&text)
                {
                    handler.on_message(message);
                }
            }
        };
        let _ = tokio::time::timeout(TIMEOUT, last_words).await;
    }
    info!("Closed");
    Session::Quit
}

/// Waits `wait` while disconnected, still reading the keyboard: lines are kept to
/// send later (up to QUEUE_LIMIT; after that they are refused, with a notice).
/// Returns true if the user wants to leave.
async fn wait_offline(
    wait: Duration,
    (keyboard, ctrl_c): Keyboard<'_>,
    outbox: &mut VecDeque<String>,
) -> bool {
    let mut sleep = pin!(tokio::time::sleep(wait));
    loop {
        tokio::select! {
            () = &mut sleep => return false,
            // Not connected: nobody to say goodbye to.
            () = &mut *ctrl_c => return true,
            line = keyboard.recv() => match line {
                None => return true,
                Some(line) if line.trim() == "/quit" => return true,
                Some(line) if line.trim().is_empty() => {}
                Some(line) if outbox.len() < QUEUE_LIMIT => {
                    outbox.push_back(line);
                    info!("Not connected: {} lines will be sent once we are back", outbox.len());
                }
                Some(_) => warn!("Not connected, and {QUEUE_LIMIT} lines are already waiting: this one is dropped"),
            },
        }
    }
}

/// Opens the WebSocket, with a deadline. Every failure here is worth retrying.
async fn connect(url: &str) -> Result<Socket, Error> {
    match tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(WsError::Http(response))) => {
            Err(format!("{url} answered {}, not 101", response.status()))
        }
        Ok(Err(err)) => Err(format!("could not connect to {url}: {err}")),
        Err(_) => Err(format!("could not connect to {url} within {} s", TIMEOUT.as_secs())),
    }
}

/// The lines typed on the keyboard (or piped in), as a channel that `select!` can
/// wait on. Reading the terminal blocks, and a blocking read cannot be cancelled, so
/// it gets a thread of its own instead of a task: tokio's own `stdin` would keep the
/// program from exiting until you pressed Enter.
fn keyboard_lines() -> mpsc::Receiver<String> {
    let (lines, receiver) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            // `blocking_send` waits while the channel is full: if the network is
            // slower than the typing, the keyboard waits, not our memory.
            if lines.blocking_send(line).is_err() {
                break;
            }
        }
        // Dropping `lines` here closes the channel: `recv` then returns `None`.
    });
    receiver
}

/// Starts listening for Ctrl-C now, so that one pressed early is not missed, and
/// returns a future that completes when it comes. Without a handler of our own,
/// Ctrl-C ends the program at once, and the server never hears a Close.
fn ctrl_c() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match interrupt {
                Ok(mut interrupt) => {
                    interrupt.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
