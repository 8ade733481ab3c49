//! Who is asking, behind a proxy (page 10). Behind nginx every connection comes
//! from nginx, so the log would show the proxy's address for every client. nginx
//! says who it was asked by in `X-Forwarded-For`, but any client can write that
//! header too. So we believe it only from the proxy's own address
//! (`--trust-proxy`), and from anyone else we ignore it and say so in the log.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use hyper::HeaderMap;
use tracing::warn;

/// The header a proxy adds: the addresses a request passed through, oldest first;
/// each proxy appends the address it was asked by.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// Who sent a request, as the log line shows it.
pub(crate) enum Client {
    /// Straight from this address (or through a proxy we do not trust).
    Direct(SocketAddr),
    /// Through the proxy we trust, for this client: `127.0.0.1 via 127.0.0.2:41376`.
    Forwarded { client: IpAddr, proxy: SocketAddr },
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Direct(peer) => write!(f, "{peer}"),
            Client::Forwarded { client, proxy } => write!(f, "{client} via {proxy}"),
        }
    }
}

/// Who sent the request with `headers` on a connection from `peer`, believing
/// `X-Forwarded-For` only if `peer` is the proxy we trust. A header from anyone
/// else is ignored, with a warning: a client that writes it is trying to pass for
/// another address.
pub(crate) fn client(
    headers: &HeaderMap,
    peer: SocketAddr,
    trusted: Option<IpAddr>,
    conn: u64,
) -> Client {
    let Some(forwarded) = headers.get(FORWARDED_FOR) else {
        return Client::Direct(peer);
    };
    let forwarded = String::from_utf8_lossy(forwarded.as_bytes());
    if trusted != Some(peer.ip()) {
        let why = match trusted {
            Some(proxy) => format!("is not the proxy we trust ({proxy})"),
            None => "this server trusts no proxy (--trust-proxy ADDRESS)".to_string(),
        };
        warn!("conn #{conn} {peer} sent X-Forwarded-For: {forwarded}, but {why}: ignored");
        return Client::Direct(peer);
    }
    // The last address is the one our proxy added: the one it was asked by. Any
    // before it came from the client, and could say anything.
    let last = forwarded.rsplit(',').next().unwrap_or_default().trim();
    match last.parse() {
        Ok(client) => Client::Forwarded { client, proxy: peer },
        Err(_) => {
            warn!("conn #{conn} the proxy sent X-Forwarded-For: {forwarded}, not an address");
            Client::Direct(peer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(FORWARDED_FOR, forwarded.parse().expect("a header value"));
        headers
    }

    #[test]
    fn only_the_trusted_proxy_is_believed_and_only_for_the_address_it_added() {
        let proxy: SocketAddr = "127.0.0.2:41376".parse().unwrap();
        let someone: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let trusted = Some(proxy.ip());
        let from_proxy = client(&headers("127.0.0.1"), proxy, trusted, 1);
        assert_eq!(from_proxy.to_string(), "127.0.0.1 via 127.0.0.2:41376");
        // A client's own header, passed on by the proxy with its address appended.
        let forged_through = client(&headers("203.0.113.9, 127.0.0.1"), proxy, trusted, 1);
        assert_eq!(forged_through.to_string(), "127.0.0.1 via 127.0.0.2:41376");
        // Straight to the server, past the proxy: the header is ignored.
        let forged = client(&headers("203.0.113.9"), someone, trusted, 1);
        assert_eq!(forged.to_string(), "127.0.0.1:50000");
        // Trusting no proxy, nobody's header counts.
        assert_eq!(client(&headers("127.0.0.1"), proxy, None, 1).to_string(), proxy.to_string());
        assert_eq!(client(&HeaderMap::new(), someone, trusted, 1).to_string(), "127.0.0.1:50000");
        assert_eq!(client(&headers("nonsense"), proxy, trusted, 1).to_string(), proxy.to_string());
    }
}
