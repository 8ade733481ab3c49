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
//! Builds on: lesson 06 (keyboard and socket at once with `select!`, `keyboard.rs`).
//! Adds: the history over HTTP first (`http.rs`), JSON messages and event handlers
//! (`handler.rs`), a heartbeat that notices a dead server, and reconnecting with
//! exponential backoff and jitter.

use std::collections::VecDeque;
use std::pin::pin;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{info, warn};

mod handler;
mod http;
mod keyboard;
use handler::{Printer, ServerMessage};
use http::{FetchError, fetch_history};

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
type CtrlC = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
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
    // One address, two protocols: http://ADDR/api/messages and ws://ADDR/ws.
    let addr = args.addr.to_string();
    let url = format!("ws://{addr}/ws");
    let mut handler = Printer::default();

    // First the history, over HTTP: a question with one answer.
    match fetch_history(&addr).await {
        Ok(history) => handler.on_history(history),
        Err(FetchError::Refused) => {
            return Err(format!(
                "could not connect to {addr}: is the server running? Start it with `cargo run -p http_ws_server`"
            ));
        }
        Err(FetchError::Other(err)) => return Err(err),
    }

    // Ctrl-C closes the connection properly, as in lesson 06.
    let mut ctrl_c: CtrlC = Box::pin(keyboard::ctrl_c());
    let mut keyboard = keyboard::lines();
    let mut outbox: VecDeque<String> = VecDeque::new();
    if !args.message.is_empty() {
        outbox.push_back(args.message.join(" "));
    }
    let mut backoff = Backoff::new();
    loop {
        // Then the stream, over WebSocket, for as long as it lasts.
        let opened = Instant::now();
        match connect(&url).await {
            Ok(ws) => {
                handler.on_open(&url);
                let keys = (&mut keyboard, &mut ctrl_c);
                match session(ws, &mut handler, keys, &mut outbox, args.heartbeat).await {
                    Session::Quit => return Ok(()),
                    Session::Lost(why) => handler.on_close(&why),
                }
                backoff.connected_for(opened.elapsed());
            }
            Err(err) => handler.on_error(&err),
        }
        if !reconnect(&addr, &mut backoff, &mut handler, (&mut keyboard, &mut ctrl_c), &mut outbox)
            .await
        {
            if !outbox.is_empty() {
                warn!("Leaving with {} unsent lines", outbox.len());
            }
            return Ok(());
        }
    }
}

/// Waits, then asks for the history over HTTP (what did we miss? is the server back
/// at all?), again and again until the server answers. Returns false if the user
/// leaves meanwhile.
async fn reconnect(
    addr: &str,
    backoff: &mut Backoff,
    handler: &mut Printer,
    keys: Keyboard<'_>,
    outbox: &mut VecDeque<String>,
) -> bool {
    let (keyboard, ctrl_c) = keys;
    loop {
        let wait = backoff.next_wait(fastrand::f64());
        info!("Reconnecting in {:.1} s (attempt {})", wait.as_secs_f64(), backoff.attempt);
        if wait_offline(wait, (&mut *keyboard, &mut *ctrl_c), outbox).await {
            return false;
        }
        match fetch_history(addr).await {
            Ok(history) => {
                handler.on_history(history);
                return true;
            }
            Err(FetchError::Refused) => handler.on_error(&format!("{addr} is not answering yet")),
            Err(FetchError::Other(err)) => handler.on_error(&err),
        }
    }
}

/// How long to wait before each reconnect: twice as long after each failure, up to
/// BACKOFF_MAX, and a random part of it (jitter), so that a hundred clients do not
/// all come back at the same instant when the server restarts.
struct Backoff {
    delay: Duration,
    /// Attempts since the last connection that opened.
    attempt: u32,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { delay: BACKOFF_START, attempt: 0 }
    }

    /// The next wait: between half and all of the current delay, as `random` (from
    /// 0 to 1) says. The delay then doubles.
    fn next_wait(&mut self, random: f64) -> Duration {
        self.attempt += 1;
        let wait = self.delay.mul_f64(0.5 + random * 0.5);
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        wait
    }

    /// A connection opened and lasted `lasted`. One that lasted STABLE_AFTER was a
    /// success: the next wait starts afresh.
    fn connected_for(&mut self, lasted: Duration) {
        self.attempt = 0;
        if lasted >= STABLE_AFTER {
            self.delay = BACKOFF_START;
        }
    }
}

