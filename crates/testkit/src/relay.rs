//! A recording relay: it passes every byte between a client and a server on, and
//! keeps a copy of each direction, so that a test can show what travels on the wire.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// What went each way: `.0` from the client, `.1` from the server.
pub type Record = Arc<Mutex<(Vec<u8>, Vec<u8>)>>;

/// Listens on a free port of 127.0.0.1 for one client and relays it to `upstream`.
/// Returns the relay's address (give it to the client) and the record.
pub fn recording(upstream: &str) -> (String, Record) {
    let relay = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = relay.local_addr().expect("an address").to_string();
    let upstream = upstream.to_string();
    let record: Record = Arc::default();
    let copy = Arc::clone(&record);
    thread::spawn(move || {
        let (client, _) = relay.accept().expect("the client");
        relay_one(client, &upstream, &copy);
    });
    (addr, record)
}

/// What went each way on each connection, in the order they came.
pub type Records = Arc<Mutex<Vec<Record>>>;

/// [`recording`] for a client that opens several connections (lesson 08's: one for
/// the history over HTTP, one for the WebSocket, perhaps one more to catch up),
/// each relayed and recorded on its own.
pub fn recording_each(upstream: &str) -> (String, Records) {
    let relay = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = relay.local_addr().expect("an address").to_string();
    let upstream = upstream.to_string();
    let records: Records = Arc::default();
    let all = Arc::clone(&records);
    thread::spawn(move || {
        for client in relay.incoming().flatten() {
            let record: Record = Arc::default();
            all.lock().expect("the records").push(Arc::clone(&record));
            let upstream = upstream.clone();
            thread::spawn(move || relay_one(client, &upstream, &record));
        }
    });
    (addr, records)
}

/// Relays `client` to a new connection to `upstream` until both sides are done,
/// keeping what went each way in `record`.
fn relay_one(client: TcpStream, upstream: &str, record: &Record) {
    let server = TcpStream::connect(upstream).expect("the server");
    let up = pass(client.try_clone().expect("clone"), server.try_clone().expect("clone"), {
        let copy = Arc::clone(record);
        move |bytes| copy.lock().expect("the record").0.extend_from_slice(bytes)
    });
    let copy = Arc::clone(record);
    let down = pass(server, client, move |bytes| {
        copy.lock().expect("the record").1.extend_from_slice(bytes);
    });
    let _ = (up.join(), down.join());
}

/// Copies `from` to `to`, showing each chunk to `keep`, until `from` ends.
fn pass(
    mut from: TcpStream,
    mut to: TcpStream,
    keep: impl Fn(&[u8]) + Send + 'static,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            let n = match from.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                // A signal to this process, not the end of the stream.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            keep(&chunk[..n]);
            if to.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    })
}
