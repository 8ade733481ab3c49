//! Reading `--addr`: one set of rules for every lesson, so that each client accepts
//! exactly what its server prints, and a mistake gets one clear line.
//!
//! Accepted, by every program:
//!
//! - `127.0.0.1:5000`, `[::1]:5000`: an IP address and a port;
//! - `localhost:5000`: this computer;
//! - `:5000`: a port on this computer (`127.0.0.1`);
//! - a URL of a scheme the program speaks, such as `http://127.0.0.1:5000/` or
//!   `ws://127.0.0.1:5001/`: what the servers print on their `Listening on` line;
//!   lesson 08's client also takes `wss://` and `https://`: the same with TLS. A URL
//!   without a port means 80 (or, with TLS, 443).
//!
//! A client also takes a host name, `echo.example.org:443` or
//! `wss://echo.example.org/`: it looks the name up when it connects (`connect.rs`),
//! and a public server's certificate names it. A server listens only on an IP
//! address, or `localhost` (127.0.0.1): a name could mean another machine.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where a server listens or a client connects, read from `--addr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// The host: an IP address, or (for a client) a name to look up.
    pub host: Host,
    pub port: u16,
    /// The path of a URL (`/ws` in `ws://127.0.0.1:5003/ws`), if one was given.
    pub path: Option<String>,
    /// Whether the URL asked for TLS (`wss://`, `https://`).
    pub tls: bool,
}

/// A host as `--addr` gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    /// A name, such as `localhost` or `echo.example.org`, looked up when a client
    /// connects. Servers never have one.
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(name) => name.fmt(f),
        }
    }
}

impl Address {
    /// The IP address and port, if the host is an IP address, as every server's is.
    pub fn socket(&self) -> Option<SocketAddr> {
        match &self.host {
            Host::Ip(ip) => Some(SocketAddr::new(*ip, self.port)),
            Host::Name(_) => None,
        }
    }

