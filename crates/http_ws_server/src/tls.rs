//! TLS (`--tls`): what turns `http://` and `ws://` into `https://` and `wss://`. The
//! TLS handshake happens first, on the bare TCP connection; then the same HTTP
//! requests, and the same WebSocket upgrade, travel inside the encrypted tunnel.
//! Nothing else in the server changes. Lesson 09 carries this file, unchanged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tracing::{debug, info};

/// A client that has not finished its TLS handshake by then is dropped, as a slow
/// HTTP head is: a half-sent ClientHello must not hold a connection for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(TIMEOUT_S);
/// The same, in seconds, for the log.
const TIMEOUT_S: u64 = 5;
/// What a plain HTTP request on the TLS port is told.
const PLAIN_ANSWER: &str = "This port speaks TLS: use https:// or wss://, not http:// or ws://\n";
/// The first byte of every TLS connection: a handshake record (RFC 8446 5.1).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// Where `--tls` writes the certificate it makes, for clients to trust (relative to
/// the folder the server runs in: the workspace, with `cargo run`).
const CERT_FILE: &str = concat!("target/tls/", env!("CARGO_PKG_NAME"), ".pem");
/// Its private key, kept beside it so that the next start uses the same pair.
const KEY_FILE: &str = concat!("target/tls/", env!("CARGO_PKG_NAME"), ".key.pem");

/// The command-line options for TLS.
#[derive(clap::Args)]
pub(crate) struct TlsArgs {
    /// Serve https:// and wss://, with a self-signed certificate for localhost,
    /// 127.0.0.1 and ::1, made at the first start and kept in target/tls/ for clients
    /// to trust (delete it there to make a new one).
    #[arg(long)]
    tls: bool,
    /// Serve https:// and wss:// with this certificate chain (PEM), as a real
    /// deployment does (a certificate from an ACME client such as certbot, say).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// The TLS settings, ready to accept connections, and the certificate file a client
/// should trust (for `--tls`).
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    pub(crate) cert_file: Option<PathBuf>,
}

/// The TLS settings the options ask for: `None` without TLS. A problem (a file that
/// cannot be read, a key that does not fit) is one line, for `main` to print.
pub(crate) fn setup(args: &TlsArgs) -> anyhow::Result<Option<Tls>> {
    let made = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => read_certs(cert)
            .and_then(|certs| Ok(Made { certs, key: read_key(key)?, cert_file: None })),
        _ if args.tls => self_signed(),
        _ => return Ok(None),
    };
    made.and_then(config).map(Some)
}

fn config(Made { certs, key, cert_file }: Made) -> anyhow::Result<Tls> {
    // ring does the cryptography: rustls with ring builds in less than half the
    // time it takes with aws-lc-rs, rustls's default (7.6 s against 18.8 s here).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS settings")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not make a pair")?;
    // ALPN: we speak HTTP/1.1 (hyper's http1 server, and the WebSocket upgrade,
    // which is HTTP/1.1 only).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls { acceptor: TlsAcceptor::from(Arc::new(config)), cert_file })
}

/// What the server prints when it starts: where it listens, and how to reach it.
pub(crate) fn print_start(addr: &SocketAddr, tls: Option<&Tls>) {
    let Some(tls) = tls else {
        println!("Listening on http://{addr}");
        println!("Open http://{addr}/ in a browser, or: curl -i http://{addr}/api/messages");
        return;
    };
    println!("Listening on https://{addr}");
    let Some(cert) = &tls.cert_file else {
        println!("Open https://{addr}/ in a browser, or: curl -i https://{addr}/api/messages");
        return;
    };
    println!("Certificate: {}", cert.display());
    println!(
        "Trust it, then open https://{addr}/, or: curl --cacert {} -i https://{addr}/api/messages",
        cert.display()
    );
}

/// A certificate chain and its private key, and where the certificate was written
/// for clients to trust (`--tls`; a deployment's own files say nothing of it).
struct Made {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_file: Option<PathBuf>,
}

