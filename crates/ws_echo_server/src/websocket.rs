//! The WebSocket plumbing: the limits, what a client's frame means, sending with a
//! deadline, and closing with a code. Lesson 03's page explains it; every later
//! WebSocket server lesson (05, 07, 09) carries this file, unchanged.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tracing::{debug, info};

/// The largest message we accept, in bytes. A bigger one closes that connection
/// with 1009 (message too big); tungstenite's default, 64 MiB, would let one client
/// make the server hold 64 MiB.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// A client whose connection takes nothing for this long (it stopped reading, or
/// the network is gone) is dropped, so it cannot hold its place for ever.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a close handshake may take before we hang up anyway: a client that
/// stopped reading would keep us waiting for ever.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Each connection's limits and buffers. tungstenite's default buffers (128 KiB to
/// read, 128 KiB to write) suit a few fast connections, not thousands of idle ones.
pub(crate) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// What the client's latest frame asks of us.
pub(crate) enum Heard {
    Text(Utf8Bytes),
    Binary(Bytes),
    /// A control frame: tungstenite has answered it already (a Ping with a Pong, a
    /// Close with a Close), and it is never passed on as data.
    Nothing,
    /// A bad message: close the connection with this code and reason.
    Bad(CloseCode, &'static str),
    /// The connection is over.
    End(Ended),
}

/// How a WebSocket connection ended.
pub(crate) enum Ended {
    ClosedByClient(Option<CloseFrame>),
    ClosedByUs(CloseCode, &'static str),
    Vanished,
    TooSlow,
}

/// Whether the client has said goodbye: its Close is kept until the stream ends,
/// after our answer.
pub(crate) enum ClientClose {
    NotYet,
    /// It has, with this frame: a code and a reason, or none (a Close may be empty).
    Sent(Option<CloseFrame>),
}

/// Reads what the client sent: `next` is what `ws.next()` gave. `client_close`
/// remembers the client's Close, until the stream ends after our answer.
pub(crate) fn hear(
    next: Option<Result<Message, Error>>,
    conn: u64,
    client_close: &mut ClientClose,
) -> Heard {
    match next {
        // `None` is the end of the stream: after a Close, the normal end; without
        // one, the client vanished.
        None | Some(Err(Error::ConnectionClosed)) => {
            match std::mem::replace(client_close, ClientClose::NotYet) {
                ClientClose::Sent(frame) => Heard::End(Ended::ClosedByClient(frame)),
                ClientClose::NotYet => Heard::End(Ended::Vanished),
            }
        }
        Some(Ok(Message::Text(text))) => Heard::Text(text),
        Some(Ok(Message::Binary(bytes))) => Heard::Binary(bytes),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Heard::Nothing,
        Some(Ok(Message::Close(frame))) => {
            // Keep reading: the stream ends once tungstenite has sent our reply.
            *client_close = ClientClose::Sent(frame);
            Heard::Nothing
        }
        // A bad message: tell the client why with the right close code, rather than
        // dropping the connection without a word.
        Some(Err(Error::Capacity(_))) => {
            Heard::Bad(CloseCode::Size, "message too big: the limit is 64 KiB")
        }
        Some(Err(Error::Utf8(_))) => Heard::Bad(CloseCode::Invalid, "text is not valid UTF-8"),
        Some(Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
            Heard::End(Ended::Vanished)
        }
        Some(Err(Error::Protocol(err))) => {
            debug!("conn #{conn} protocol error: {err}");
            Heard::Bad(CloseCode::Protocol, "protocol error")
        }
        Some(Err(err)) => {
            debug!("conn #{conn} read failed: {err}");
            Heard::End(Ended::Vanished)
        }
    }
}

/// Sends one message. A client that stops reading makes this wait, and only this:
/// its own task. After `SEND_TIMEOUT` we give up on it.
pub(crate) async fn send<S>(ws: &mut WebSocketStream<S>, message: Message) -> Result<(), Ended>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // `Box::pin` (here and in `close`): an `async fn`'s future holds everything it
    // waits for, and a connection's task holds the biggest of those for as long as
    // the connection lasts. A wait that happens now and then, with a timer and a
    // message in it, goes on the heap for as long as it lasts, not in every idle
    // connection's task.
    match Box::pin(tokio::time::timeout(SEND_TIMEOUT, ws.send(message))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Ended::Vanished),
        Err(_) => Err(Ended::TooSlow),
    }
}

