//! HTTP/1.1 by hand over a plain TCP socket, so a test controls every byte it sends
//! and sees every byte it gets back.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::TIMEOUT;

/// A parsed HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The reason phrase after the status code, as the server wrote it (`OK`).
    pub reason: String,
    /// `(lower-case name, value)`, in the order they came.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// Opens a TCP connection whose reads and writes give up after [`TIMEOUT`].
pub fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).expect("set a read timeout");
    stream.set_write_timeout(Some(TIMEOUT)).expect("set a write timeout");
    stream
}

/// Sends a `GET` for `target` on a new connection and reads the response.
pub fn get(addr: &str, target: &str) -> Response {
    request(addr, "GET", target)
}

/// Sends `METHOD target` on a new connection, asking the server to close it after.
pub fn request(addr: &str, method: &str, target: &str) -> Response {
    let mut stream = connect(addr);
    let raw = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(raw.as_bytes()).expect("send the request");
    read_response(&mut stream, method == "HEAD").expect("a response")
}

/// Sends a `POST` of `body` (JSON) to `path` on a new connection.
pub fn post(addr: &str, path: &str, body: &str) -> Response {
    post_with(addr, path, "Content-Type: application/json\r\n", body)
}

/// Sends a `POST` of `body` to `path` with the header lines `headers` (each ending
/// in `\r\n`), on a new connection, and reads the response.
pub fn post_with(addr: &str, path: &str, headers: &str, body: &str) -> Response {
    let mut stream = connect(addr);
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(raw.as_bytes()).expect("send the request");
    read_response(&mut stream, false).expect("a response")
}

/// Reads one response from `stream`. `head_only` is for the answer to a HEAD request,
/// which has a `content-length` but no body. Returns `None` if the server closed the
/// connection before sending anything.
pub fn read_response(stream: &mut TcpStream, head_only: bool) -> Option<Response> {
    // Read the head a byte at a time, so that nothing of a following (pipelined)
    // response is taken by mistake. Slow, but these are tests.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) if head.is_empty() => return None,
            Ok(0) => panic!(
                "connection closed in the middle of a response head: {:?}",
                String::from_utf8_lossy(&head)
            ),
            Ok(_) => head.push(byte[0]),
            // A signal to this process, not the server's doing: read again.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset && head.is_empty() => return None,
            Err(e) => panic!("reading a response: {e}"),
        }
    }
    let mut parsed = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut parsed);
    let complete = response.parse(&head).unwrap_or_else(|e| {
        panic!("not an HTTP response head ({e}): {:?}", String::from_utf8_lossy(&head))
    });
    assert!(complete.is_complete(), "a whole head");
    let status = response.code.expect("a status code");
    let reason = response.reason.unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value).expect("a UTF-8 header value");
            (h.name.to_ascii_lowercase(), value.to_string())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("a numeric content-length"));
    let mut body = vec![0u8; if head_only { 0 } else { length }];
    stream.read_exact(&mut body).expect("read the body");
    Some(Response { status, reason, headers, body: String::from_utf8(body).expect("a UTF-8 body") })
}

/// Reads until the server closes the connection (or the read timeout fires, which
/// fails the test). Returns whatever arrived before the close.
pub fn read_to_close(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(within)).expect("set a read timeout");
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            // A signal to this process, not the server's doing: read again.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("the server did not close the connection within {within:?}: {e}"),
        }
    }
}

/// What `curl` prints for `command` (a `curl ...` line from a lesson page), got by
/// sending the same request over a raw socket to `addr`, so the tests need no curl.
/// Understands `-i` (show the head), `-I` (HEAD), `-X METHOD`, `-H 'Name: value'`,
/// `-d 'data'` (POST, as a form), `--json 'data'` (POST, as JSON), `-s`, `-N`, and one URL. Returns the lines and the connection, still open.
pub fn curl(addr: &str, command: &str) -> (Vec<String>, TcpStream) {
    let mut method = "GET".to_string();
    let (mut show_head, mut url, mut headers, mut body) = (false, None, String::new(), None);
    let mut content_type = "application/x-www-form-urlencoded";
    let words = shlex::split(command).expect("a command line a shell can split");
    let mut words = words.iter().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "-i" => show_head = true,
            "-I" => (show_head, method) = (true, "HEAD".to_string()),
            "-s" | "-N" => {}
            "-X" => method.clone_from(words.next().expect("a method after -X")),
            "-d" => {
                method = "POST".to_string();
                body = Some(words.next().expect("data after -d").clone());
            }
            "--json" => {
                method = "POST".to_string();
                body = Some(words.next().expect("data after --json").clone());
                content_type = "application/json";
            }
            "-H" => {
                headers.push_str(words.next().expect("a header after -H"));
                headers.push_str("\r\n");
            }
            other if other.starts_with("http://") => url = Some(other.to_string()),
            other => panic!("the test's curl does not know {other:?}"),
        }
    }
    let url = url.expect("a URL in the curl command");
    let rest = &url["http://".len()..];
    let target = rest.find('/').map_or("/", |at| &rest[at..]);

    let mut stream = connect(addr);
    if let Some(body) = &body {
        // What curl sends with -d, or --json.
        headers.push_str(&format!("Content-Type: {content_type}\r\n"));
        headers.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: curl\r\nAccept: */*\r\n{headers}\r\n{}",
        body.unwrap_or_default()
    );
    stream.write_all(raw.as_bytes()).expect("send the request");
    let response = read_response(&mut stream, method == "HEAD").expect("a response");
    let mut lines = Vec::new();
    if show_head {
        lines.push(format!("HTTP/1.1 {} {}", response.status, response.reason));
        for (name, value) in &response.headers {
            lines.push(format!("{name}: {value}"));
        }
        lines.push(String::new());
    }
    lines.extend(response.body.lines().map(str::to_string));
    (lines, stream)
}
