//! Dialing a server, with TLS for `wss://` (and `https://`). Lesson 07's page explains
//! TLS from the server's side; here, on the client's, it is one step between the TCP
//! connection and the WebSocket handshake, which then runs inside the encrypted
//! tunnel unchanged. Lessons 04 and 06 speak plain `ws://` only.

use std::io;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, CertificateError, ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Error as WsError;

/// A connection, plain or TLS: the WebSocket handshake does not mind which.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}
pub(crate) type Stream = Box<dyn Io>;

/// Opens a TCP connection to `addr` (looking its name up, if it has one:
/// `common::connect`) and, if it asks for TLS, a TLS session on it. The server's
/// certificate must be for the name or address we dialled, and signed by an
/// authority browsers trust (the webpki-roots list) or be the one in `ca` (a
/// self-signed server's, such as the file lesson 07 prints with `--tls`).
pub(crate) async fn dial(addr: &common::Address, ca: Option<&Path>) -> io::Result<Stream> {
    let stream = common::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    if !addr.tls {
        return Ok(Box::new(stream));
    }
    let connector = TlsConnector::from(Arc::new(config(ca)?));
    // The name the certificate must be for, sent to the server too (SNI: one address
    // may serve many names, each with its own certificate). An IP address is checked
    // against the certificate's IP addresses, and is not sent.
    let name = ServerName::try_from(addr.host.to_string()).map_err(io::Error::other)?;
    match connector.connect(name, stream).await {
        Ok(tls) => Ok(Box::new(tls)),
        // A server that does not speak TLS reads our ClientHello as garbage and hangs
        // up: say so, rather than "connection reset".
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, err))
        }
        Err(err) => Err(err),
    }
}

fn config(ca: Option<&Path>) -> io::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
            .and_then(Iterator::collect)
            .map_err(|e| io::Error::other(format!("cannot read --ca {}: {e}", ca.display())))?;
        for cert in certs {
            roots.add(cert).map_err(|e| io::Error::other(format!("--ca {}: {e}", ca.display())))?;
        }
    }
    // ring does the cryptography, as in lesson 07 (it builds faster than aws-lc-rs).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// What to tell a student about a failed TLS connection, in one line, if `err` is
/// one: the certificate, or a server that does not speak TLS.
pub(crate) fn explain(err: &io::Error) -> Option<String> {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        return Some(
            "the server hung up during the TLS handshake: does it speak TLS? Use ws:// (or \
             start lesson 07 with --tls)"
                .to_string(),
        );
    }
    let tls = err.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match tls {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's certificate is not signed by anyone this client trusts: pass \
             --ca FILE with the server's certificate (lesson 07 prints its path)"
                .to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => format!(
            "the server's certificate is for {}, not for {}: --ca cannot fix a wrong name; \
             connect by a name the certificate has",
            presented.iter().map(|name| unquoted(name)).collect::<Vec<_>>().join(", "),
            name_of(expected)
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            "the server's certificate is not for this name: --ca cannot fix a wrong name; \
             connect by a name the certificate has"
                .to_string()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server's certificate has expired".to_string(),
        // A self-signed certificate with the name of the one in `--ca`, but another
        // key: the server made a new one since that file was copied.
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
            "the server's certificate is not the one in the --ca file (did the server make a \
             new one since?): pass the file the server printed when it started"
                .to_string()
        }
        // openssl's `req -x509` makes a certificate authority's certificate (CA:TRUE)
        // unless told otherwise, and a client takes none as a server's. rustls names
        // this case only inside its `Other` error.
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if format!("{other:?}").contains("CaUsedAsEndEntity") =>
        {
            "the server's certificate is a certificate authority's (CA:TRUE), not a \
             server's: make it with CA:FALSE (page 10's openssl command does)"
                .to_string()
        }
        rustls::Error::InvalidMessage(_) => {
            "the server does not speak TLS on this port: use ws:// (or start lesson 07 with --tls)"
                .to_string()
        }
        other => format!("TLS failed: {other}"),
    })
}

/// A name as the student wrote it: `localhost`, `127.0.0.1`.
fn name_of(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// A name as rustls lists a certificate's names, `DnsName("example.com")`, without
/// its wrapping: `example.com`.
fn unquoted(name: &str) -> &str {
    let inner = name.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')'));
    inner.map_or(name, |inner| inner.trim_matches('"'))
}

/// Whether a plain `ws://` handshake to `addr` failed because the port speaks TLS:
/// it failed in a way a TLS port could cause (`may_be_tls`), and the port answers a
/// TLS hello in TLS (`speaks_tls`).
pub(crate) async fn plain_to_a_tls_port(addr: &common::Address, err: &WsError) -> bool {
    !addr.tls && may_be_tls(err) && speaks_tls(addr).await
}

/// Whether a plain `ws://` handshake failed in a way a TLS port could cause: an
/// answer that is not the 101 (lesson 07 and nginx answer with a 400), one that is
/// not HTTP at all, or a hang-up. Then `speaks_tls` is worth asking.
fn may_be_tls(err: &WsError) -> bool {
    match err {
        WsError::Http(_) | WsError::HttpFormat(_) | WsError::Protocol(_) => true,
        WsError::Io(io) => {
            matches!(io.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof)
        }
        _ => false,
    }
}

/// Whether the server at `addr` speaks TLS: asked when a plain `ws://` (or `http://`)
/// request got something other than the answer it wanted. A TLS server answers a
/// plain request in its own way: lesson 07 and nginx with a 400 that says so, others
/// by hanging up. So we ask it in its own language, on a second connection: we send
/// the first message of a TLS handshake (a ClientHello, made by rustls) and look at
/// the first two bytes of the answer. A TLS server answers with a TLS record: 22 (a
/// handshake) or 21 (an alert), then 3 (the first byte of every TLS version).
pub(crate) async fn speaks_tls(addr: &common::Address) -> bool {
    let probe = async {
        let mut stream = common::connect(addr).await?;
        let name = ServerName::try_from(addr.host.to_string()).map_err(io::Error::other)?;
        let mut hello = Vec::new();
        rustls::ClientConnection::new(Arc::new(config(None)?), name)
            .map_err(io::Error::other)?
            .write_tls(&mut hello)?;
        stream.write_all(&hello).await?;
        let mut first = [0u8; 2];
        stream.read_exact(&mut first).await?;
        io::Result::Ok(matches!(first, [21 | 22, 3]))
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(2), probe).await;
    matches!(answer, Ok(Ok(true)))
}
