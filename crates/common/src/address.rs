//! Reading `--addr`: one set of rules for every lesson, so that each client accepts
//! exactly what its server prints, and a mistake gets one clear line.
//!
//! Accepted, by every program:
//!
//! - `127.0.0.1:5000`, `[::1]:5000`: an IP address and a port;
//! - `localhost:5000`: the same as `127.0.0.1:5000` (looked up by us, not by DNS);
//! - `:5000`: a port on this computer (`127.0.0.1`);
//! - a URL of a scheme the program speaks, such as `http://127.0.0.1:5000/` or
//!   `ws://127.0.0.1:5001/`: what the servers print on their `Listening on` line;
//!   the WebSocket clients also take `wss://` (and lesson 08 `https://`): the same
//!   with TLS, port 443 unless one is given.
//!
//! Host names other than `localhost` are refused rather than looked up: these lessons
//! talk to this computer, and a typo must not send traffic somewhere else.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where a server listens or a client connects, read from `--addr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// The IP address and port.
    pub socket: SocketAddr,
    /// The path of a URL (`/ws` in `ws://127.0.0.1:5003/ws`), if one was given.
    pub path: Option<String>,
    /// Whether the URL asked for TLS (`wss://`, `https://`).
    pub tls: bool,
}

impl Address {
    /// The path given in the URL, or `default` if there was none.
    pub fn path_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.path.as_deref().unwrap_or(default)
    }

    /// The WebSocket URL of this address: `ws://` or, with TLS, `wss://`.
    pub fn ws_url(&self, default_path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.socket, self.path_or(default_path))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.socket.fmt(f)
    }
}

/// For a server's `--addr`: where to listen. Port 0 asks the system for a free port;
/// a URL's path is ignored, so the `ws://.../ws` a server prints is accepted too.
pub fn server_address(input: &str) -> Result<Address, String> {
    parse(input, &["http", "ws"], true)
}

/// For an HTTP client's `--addr`: `HOST:PORT` or an `http://` URL.
pub fn http_address(input: &str) -> Result<Address, String> {
    parse(input, &["http"], false)
}

/// For a WebSocket client's `--addr`: `HOST:PORT`, or a `ws://` or `wss://` URL.
pub fn ws_address(input: &str) -> Result<Address, String> {
    parse(input, &["ws", "wss"], false)
}

/// For a client that speaks both (lesson 08): `HOST:PORT`, or an `http://`,
/// `https://`, `ws://` or `wss://` URL.
pub fn http_or_ws_address(input: &str) -> Result<Address, String> {
    parse(input, &["http", "ws", "https", "wss"], false)
}

/// A number of seconds above zero, such as `15` or `0.5`, for options like
/// `--heartbeat`.
pub fn seconds(input: &str) -> Result<std::time::Duration, String> {
    match input.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s < 1e9 => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err("expected a number of seconds above 0, such as 15 or 0.5".to_string()),
    }
}

fn parse(input: &str, schemes: &[&str], server: bool) -> Result<Address, String> {
    let input = input.trim();
    let example = if schemes[0] == "ws" { "ws://127.0.0.1:5001/" } else { "127.0.0.1:5000" };
    if input.is_empty() {
        return Err(format!("empty: write HOST:PORT, such as {example}"));
    }
    let (authority, path, tls) = match input.split_once("://") {
        Some((scheme, _)) => url_parts(input, scheme, schemes)?,
        None => (input.to_string(), None, false),
    };
    if authority.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "no host: write :{authority} or 127.0.0.1:{authority} for a port on this computer"
        ));
    }
    // The port is after the last colon; an IPv6 address has colons of its own, so it
    // is written in brackets: [::1]:5000.
    let Some((host, port)) = authority.rsplit_once(':') else {
        return Err(format!("no port: write HOST:PORT, such as {example}"));
    };
    let port = match port.parse::<u16>() {
        Ok(0) if !server => {
            return Err("port 0 means 'any free port', which only a server can ask for".to_string());
        }
        Ok(port) => port,
        Err(_) => return Err(format!("`{port}` is not a port: ports go from 1 to 65535")),
    };
    let ip = match host {
        "" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => {
            let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
            bare.parse::<IpAddr>().map_err(|_| {
                format!(
                    "`{host}` is not an IP address: use 127.0.0.1 (this computer), ::1 in brackets \
                     ([::1]:PORT), localhost, or another IP address; host names are not looked up"
                )
            })?
        }
    };
    if let IpAddr::V6(_) = ip
        && !host.starts_with('[')
    {
        return Err(format!("write an IPv6 address in brackets, such as [::1]:{port}"));
    }
    Ok(Address { socket: SocketAddr::new(ip, port), path, tls })
}

