//! WebSocket by hand over a plain TCP socket (RFC 6455), so a test can send what a
//! well-behaved client never would: unmasked frames, reserved opcodes, bad UTF-8.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use crate::http::{Response, connect, read_response};

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The key from RFC 6455's example, and the accept value it must produce.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// One frame as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The text of a text frame.
    pub fn text(&self) -> &str {
        assert_eq!(self.opcode, TEXT, "expected a text frame, got {self:?}");
        std::str::from_utf8(&self.payload).expect("a text frame holds UTF-8")
    }

    /// The code and reason of a Close frame.
    pub fn close_code(&self) -> (u16, String) {
        assert_eq!(self.opcode, CLOSE, "expected a Close frame, got {self:?}");
        assert!(self.payload.len() >= 2, "a Close frame without a code");
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        (code, String::from_utf8_lossy(&self.payload[2..]).into_owned())
    }
}

/// Opens a connection to `addr` and runs the opening handshake for `path`. Returns
/// the stream and the 101 response.
pub fn open(addr: &str, path: &str) -> (TcpStream, Response) {
    let mut stream = connect(addr);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send the handshake");
    let response = read_response(&mut stream, true).expect("a handshake response");
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("sec-websocket-accept"), Some(ACCEPT));
    (stream, response)
}

/// Writes one frame with FIN set, masked as a client must unless `masked` is false.
pub fn send(stream: &mut TcpStream, opcode: u8, payload: &[u8], masked: bool) {
    stream.write_all(&encode(opcode, payload, masked)).expect("send a frame");
}

/// The bytes of one frame with FIN set.
pub fn encode(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => frame.push(mask_bit | u8::try_from(n).expect("small")),
        n @ 126..=0xFFFF => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&u16::try_from(n).expect("fits").to_be_bytes());
        }
        n => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x12, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        frame.extend_from_slice(payload);
    }
    frame
}

/// Sends a text message.
pub fn send_text(stream: &mut TcpStream, text: &str) {
    send(stream, TEXT, text.as_bytes(), true);
}

/// Reads one frame exactly as it came, Pings included; `None` if the server closed
/// the connection first. Only a test about control frames wants this: every other
/// read goes through [`read`], which answers Pings as a real client does.
pub fn read_frame(stream: &mut TcpStream) -> Option<Frame> {
    match try_read_frame(stream) {
        Ok(frame) => frame,
        Err(e) => panic!("reading a frame: {e}"),
    }
}

/// [`read_frame`], with what went wrong as an error instead of a failed test:
/// `Ok(None)` if the connection ended before a frame began.
fn try_read_frame(stream: &mut TcpStream) -> std::io::Result<Option<Frame>> {
    let mut head = [0u8; 2];
    match stream.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset) => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    assert!(head[1] & 0x80 == 0, "a server must not mask its frames");
    let len = match head[1] & 0x7F {
        126 => {
            let mut n = [0u8; 2];
            stream.read_exact(&mut n)?;
            u64::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            stream.read_exact(&mut n)?;
            u64::from_be_bytes(n)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; usize::try_from(len).expect("fits in memory")];
    stream.read_exact(&mut payload)?;
    Ok(Some(Frame { opcode: head[0] & 0x0F, payload }))
}

/// What [`read_frame_within`] found.
#[derive(Debug)]
pub enum Within {
    Frame(Frame),
    /// The server closed the connection.
    Closed,
    /// Nothing arrived in time.
    Nothing,
}

