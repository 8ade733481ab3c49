//! Page 05's box on `oneshot`, to run: one task is told a single thing, once, by
//! another. The full lesson's room puts a member out the same way (`put_out`).
//!
//!     cargo run -p ws_chat_server_first --example ws_chat_server_oneshot

use tokio::sync::{mpsc, oneshot};

#[tokio::main]
async fn main() {
    // A member's queue of lines, as in the room, and a oneshot to tell it it is out.
    let (queue, mut lines) = mpsc::channel::<&str>(8);
    let (put_out, mut told) = oneshot::channel::<&str>();
    let member = tokio::spawn(async move {
        loop {
            tokio::select! {
                // Its lines first, then the news: `biased` tries the branches in order.
                biased;
                Some(line) = lines.recv() => println!("member reads: {line}"),
                why = &mut told => {
                    println!("member is told: {}", why.unwrap());
                    return;
                }
            }
        }
    });
    queue.send("hello").await.unwrap();
    queue.send("how are you?").await.unwrap();
    // Once, and no more: `send` takes the sender itself, so it cannot send again.
    put_out.send("put out, too slow").unwrap();
    member.await.unwrap();
}
