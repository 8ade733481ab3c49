//! The baselines: the least a server on the same stack can do, with no routing, no
//! logging, no names, no limits. A lesson's figure means something beside these,
//! measured in the same run on the same machine.

use std::convert::Infallible;
use std::sync::Arc;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, broadcast};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// Which baseline server to run.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Baseline {
    /// hyper's hello world: every request gets "Hello, World!".
    Http,
    /// tokio-tungstenite's echo loop: every message comes back as it is.
    Echo,
    /// A broadcast loop: every text message goes to every client (sender included).
    Broadcast,
    /// The common tutorial chat server: every text message is sent to each client in
    /// turn, waiting for each send. Here only to show what one stuck client does.
    Sequential,
}

#[allow(clippy::too_many_lines, reason = "not split yet: see issue 9's closing note")]
pub(crate) async fn serve(baseline: Baseline, addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let scheme = if matches!(baseline, Baseline::Http) { "http" } else { "ws" };
    println!("Listening on {scheme}://{}", listener.local_addr()?);
    let (room, _) = broadcast::channel::<Message>(256);
    let clients: Arc<Mutex<Vec<Sink>>> = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        match baseline {
            Baseline::Http => {
                tokio::spawn(async move {
                    let hello = service_fn(|_req| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                            b"Hello, World!",
                        ))))
                    });
                    let _ =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), hello).await;
                });
            }
            Baseline::Echo => {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                    while let Some(Ok(message)) = ws.next().await {
                        if (message.is_text() || message.is_binary())
                            && ws.send(message).await.is_err()
                        {
                            break;
                        }
                    }
                });
            }
            Baseline::Sequential => {
                let clients = Arc::clone(&clients);
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
                    let (sink, mut stream) = ws.split();
                    clients.lock().await.push(sink);
                    while let Some(Ok(message)) = stream.next().await {
                        if message.is_text() {
                            // One client at a time, waiting for each: a client that
                            // stops reading stops everyone here.
                            for sink in clients.lock().await.iter_mut() {
                                let _ = sink.send(message.clone()).await;
                            }
                        }
                    }
                });
            }
            Baseline::Broadcast => {
                let (room, mut lines) = (room.clone(), room.subscribe());
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
                    let (mut sink, mut stream) = ws.split();
                    loop {
                        tokio::select! {
                            message = stream.next() => match message {
                                Some(Ok(message @ Message::Text(_))) => { let _ = room.send(message); }
                                Some(Ok(_)) => {}
                                _ => break,
                            },
                            line = lines.recv() => match line {
                                Ok(line) => if sink.send(line).await.is_err() { break },
                                Err(broadcast::error::RecvError::Lagged(_)) => {}
                                Err(broadcast::error::RecvError::Closed) => break,
                            },
                        }
                    }
                });
            }
        }
    }
}
