//! A lesson server started on a free port, and the addresses a test needs: one
//! where nothing listens, the URL a server printed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Program, START_TIMEOUT, bin_path, page, record, temp_folder};

/// A lesson server, started on port 0 and ready: it has printed its address.
pub struct Server {
    pub program: Program,
    /// The address it is listening on, such as `127.0.0.1:39411`.
    pub addr: String,
}

impl Server {
    /// Starts `bin --addr 127.0.0.1:0` and waits for `Listening on <scheme>://ADDR`.
    pub fn start(bin: &Path) -> Server {
        Server::start_with(bin, &["--addr", "127.0.0.1:0"], &[])
    }

    pub fn start_with(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::started(bin, Program::start_with(bin, args, env))
    }

    /// [`Server::start_with`] in the folder `dir`, for a server that writes files
    /// where it runs (lesson 07's certificate, with `--tls`).
    pub fn start_in(bin: &Path, args: &[&str], dir: &Path) -> Server {
        record::record_run(bin, args);
        Server::started(bin, Program::spawn_in(bin, args, dir, true, false))
    }

    /// Waits for a started server's `Listening on` line.
    fn started(bin: &Path, program: Program) -> Server {
        // What this server prints about its address, the page shows about the
        // lesson's default address.
        let server = Server::listening(program);
        if let Some(default) = page::default_address(bin) {
            record::map_address(&server.addr, default);
        }
        server
    }

    /// A server the project did not write (a Python one, say), started as a
    /// [`Program`] that prints `Listening on SCHEME://ADDRESS`: its address stands
    /// for `default` on the pages.
    pub fn from_program(program: Program, default: &str) -> Server {
        let server = Server::listening(program);
        record::map_address(&server.addr, default);
        server
    }

    /// [`Server::from_program`] for a server that says where it listens in words of
    /// its own: `says` comes right before its port (Python's `http.server`: `Serving
    /// HTTP on 127.0.0.1 port `).
    pub fn from_program_serving(mut program: Program, says: &str, default: &str) -> Server {
        let line = program.wait_for_within(says, START_TIMEOUT);
        let after = line.split(says).nth(1).unwrap_or_default();
        let port: String = after.chars().take_while(char::is_ascii_digit).collect();
        let addr = format!("127.0.0.1:{port}");
        record::map_address(&addr, default);
        Server { program, addr }
    }

    fn listening(mut program: Program) -> Server {
        let line = program.wait_for_within("Listening on ", START_TIMEOUT);
        let addr = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ']).next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server { program, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        record::unmap_address(&self.addr);
    }
}

/// Lesson 07 with `--tls`, in a folder of its own.
pub struct TlsServer {
    pub server: Server,
    /// Where it runs: the page's commands, which name its certificate by a relative
    /// path, run here.
    pub folder: PathBuf,
    /// The self-signed certificate it wrote, for the clients' `--ca`.
    pub cert: PathBuf,
}

/// Starts lesson 07 with `--tls` in a fresh folder (it writes its self-signed
/// certificate there, as it does in the student's workspace).
pub fn tls_server(name: &str) -> TlsServer {
    let folder = temp_folder(name);
    let server =
        Server::start_in(&bin_path("http_ws_server"), &["--tls", "--addr", "127.0.0.1:0"], &folder);
    let cert = folder.join("target/tls/http_ws_server.pem");
    TlsServer { server, folder, cert }
}

/// An address where nothing listens, and where nothing else the tests start will
/// listen or connect from: a port below the range the system hands out by itself.
///
/// A port the system handed out (`bind` to port 0) and let go is free only for a
/// moment: the next program to ask for port 0, or any connection the tests open
/// (its own end takes a port from that same range), may get it, and a server then
/// started on it, or started again there after a restart, finds it in use. Below
/// the range only a test that names it can take it, and each is handed out once.
pub fn free_addr() -> String {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let (low, _) = handed_out_by_the_system();
    let below = low.saturating_sub(FIRST_TEST_PORT).max(1);
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Where this process starts looking: another test process (cargo test runs one
    // at a time, other runners more) looks elsewhere.
    let mut n = u16::try_from(std::process::id().wrapping_mul(7919) % 65_536).unwrap_or(0);
    for _ in 0..below {
        n = n.wrapping_add(1);
        let port = FIRST_TEST_PORT + n % below;
        if given.contains(&port) {
            continue;
        }
        // Free now: nothing listens there, and no connection uses it.
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return format!("127.0.0.1:{port}");
        }
    }
    panic!("no free port between {FIRST_TEST_PORT} and {low}")
}

/// The lowest port [`free_addr`] hands out: above the ports lessons and tools use by
/// default (5000-5006, 6379, 8080).
pub(crate) const FIRST_TEST_PORT: u16 = 10_000;

/// The ports the system hands out for port 0 and for a connection's own end
/// (Linux: `/proc/sys/net/ipv4/ip_local_port_range`, 32768-60999 by default).
fn handed_out_by_the_system() -> (u16, u16) {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
    let mut numbers = range.as_deref().unwrap_or("").split_whitespace().map(str::parse::<u16>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(low)), Some(Ok(high))) if low > FIRST_TEST_PORT + 1000 => (low, high),
        _ => (32768, 60999),
    }
}

/// [`free_addr`], standing for `default` in what programs print about it: for a
/// test of a page that shows the lesson's default address (`no server at
/// 127.0.0.1:5000`).
pub fn free_addr_as(default: &str) -> String {
    let addr = free_addr();
    record::map_address(&addr, default);
    addr
}

/// The URL on a server's `Listening on URL` line, exactly as it printed it.
pub fn listening_url(server: &mut Server) -> String {
    let line = server
        .program
        .output()
        .into_iter()
        .find(|line| line.starts_with("Listening on "))
        .expect("the server printed its address");
    line["Listening on ".len()..].split(' ').next().unwrap_or_default().to_string()
}
