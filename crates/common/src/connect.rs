//! How every client opens its TCP connection: a host name is looked up first (in the
//! hosts file or DNS), and each address it has is tried in turn, as browsers do. A
//! name may have an IPv6 address and an IPv4 one (`localhost` often has `::1` and
//! `127.0.0.1`), and a server may listen on only one of them. Lesson 02's page
//! explains it.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tracing::{debug, info};

use crate::{Address, Host};

/// Opens a TCP connection to `addr`. A name that cannot be looked up is an error of
/// kind `NotFound` whose text names it and says what the resolver answered; when no
/// address answers, the error is the last address's (`ConnectionRefused`, say).
pub async fn connect(addr: &Address) -> io::Result<TcpStream> {
    let name = match &addr.host {
        Host::Ip(ip) => return TcpStream::connect(SocketAddr::new(*ip, addr.port)).await,
        Host::Name(name) => name,
    };
    let found = tokio::net::lookup_host((name.as_str(), addr.port)).await;
    let candidates: Vec<SocketAddr> = found.map_err(|err| not_found(name, &err))?.collect();
    let total = candidates.len();
    let (stream, n) = first_that_answers(&candidates).await.map_err(|err| match err {
        None => not_found(name, &"it has no address"),
        Some(err) => err,
    })?;
    info!("{name}: connected to {} (address {n} of {total})", stream.peer_addr()?);
    Ok(stream)
}

/// Tries each address in turn, and returns the first connection made with its place
/// in the list (from 1); if none answers, the last error (`None` for no addresses).
async fn first_that_answers(
    candidates: &[SocketAddr],
) -> Result<(TcpStream, usize), Option<io::Error>> {
    let mut last = None;
    for (n, candidate) in candidates.iter().enumerate() {
        match TcpStream::connect(candidate).await {
            Ok(stream) => return Ok((stream, n + 1)),
            Err(err) => {
                debug!("{candidate}: {err}; trying the next address");
                last = Some(err);
            }
        }
    }
    Err(last)
}

fn not_found(name: &str, why: &dyn std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("cannot find the host {name}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_next_address_is_tried_when_one_refuses() {
        // A port nobody listens on (taken, then given back), then a listener.
        let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let (stream, n) = first_that_answers(&[refused, good]).await.unwrap();
        assert_eq!((stream.peer_addr().unwrap(), n), (good, 2));
        let err = first_that_answers(&[refused]).await.unwrap_err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(first_that_answers(&[]).await.unwrap_err().is_none());
    }

    #[test]
    fn a_name_not_found_says_which_and_why() {
        let err = not_found("echo.example.org", &"Name or service not known");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            "cannot find the host echo.example.org: Name or service not known"
        );
    }
}
