//! Lesson 05, exercise 5 (from the first version): `/who` is answered to the asker
//! alone, with everyone's name, lowest number first.

use testkit::ws;
use testkit::{Server, example_path};

#[test]
fn who_answers_the_asker_alone() {
    let example = example_path("ws_chat_server_first", "ws_chat_server_exercise_who");
    let server = Server::start(&example);
    let mut members = Vec::new();
    for n in 1..=3 {
        let (mut stream, _) = ws::open(&server.addr, "/");
        // Said once each is in the room, so that the next one's /who sees it.
        ws::send_text(&mut stream, "here");
        assert_eq!(ws::read_data(&mut stream).text(), format!("guest-{n}: here"));
        members.push(stream);
    }
    for (n, member) in members.iter_mut().enumerate().take(2) {
        for m in n + 2..=3 {
            assert_eq!(ws::read_data(member).text(), format!("guest-{m}: here"));
        }
    }
    ws::send_text(&mut members[1], "/who");
    let answer =
        ws::read(&mut members[1]).expect("an answer to /who: does who still panic at its todo!()?");
    assert_eq!(answer.text(), "Online: guest-1, guest-2, guest-3");
    // The others did not get it: the next line each of them gets is this one.
    ws::send_text(&mut members[2], "after");
    for member in [0, 2] {
        assert_eq!(ws::read_data(&mut members[member]).text(), "guest-3: after");
    }
}