/// One connection: sends what was typed (and what waited in `outbox`), hands what
/// arrives to the handler, and pings the server, until the connection ends.
async fn session(
    mut ws: Socket,
    handler: &mut Printer,
    (keyboard, ctrl_c): Keyboard<'_>,
    outbox: &mut VecDeque<String>,
    heartbeat: Duration,
) -> Session {
    // Lines typed while we were away go first, in order.
    while let Some(line) = outbox.pop_front() {
        if let Err(lost) = send(&mut ws, line, outbox).await {
            return lost;
        }
    }
    // The heartbeat: a Ping every interval. Any frame from the server (a Pong, a
    // message) shows it is alive; two intervals of silence mean it is not, even if
    // TCP has not noticed (a server frozen, a network gone quiet).
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    let mut last_heard = Instant::now();
    loop {
        let ended = tokio::select! {
            () = &mut *ctrl_c => {
                info!("Ctrl-C: closing the connection with 1001 (going away)");
                return goodbye(&mut ws, handler, CloseCode::Away, "Ctrl-C").await;
            }
            line = keyboard.recv() => match line {
                // End of input (Ctrl-D, or the end of a pipe) or /quit: leave well.
                None => return goodbye(&mut ws, handler, CloseCode::Normal, "bye").await,
                Some(line) if line.trim() == "/quit" => {
                    return goodbye(&mut ws, handler, CloseCode::Normal, "bye").await;
                }
                Some(line) if line.trim().is_empty() => Ok(()),
                Some(line) => send(&mut ws, line, outbox).await,
            },
            message = ws.next() => {
                last_heard = Instant::now();
                received(message, &mut ws, handler).await
            }
            _ = ping.tick() => pulse(&mut ws, last_heard, heartbeat).await,
        };
        if let Err(lost) = ended {
            return lost;
        }
    }
}

/// Sends a typed line; if the connection is gone, the line waits in `outbox`.
async fn send(ws: &mut Socket, line: String, outbox: &mut VecDeque<String>) -> Result<(), Session> {
    if let Err(err) = ws.send(Message::text(to_json(&line))).await {
        outbox.push_front(line);
        return Err(Session::Lost(format!("sending failed: {err}")));
    }
    Ok(())
}

/// What the server sent: a message for the handler, or the end of the connection.
async fn received(
    message: Option<Result<Message, WsError>>,
    ws: &mut Socket,
    handler: &mut Printer,
) -> Result<(), Session> {
    let lost = match message {
        Some(Ok(Message::Text(text))) => {
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(message) => handler.on_message(message),
                Err(err) => {
                    handler.on_error(&format!("a message we do not understand ({err}): {text}"));
                }
            }
            return Ok(());
        }
        Some(Ok(Message::Close(frame))) => {
            // tungstenite has queued our answering Close; send it on its way.
            let _ = ws.flush().await;
            let why = frame.map_or_else(
                || "no code".to_string(),
                |f| format!("{} {:?}", f.code, f.reason.as_str()),
            );
            format!("the server closed the connection: {why}")
        }
        // tungstenite answers Pings for us; a Pong is the answer to ours.
        Some(Ok(_)) => return Ok(()),
        Some(Err(err)) => format!("the connection broke: {err}"),
        None => "the connection ended without a close frame".to_string(),
    };
    Err(Session::Lost(lost))
}

/// The heartbeat's tick: a Ping, unless the server has been silent for two
/// intervals, which means the connection is dead.
async fn pulse(ws: &mut Socket, last_heard: Instant, heartbeat: Duration) -> Result<(), Session> {
    let silent = last_heard.elapsed();
    if silent > 2 * heartbeat {
        return Err(Session::Lost(format!("no answer to pings for {:.1} s", silent.as_secs_f64())));
    }
    ws.send(Message::Ping(Bytes::new()))
        .await
        .map_err(|err| Session::Lost(format!("the connection broke: {err}")))
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
async fn goodbye(ws: &mut Socket, handler: &mut Printer, code: CloseCode, reason: &str) -> Session {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_maximum_with_jitter_of_half() {
        let mut backoff = Backoff::new();
        assert_eq!(backoff.next_wait(1.0), Duration::from_millis(500));
        assert_eq!(backoff.next_wait(0.0), Duration::from_millis(500));
        assert_eq!(backoff.next_wait(1.0), Duration::from_secs(2));
        for _ in 0..10 {
            backoff.next_wait(0.5);
        }
        assert_eq!(backoff.next_wait(1.0), BACKOFF_MAX);
        assert_eq!(backoff.next_wait(0.0), BACKOFF_MAX / 2);
        assert_eq!(backoff.attempt, 15);
    }

    #[test]
    fn a_stable_connection_starts_the_waits_afresh_and_a_short_one_does_not() {
        let mut backoff = Backoff::new();
        backoff.next_wait(1.0);
        backoff.next_wait(1.0);
        backoff.connected_for(Duration::from_secs(1));
        assert_eq!(backoff.attempt, 0);
        assert_eq!(backoff.next_wait(1.0), Duration::from_secs(2));
        backoff.connected_for(STABLE_AFTER);
        assert_eq!(backoff.next_wait(1.0), BACKOFF_START);
    }

    #[test]
    fn typed_lines_become_chat_or_rename_messages() {
        assert_eq!(to_json(r#"say "hi""#), r#"{"text":"say \"hi\"","type":"chat"}"#);
        assert_eq!(to_json("/name  Ann "), r#"{"name":"Ann","type":"rename"}"#);
    }
}