/// The next frame, if one starts to arrive within `wait`. For a test that must
/// tell "nothing more is coming" from "the connection ended".
pub fn read_frame_within(stream: &mut TcpStream, wait: std::time::Duration) -> Within {
    stream.set_read_timeout(Some(wait)).expect("set a read timeout");
    // A signal that reaches this process ends a timed socket read early with EINTR
    // (SA_RESTART does not restart a read with a timeout): not an answer, so look again.
    let started = loop {
        match stream.peek(&mut [0u8; 1]) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    stream.set_read_timeout(None).expect("clear the read timeout");
    match started {
        Ok(0) => Within::Closed,
        // A server that drops a connection it could not write to (a client that
        // stopped reading) may cut a frame short: that is the connection closing.
        Ok(_) => match try_read_frame(stream) {
            Ok(Some(frame)) => Within::Frame(frame),
            Ok(None) | Err(_) => Within::Closed,
        },
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Within::Nothing
        }
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Within::Closed,
        Err(e) => panic!("reading a frame: {e}"),
    }
}

/// Reads the next data or Close frame, as a real client sees its stream: a Ping is
/// answered with a Pong (the servers' heartbeat drops a peer that never answers),
/// a Pong is skipped. `None` if the server closed the connection first.
///
/// It writes the Pong on `stream`: a test that writes on another handle of the same
/// socket from a second thread uses [`split`] instead, so frames never interleave.
pub fn read(stream: &mut TcpStream) -> Option<Frame> {
    loop {
        let frame = read_frame(stream)?;
        match frame.opcode {
            PING => send(stream, PONG, &frame.payload, true),
            PONG => {}
            _ => return Some(frame),
        }
    }
}

/// Reads frames until a text or binary one (answering Pings); fails on a Close.
pub fn read_data(stream: &mut TcpStream) -> Frame {
    let frame = read(stream).expect("a frame before the connection closed");
    match frame.opcode {
        TEXT | BINARY => frame,
        _ => panic!("expected data, got {frame:?}"),
    }
}

/// Reads until a Close frame arrives (answering Pings) and returns its code and
/// reason.
pub fn read_close(stream: &mut TcpStream) -> (u16, String) {
    loop {
        let frame = read(stream).expect("a Close frame before the connection closed");
        if frame.opcode == CLOSE {
            return frame.close_code();
        }
    }
}

/// The writing half of a connection that one thread writes on while another
/// reads: every frame, the reader's Pongs included, is written whole under one lock.
#[derive(Clone)]
pub struct Writer(Arc<Mutex<TcpStream>>);

impl Writer {
    /// Writes one masked frame with FIN set.
    pub fn send(&self, opcode: u8, payload: &[u8]) {
        self.write_all(&encode(opcode, payload, true));
    }

    /// Sends a text message.
    pub fn send_text(&self, text: &str) {
        self.send(TEXT, text.as_bytes());
    }

    /// Writes bytes already encoded as frames (a burst of several), whole.
    pub fn write_all(&self, bytes: &[u8]) {
        let mut stream = self.0.lock().expect("no writer panicked");
        stream.write_all(bytes).expect("send frames");
    }
}

/// The reading half: [`read`] and [`read_data`], with the Pongs written through
/// the [`Writer`].
pub struct Reader {
    stream: TcpStream,
    answers: Writer,
}

impl Reader {
    /// The next data or Close frame; a Ping is answered, a Pong skipped.
    pub fn read(&mut self) -> Option<Frame> {
        loop {
            let frame = read_frame(&mut self.stream)?;
            match frame.opcode {
                PING => self.answers.send(PONG, &frame.payload),
                PONG => {}
                _ => return Some(frame),
            }
        }
    }

    /// The next text or binary frame; fails on a Close.
    pub fn read_data(&mut self) -> Frame {
        let frame = self.read().expect("a frame before the connection closed");
        assert!(matches!(frame.opcode, TEXT | BINARY), "expected data, got {frame:?}");
        frame
    }
}

/// Splits a connection for two threads: one writes, the other reads and answers.
pub fn split(stream: TcpStream) -> (Writer, Reader) {
    let reading = stream.try_clone().expect("a second handle");
    let writer = Writer(Arc::new(Mutex::new(stream)));
    (writer.clone(), Reader { stream: reading, answers: writer })
}

/// The payload of a Close frame with `code`.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}
