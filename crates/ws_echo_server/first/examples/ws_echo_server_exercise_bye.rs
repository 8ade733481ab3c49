//! Lesson 03, exercise 5, from the first version: a message `bye` ends the
//! conversation with a Close frame, code 1000 (a normal end) and reason `bye`.
//!
//!     cargo run -p ws_echo_server_first --example ws_echo_server_exercise_bye
//!     websocat ws://127.0.0.1:5001/        (then type hello, then bye)
//!
//! `echo` now sends whatever `answer` makes of each text message. Write `answer`:
//! an echo as before, or for `bye` a `Message::Close` with a `CloseFrame`. Until
//! you do, its `todo!()` panics at the first message, and the connection drops
//! without a Close. Check it with `scripts/exercise ws_echo_server 5`.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// The answer to one text message: `Server received: hello` for `hello`, and a Close
/// (1000, `bye`) for `bye`. tungstenite names the codes: `CloseCode::Normal` is 1000
/// (in `tungstenite::protocol::frame::coding`).
#[allow(clippy::todo, unused_variables)] // the exercise: replace `todo!()` with your code
fn answer(text: &str) -> Message {
    todo!("an echo, or a Close for `bye`")
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .skip_while(|arg| arg != "--addr")
        .nth(1)
        .or(std::env::var("LESSON_ADDR").ok())
        .unwrap_or("127.0.0.1:5001".to_string());
    let listener = TcpListener::bind(&addr).await.unwrap();
    println!("Listening on ws://{}/", listener.local_addr().unwrap());
    loop {
        let (stream, _peer) = listener.accept().await.unwrap();
        tokio::spawn(echo(stream));
    }
}

async fn echo(stream: TcpStream) {
    let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message.unwrap() {
            // After our Close, tungstenite reads the client's Close in answer, and
            // then `next` gives `None`: the loop ends by itself.
            ws.send(answer(&text)).await.unwrap();
        }
    }
}
