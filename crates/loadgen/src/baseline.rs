//! The baselines: the least a server on the same stack can do, with no routing, no
//! logging, no names, no limits. A lesson's figure means something beside these,
//! measured in the same run on the same machine.

use std::convert::Infallible;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// Which baseline server to run.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Baseline {
    /// hyper's hello world: every request gets "Hello, World!".
    Http,
    /// tokio-tungstenite's echo loop: every message comes back as it is.
    Echo,
    /// A broadcast loop: every text message goes to every client (sender included).
    Broadcast,
}

pub async fn serve(baseline: Baseline, addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let scheme = if matches!(baseline, Baseline::Http) { "http" } else { "ws" };
    println!("Listening on {scheme}://{}", listener.local_addr()?);
    let (room, _) = broadcast::channel::<Message>(256);
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
