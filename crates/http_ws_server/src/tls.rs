//! TLS for lesson 07 (`--tls`): what turns `http://` and `ws://` into `https://` and
//! `wss://`. The TLS handshake happens first, on the bare TCP connection; then the
//! same HTTP requests, and the same WebSocket upgrade, travel inside the encrypted
//! tunnel. Nothing else in the server changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tracing::info;

/// A client that has not finished its TLS handshake by then is dropped, as a slow
/// HTTP head is: a half-sent ClientHello must not hold a connection for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first byte of every TLS connection: a handshake record (RFC 8446 5.1).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// Where `--tls` writes the certificate it makes, for clients to trust.
const CERT_FILE: &str = "target/tls/http_ws_server.pem";

/// Where the certificate and key come from.
pub(crate) enum Source {
    /// `--tls`: a new self-signed certificate for this computer's names.
    SelfSigned,
    /// `--tls-cert FILE --tls-key FILE`: what a real deployment uses, for example a
    /// certificate from an ACME client such as certbot.
    Files { cert: PathBuf, key: PathBuf },
}

/// The TLS settings, ready to accept connections, and the certificate file a client
/// should trust (for `--tls`).
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    pub(crate) cert_file: Option<PathBuf>,
}

/// Makes the server's TLS settings, or says in one line why it cannot.
pub(crate) fn setup(source: &Source) -> Result<Tls, String> {
    let (certs, key, cert_file) = match source {
        Source::SelfSigned => {
            let (certs, key) = self_signed()?;
            (certs, key, Some(PathBuf::from(CERT_FILE)))
        }
        Source::Files { cert, key } => (read_certs(cert)?, read_key(key)?, None),
    };
    // ring does the cryptography: it builds with a C compiler alone, where aws-lc-rs
    // (rustls's default) also wants CMake.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not make a pair: {e}"))?;
    // ALPN: we speak HTTP/1.1 (hyper's http1 server, and the WebSocket upgrade,
    // which is HTTP/1.1 only).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls { acceptor: TlsAcceptor::from(Arc::new(config)), cert_file })
}

/// A certificate for `localhost`, `127.0.0.1` and `::1`, signed by itself, written
/// to `CERT_FILE` so that clients can be told to trust it.
fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    let path = Path::new(CERT_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, made.cert.pem())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    Ok((vec![made.cert.der().clone()], key))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|e| format!("cannot read a certificate from {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate (PEM, BEGIN CERTIFICATE)", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("cannot read a private key from {}: {e}", path.display()))
}

impl Tls {
    /// The TLS handshake on a new connection, with a deadline. A client that speaks
    /// plain HTTP here gets one log line and is dropped: it would not understand a
    /// TLS alert, and it sent no name to answer.
    pub(crate) async fn accept(&self, stream: TcpStream, conn: u64) -> Option<TlsStream<TcpStream>> {
        if let Some(first) = first_byte(&stream).await
            && first != TLS_HANDSHAKE_RECORD
        {
            info!("conn #{conn} spoke plain HTTP to the TLS port: dropped (use https:// or wss://)");
            return None;
        }
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                let (_, session) = tls.get_ref();
                info!(
                    "conn #{conn} TLS: {:?}, {:?}, ALPN {}",
                    session.protocol_version().map_or("?".into(), |v| format!("{v:?}")),
                    session
                        .negotiated_cipher_suite()
                        .map_or("?".into(), |s| format!("{:?}", s.suite())),
                    session
                        .alpn_protocol()
                        .map_or("none".into(), |p| String::from_utf8_lossy(p).into_owned()),
                );
                Some(tls)
            }
            Ok(Err(err)) => {
                info!("conn #{conn} TLS handshake failed: {err}");
                None
            }
            Err(_) => {
                info!("conn #{conn} no TLS handshake within {} s, dropped", HANDSHAKE_TIMEOUT.as_secs());
                None
            }
        }
    }
}

/// The first byte the client sent, without taking it (`peek`), or `None` if it
/// sends nothing within the handshake deadline.
async fn first_byte(stream: &TcpStream) -> Option<u8> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut byte)).await {
        Ok(Ok(1)) => Some(byte[0]),
        _ => None,
    }
}

/// On the plain port: is this connection starting a TLS handshake? A browser or
/// client told `https://` for a plain server sends one; we say so in the log.
pub(crate) async fn looks_like_tls(stream: &TcpStream) -> bool {
    first_byte(stream).await == Some(TLS_HANDSHAKE_RECORD)
}
