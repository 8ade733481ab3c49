//! Lesson 09, first version: a WebSocket chat with Redis in the middle. One idea: each server publishes what its clients say to a Redis channel, and passes
//! on to its clients what it hears there, so two servers make one room.
//!
//!     redis-server --port 6379 --bind 127.0.0.1
//!     cargo run -p http_ws_cluster_first
//!     cargo run -p http_ws_cluster_first -- --addr 127.0.0.1:5005
//!     websocat ws://127.0.0.1:5004/   and   websocat ws://127.0.0.1:5005/
//!
//! It `unwrap`s where the full lesson (`cargo run -p http_ws_cluster`) answers: no
//! Redis, or Redis restarted, ends it. The page shows what else the full lesson adds.

use futures_util::SinkExt;
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// The Redis channel every instance publishes to and listens on.
const CHANNEL: &str = "chat:first";

#[tokio::main]
async fn main() {
    // The address: --addr HOST:PORT, or LESSON_ADDR, or 127.0.0.1:5004, as Python's
    // os.environ.get("LESSON_ADDR", "127.0.0.1:5004") reads it.
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5004".to_string());
    // Redis: LESSON_REDIS, or the one redis-server starts on by default.
    let redis_url = std::env::var("LESSON_REDIS").unwrap_or("redis://127.0.0.1:6379".to_string());
    let redis = redis::Client::open(redis_url).unwrap();
    let listener = TcpListener::bind(&addr).await.unwrap();
    // What Redis passes on goes to every client here, through a broadcast channel.
    let (here, _) = broadcast::channel::<String>(16);
    let mut subscription = redis.get_async_pubsub().await.unwrap();
    subscription.subscribe(CHANNEL).await.unwrap();
    let to_here = here.clone();
    tokio::spawn(async move {
        let mut messages = subscription.into_on_message();
        while let Some(message) = messages.next().await {
            let _ = to_here.send(message.get_payload().unwrap());
        }
    });
    let publisher = redis.get_multiplexed_async_connection().await.unwrap();
    println!("Listening on ws://{}/", listener.local_addr().unwrap());
    for conn in 1.. {
        let (stream, _peer) = listener.accept().await.unwrap();
        let name = format!("guest-{conn}");
        tokio::spawn(chat(stream, name, publisher.clone(), here.subscribe()));
    }
}

/// One client: what it says goes to Redis; what Redis passes on goes to it.
async fn chat(
    stream: TcpStream,
    name: String,
    mut publisher: MultiplexedConnection,
    mut lines: broadcast::Receiver<String>,
) {
    let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    let (mut to_client, mut from_client) = ws.split();
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let line = format!("{name}: {text}");
                    let () = publisher.publish(CHANNEL, line).await.unwrap();
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            line = lines.recv() => match line {
                Ok(line) => to_client.send(Message::text(line)).await.unwrap(),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
