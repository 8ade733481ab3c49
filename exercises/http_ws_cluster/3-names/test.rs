//! Lesson 09, exercise 3 (from the first version): through a real Redis, two
//! instances' first clients are told apart by the port of the instance they are on.

use testkit::redis::Redis;
use testkit::ws;
use testkit::{Server, example_path};

/// Says `text` on `stream` and reads lines until it comes back through Redis (which
/// shows it is in the room); returns that line.
fn say_and_hear(stream: &mut std::net::TcpStream, text: &str) -> String {
    ws::send_text(stream, &format!(r#"{{"type":"chat","text":"{text}"}}"#));
    hear(stream, text)
}

/// Reads lines until one that contains `text`.
fn hear(stream: &mut std::net::TcpStream, text: &str) -> String {
    loop {
        let frame = ws::read(stream).expect("a line: does guest_name still panic at its todo!()?");
        if frame.text().contains(text) {
            return frame.text().to_string();
        }
    }
}

#[test]
fn each_instance_names_its_clients_with_its_port() {
    let Some(redis) = Redis::start("exercise-09-names") else { return };
    let example = example_path("http_ws_cluster_first", "http_ws_cluster_exercise_names");
    let env = [("LESSON_REDIS", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Server::start_with(&example, &["--addr", "127.0.0.1:0"], &env);
    let b = Server::start_with(&example, &["--addr", "127.0.0.1:0"], &env);
    let port = |addr: &str| addr.rsplit(':').next().expect("a port").to_string();
    let (mut ann, _) = ws::open(&a.addr, "/ws");
    let (mut bob, _) = ws::open(&b.addr, "/ws");
    let own = say_and_hear(&mut ann, "from ann");
    assert!(own.contains(&format!(r#""from":"guest-1@{}""#, port(&a.addr))), "{own}");
    say_and_hear(&mut bob, "from bob");
    // Ann is in the room: the next line she hears after her own is Bob's.
    let heard = hear(&mut ann, "from bob");
    assert!(heard.contains(&format!(r#""from":"guest-1@{}""#, port(&b.addr))), "{heard}");
}