/// Splits a URL into its `host:port`, its path, and whether it asks for TLS,
/// checking its scheme.
fn url_parts(
    input: &str,
    scheme: &str,
    schemes: &[&str],
) -> Result<(String, Option<String>, bool), String> {
    let scheme = scheme.to_ascii_lowercase();
    if !schemes.contains(&scheme.as_str()) {
        let wanted: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
        let hint = match scheme.as_str() {
            "http" => " (a WebSocket URL starts with ws://)",
            "ws" => " (an HTTP URL starts with http://)",
            "https" | "wss" if schemes.contains(&"http") && schemes.contains(&"ws") => {
                " (a server takes --tls for that: lesson 07)"
            }
            "https" | "wss" => " (TLS is not supported by this program)",
            _ => "",
        };
        return Err(format!("this program speaks {}, not {scheme}://{hint}", wanted.join(" or ")));
    }
    let uri: http::Uri = input.parse().map_err(|e| format!("not a valid URL: {e}"))?;
    let authority = uri.authority().ok_or_else(|| "no host".to_string())?;
    if authority.as_str().contains('@') {
        return Err("a user name in the address is not supported".to_string());
    }
    // Without a port, a URL means its scheme's default one: 80 for http:// and ws://,
    // 443 for https:// and wss://.
    let tls = scheme == "https" || scheme == "wss";
    let text = authority.as_str();
    let has_port = text.rsplit_once(':').is_some_and(|(_, port)| !port.ends_with(']'));
    let default_port = if tls { 443 } else { 80 };
    let host_port = if has_port { text.to_string() } else { format!("{text}:{default_port}") };
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).filter(|p| !p.is_empty());
    // `http::Uri` says `/` when a URL has no path at all.
    let path = if input.ends_with(authority.as_str()) { None } else { path };
    Ok((host_port, path, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, f: fn(&str) -> Result<Address, String>) -> (String, Option<String>) {
        let address = f(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        (address.socket.to_string(), address.path)
    }

    #[test]
    fn what_the_servers_print_is_accepted() {
        assert_eq!(ok("127.0.0.1:5000", server_address).0, "127.0.0.1:5000");
        assert_eq!(ok("http://127.0.0.1:5000", server_address).0, "127.0.0.1:5000");
        assert_eq!(ok("ws://127.0.0.1:5001", server_address).0, "127.0.0.1:5001");
        assert_eq!(ok("ws://127.0.0.1:5003/ws", server_address).0, "127.0.0.1:5003");
        assert_eq!(ok("127.0.0.1:0", server_address).0, "127.0.0.1:0");
        assert_eq!(ok("0.0.0.0:5000", server_address).0, "0.0.0.0:5000");
        assert_eq!(ok("http://127.0.0.1:5000", http_address), ("127.0.0.1:5000".into(), None));
        assert_eq!(ok("http://127.0.0.1:5000/", http_address).1.as_deref(), Some("/"));
        assert_eq!(ok("ws://127.0.0.1:5001", ws_address), ("127.0.0.1:5001".into(), None));
        assert_eq!(ok("ws://127.0.0.1:5003/ws", ws_address).1.as_deref(), Some("/ws"));
        assert_eq!(ok("http://127.0.0.1:5003/", http_or_ws_address).0, "127.0.0.1:5003");
        assert_eq!(ok("ws://127.0.0.1:5003/ws", http_or_ws_address).0, "127.0.0.1:5003");
    }

    #[test]
    fn tls_urls_for_the_websocket_clients() {
        let wss = ws_address("wss://127.0.0.1:5003/ws").expect("a wss URL");
        assert!(wss.tls);
        assert_eq!(wss.ws_url("/"), "wss://127.0.0.1:5003/ws");
        assert_eq!(ws_address("wss://127.0.0.1/").expect("a wss URL").socket.port(), 443);
        assert!(http_or_ws_address("https://127.0.0.1:5003/").expect("https").tls);
        assert!(!ws_address("ws://127.0.0.1:5003/ws").expect("ws").tls);
        assert_eq!(ws_address(":5001").expect("a port").ws_url("/"), "ws://127.0.0.1:5001/");
    }

    #[test]
    fn short_forms() {
        assert_eq!(ok(":5406", ws_address).0, "127.0.0.1:5406");
        assert_eq!(ok("localhost:5406", http_address).0, "127.0.0.1:5406");
        assert_eq!(ok("[::1]:5406", http_address).0, "[::1]:5406");
        assert_eq!(ok("ws://[::1]:5406/", ws_address).0, "[::1]:5406");
        assert_eq!(ok(" 127.0.0.1:5406 ", ws_address).0, "127.0.0.1:5406");
        assert_eq!(ok("WS://127.0.0.1:5406/", ws_address).0, "127.0.0.1:5406");
    }

    #[test]
    fn mistakes_are_named() {
        let err = |input: &str, f: fn(&str) -> Result<Address, String>| f(input).unwrap_err();
        assert!(err("5406", ws_address).contains("write :5406 or 127.0.0.1:5406"));
        assert!(err("127.0.0.1:99999", ws_address).contains("ports go from 1 to 65535"));
        assert!(err("ws://127.0.0.1:99999/", ws_address).contains("ports go from 1 to 65535"));
        assert!(err("ws://127.0.0.1:5001 /", ws_address).contains("not a valid URL"));
        assert!(err("127.0.0.1", http_address).contains("no port"));
        assert!(err("example.com:80", http_address).contains("not an IP address"));
        assert!(err("ws://example.com/", ws_address).contains("not an IP address"));
        assert!(err("::1:5000", http_address).contains("brackets"));
        assert!(err("127.0.0.1:0", http_address).contains("only a server"));
        assert!(err("http://127.0.0.1:5001/", ws_address).contains("starts with ws://"));
        assert!(err("ws://127.0.0.1:5000/", http_address).contains("starts with http://"));
        assert!(err("wss://127.0.0.1:5001/", http_address).contains("TLS"));
        assert!(err("https://127.0.0.1:5003/", server_address).contains("--tls"));
        assert!(err("ftp://127.0.0.1:21/", server_address).contains("not ftp://"));
        assert!(err("", server_address).contains("empty"));
        assert!(err("http://u@127.0.0.1:5000/", http_address).contains("user name"));
    }

    #[test]
    fn seconds_above_zero() {
        assert_eq!(seconds("15"), Ok(std::time::Duration::from_secs(15)));
        assert_eq!(seconds("0.5"), Ok(std::time::Duration::from_millis(500)));
        for bad in ["0", "-1", "NaN", "inf", "soon", ""] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }
}