/// Starts the close handshake with `code`, and waits (briefly) for the client's
/// answering Close.
pub(crate) async fn close<S>(
    ws: &mut WebSocketStream<S>,
    code: CloseCode,
    reason: &'static str,
) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    // A client that stopped reading would keep us waiting for ever: give up in time.
    let _ = Box::pin(tokio::time::timeout(CLOSE_TIMEOUT, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    }))
    .await;
    Ended::ClosedByUs(code, reason)
}

/// Completes once Ctrl-C has been pressed, even if that was before we started to
/// wait (a task may subscribe just after it).
pub(crate) async fn shutting_down(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

impl Ended {
    /// Errors in one place: a peer going away is normal life for a server, so it is
    /// only a line in the log; everything else says what went wrong.
    pub(crate) fn log(&self, conn: u64) {
        match self {
            Ended::ClosedByClient(Some(frame)) => {
                info!(
                    "conn #{conn} closed by the client: {} {:?}",
                    frame.code,
                    frame.reason.as_str()
                );
            }
            Ended::ClosedByClient(None) => {
                info!("conn #{conn} closed by the client, without a code");
            }
            Ended::Vanished => info!("conn #{conn} vanished without a close frame"),
            Ended::ClosedByUs(code, reason) => {
                info!("conn #{conn} closed by us: {code} {reason:?}");
            }
            Ended::TooSlow => {
                info!("conn #{conn} dropped: it took nothing for {} s", SEND_TIMEOUT.as_secs());
            }
        }
    }
}

/// What the log shows of a message: all of a short one, the start of a long one, so
/// that one 64 KiB message does not become a 64 KiB log line.
pub(crate) fn preview(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes)", &text[..end], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_message_is_shown_whole_and_a_long_one_cut() {
        assert_eq!(preview("hi"), "\"hi\"");
        let long = "é".repeat(100);
        assert_eq!(preview(&long), format!("{:?}... (200 bytes)", "é".repeat(60)));
    }

    #[test]
    fn a_close_then_the_end_of_the_stream_is_a_clean_close() {
        let mut client_close = ClientClose::NotYet;
        let frame = CloseFrame { code: CloseCode::Normal, reason: Utf8Bytes::from_static("bye") };
        let close = Some(Ok(Message::Close(Some(frame))));
        assert!(matches!(hear(close, 1, &mut client_close), Heard::Nothing));
        let end = hear(None, 1, &mut client_close);
        assert!(matches!(end, Heard::End(Ended::ClosedByClient(Some(f))) if f.reason == "bye"));
    }

    #[test]
    fn the_end_of_the_stream_without_a_close_is_a_vanished_client() {
        assert!(matches!(hear(None, 1, &mut ClientClose::NotYet), Heard::End(Ended::Vanished)));
    }

    #[test]
    fn bad_messages_get_their_close_codes() {
        let too_big =
            Error::Capacity(tokio_tungstenite::tungstenite::error::CapacityError::MessageTooLong {
                size: 2,
                max_size: 1,
            });
        assert!(matches!(
            hear(Some(Err(too_big)), 1, &mut ClientClose::NotYet),
            Heard::Bad(CloseCode::Size, _)
        ));
        assert!(matches!(
            hear(Some(Err(Error::Utf8(String::new()))), 1, &mut ClientClose::NotYet),
            Heard::Bad(CloseCode::Invalid, _)
        ));
        let masked = Error::Protocol(ProtocolError::UnmaskedFrameFromClient);
        assert!(matches!(
            hear(Some(Err(masked)), 1, &mut ClientClose::NotYet),
            Heard::Bad(CloseCode::Protocol, _)
        ));
    }
}