    /// The path given in the URL, or `default` if there was none.
    pub fn path_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.path.as_deref().unwrap_or(default)
    }

    /// The WebSocket URL of this address: `ws://` or, with TLS, `wss://`.
    pub fn ws_url(&self, default_path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.authority(), self.path_or(default_path))
    }

    /// What to say when nothing listens at this address: for this computer, which
    /// lesson server to start (`own`, the client's own lesson's, unless the URL is
    /// lesson 07's: `/ws`, or TLS, which only lesson 07 speaks with `--tls`).
    pub fn refused_hint(&self, own: &str) -> String {
        let here = match &self.host {
            Host::Ip(ip) => ip.is_loopback() || ip.is_unspecified(),
            Host::Name(name) => name == "localhost",
        };
        let server = if self.tls {
            "http_ws_server -- --tls"
        } else if self.path.as_deref() == Some("/ws") {
            "http_ws_server"
        } else {
            own
        };
        if here {
            format!("is the server running? Start it with `cargo run -p {server}`")
        } else {
            "nothing listens there (connection refused)".to_string()
        }
    }

    /// `host:port` as a URL writes it: the port left out when it is the scheme's
    /// default (80, or 443 with TLS), as browsers and `Host` headers do.
    pub fn authority(&self) -> String {
        let default_port = if self.tls { 443 } else { 80 };
        match (&self.host, self.port == default_port) {
            (Host::Ip(IpAddr::V6(ip)), true) => format!("[{ip}]"),
            (host, true) => host.to_string(),
            (_, false) => self.to_string(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.socket() {
            Some(socket) => socket.fmt(f),
            None => write!(f, "{}:{}", self.host, self.port),
        }
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

/// For a plain WebSocket client's `--addr` (lessons 04 and 06): `HOST:PORT`, or a
/// `ws://` URL. TLS (`wss://`) is lesson 08's client's.
pub fn ws_address(input: &str) -> Result<Address, String> {
    parse(input, &["ws"], false)
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
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let host = match (host, bare.parse::<IpAddr>()) {
        ("", _) => Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        (_, Ok(IpAddr::V6(_))) if !host.starts_with('[') => {
            return Err(format!("write an IPv6 address in brackets, such as [::1]:{port}"));
        }
        (_, Ok(ip)) => Host::Ip(ip),
        // A server listens on this computer's addresses, never on a name.
        ("localhost", Err(_)) if server => Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        (_, Err(_)) if server => {
            return Err(format!(
                "`{host}` is not an IP address: listen on 127.0.0.1 (this computer), [::1], \
                 localhost, or 0.0.0.0 (every network this computer is on)"
            ));
        }
        (_, Err(_)) => Host::Name(name(host)?),
    };
    Ok(Address { host, port, path, tls })
}

/// A host name as DNS writes it: letters, digits, `-` and `.`, such as
/// `echo.example.org`; anything else is a typo, said before anything is looked up.
fn name(host: &str) -> Result<String, String> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    // A last part of digits only (`1.2.3`, `300.1.1.1`) is a mistyped IP address.
    let numeric = trimmed.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if trimmed.len() <= 253 && trimmed.split('.').all(label_ok) && !numeric {
        Ok(trimmed.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{host}` is neither an IP address nor a host name (letters, digits, - and ., such \
             as echo.example.org)"
        ))
    }
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
            "wss" if schemes == ["ws"] => {
                " (TLS is lesson 08's: `cargo run -p ws_reconnect_client -- --addr wss://...`)"
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
        (address.to_string(), address.path)
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
        let wss = http_or_ws_address("wss://127.0.0.1:5003/ws").expect("a wss URL");
        assert!(wss.tls);
        assert_eq!(wss.ws_url("/"), "wss://127.0.0.1:5003/ws");
        assert_eq!(http_or_ws_address("wss://127.0.0.1/").expect("a wss URL").port, 443);
        // Lessons 04 and 06 speak plain ws:// only, and say where TLS is.
        let plain_only = ws_address("wss://127.0.0.1:5003/ws").expect_err("no TLS");
        assert!(plain_only.contains("lesson 08"), "{plain_only}");
        assert!(http_or_ws_address("https://127.0.0.1:5003/").expect("https").tls);
        assert!(!ws_address("ws://127.0.0.1:5003/ws").expect("ws").tls);
        assert_eq!(ws_address(":5001").expect("a port").ws_url("/"), "ws://127.0.0.1:5001/");
    }

    #[test]
    fn short_forms() {
        assert_eq!(ok(":5406", ws_address).0, "127.0.0.1:5406");
        assert_eq!(ok("localhost:5406", http_address).0, "localhost:5406");
        assert_eq!(ok("localhost:5406", server_address).0, "127.0.0.1:5406");
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
        assert!(err("example.com:80", server_address).contains("not an IP address"));
        assert!(err("ex ample.com:80", http_address).contains("neither an IP address nor"));
        assert!(err("1.2.3:80", http_address).contains("neither an IP address nor"));
        assert!(err("300.1.1.1:80", http_address).contains("neither an IP address nor"));
        assert!(err("-a.org:80", http_address).contains("neither an IP address nor"));
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
    fn a_client_takes_host_names() {
        let wss = http_or_ws_address("wss://Echo.Example.org/").expect("a name");
        assert_eq!(wss.host, Host::Name("echo.example.org".to_string()));
        assert_eq!((wss.port, wss.tls), (443, true));
        assert_eq!(wss.ws_url("/"), "wss://echo.example.org/");
        assert_eq!(wss.to_string(), "echo.example.org:443");
        assert_eq!(ok("ws://localhost:5001/", ws_address).0, "localhost:5001");
        assert_eq!(ok("http://localhost:5000", http_address).0, "localhost:5000");
        assert_eq!(ok("ws://echo.example.org/", ws_address).0, "echo.example.org:80");
        assert_eq!(ok("echo.example.org.:443", ws_address).0, "echo.example.org:443");
        assert!(ws_address("5050").is_err(), "a bare number is still no address");
    }

    #[test]
    fn the_hint_names_the_server_for_that_kind_of_url() {
        let hint = |input: &str| {
            http_or_ws_address(input).expect("an address").refused_hint("ws_echo_server")
        };
        assert!(hint("ws://127.0.0.1:5001/").ends_with("`cargo run -p ws_echo_server`"));
        assert!(hint("ws://localhost:5003/ws").ends_with("`cargo run -p http_ws_server`"));
        assert!(
            hint("wss://localhost:5003/ws").ends_with("`cargo run -p http_ws_server -- --tls`")
        );
        assert_eq!(hint("ws://echo.example.org/"), "nothing listens there (connection refused)");
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