/// A certificate for `localhost`, `127.0.0.1` and `::1`, signed by itself (no
/// authority vouches for it: clients must be told to trust it), in `CERT_FILE` so
/// that they can be. Made once and kept, with its key: a certificate made again at
/// every start would have to be trusted again after every restart (a browser's
/// exception, a client's `--ca` file), and a client holding the old one would be
/// refused by the new.
fn self_signed() -> anyhow::Result<Made> {
    let (cert_path, key_path) = (PathBuf::from(CERT_FILE), PathBuf::from(KEY_FILE));
    if cert_path.exists() && key_path.exists() {
        let (certs, key) = (read_certs(&cert_path)?, read_key(&key_path)?);
        return Ok(Made { certs, key, cert_file: Some(cert_path) });
    }
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).context("cannot make a certificate")?;
    let path = PathBuf::from(CERT_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, made.cert.pem()).context(format!("cannot write {CERT_FILE}"))?;
    write_private(&key_path, &made.signing_key.serialize_pem())?;
    let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    Ok(Made { certs: vec![made.cert.der().clone()], key, cert_file: Some(path) })
}

/// Writes a private key where only this user can read it.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| file.write_all(pem.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .with_context(|| format!("cannot read a certificate from {}", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate (PEM, BEGIN CERTIFICATE)", path.display());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("cannot read a private key from {}", path.display()))
}

impl Tls {
    /// The TLS handshake on a new connection, all of it within HANDSHAKE_TIMEOUT. A
    /// client that speaks plain HTTP here gets a plain-HTTP 400 that says so.
    async fn accept(&self, mut stream: TcpStream, conn: u64) -> Option<TlsStream<TcpStream>> {
        let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
        match first_byte(&stream, deadline).await {
            Some(TLS_HANDSHAKE_RECORD) => {}
            Some(_) => {
                // Plain HTTP: answer it in plain HTTP, so that curl or a WebSocket
                // client can say what went wrong, as nginx does.
                info!(
                    "conn #{conn} spoke plain HTTP to the TLS port: told to use https:// or wss://"
                );
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{PLAIN_ANSWER}",
                    PLAIN_ANSWER.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
                return None;
            }
            None => {
                info!("conn #{conn} sent no TLS handshake within {TIMEOUT_S} s: dropped");
                return None;
            }
        }
        let accepted = tokio::time::timeout_at(deadline, self.acceptor.accept(stream)).await;
        match accepted {
            Ok(Ok(tls)) => {
                log_session(conn, tls.get_ref().1);
                Some(tls)
            }
            Ok(Err(err)) => {
                info!("conn #{conn} TLS handshake failed: {err}");
                None
            }
            Err(_) => {
                info!(
                    "conn #{conn} did not finish its TLS handshake within {TIMEOUT_S} s: dropped"
                );
                None
            }
        }
    }
}

/// One line for each TLS connection: what the handshake agreed on.
fn log_session(conn: u64, session: &rustls::ServerConnection) {
    let version = session.protocol_version().map_or("?".to_string(), |v| format!("{v:?}"));
    let suite =
        session.negotiated_cipher_suite().map_or("?".to_string(), |s| format!("{:?}", s.suite()));
    let alpn = session.alpn_protocol().map_or("none".into(), String::from_utf8_lossy);
    info!("conn #{conn} TLS: {version}, {suite}, ALPN {alpn}");
}

/// The first byte the client sent, without taking it (`peek`), or `None` if it
/// hangs up or sends nothing by `deadline`.
async fn first_byte(stream: &TcpStream, deadline: tokio::time::Instant) -> Option<u8> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout_at(deadline, stream.peek(&mut byte)).await {
        Ok(Ok(1)) => Some(byte[0]),
        _ => None,
    }
}

/// Any connection hyper can serve: a plain TCP stream or a TLS one.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A new connection, ready for HTTP: with TLS, after its handshake; without, as it
/// is, unless it starts a TLS handshake (a client told `https://` for a plain
/// server), which gets one line in the log. `None`: the connection is dropped.
pub(crate) async fn start(tls: Option<&Tls>, stream: TcpStream, conn: u64) -> Option<Box<dyn Io>> {
    if let Some(tls) = tls {
        // Boxed: the handshake's state is big and short-lived (see lesson 03's
        // `handshake::accept`); inline, every plain connection's task would carry it.
        return Some(Box::new(Box::pin(tls.accept(stream, conn)).await?));
    }
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    match first_byte(&stream, deadline).await {
        Some(TLS_HANDSHAKE_RECORD) => {
            info!(
                "conn #{conn} sent a TLS handshake to a plain port: dropped (use http:// and ws://, or start the server with --tls)"
            );
            None
        }
        Some(_) => Some(Box::new(stream)),
        // Nothing within the time a request head has (or a hang-up): as hyper's
        // header read timeout would, we let the connection go.
        None => {
            debug!("conn #{conn} sent nothing within {TIMEOUT_S} s: dropped");
            None
        }
    }
}
