//! Each fan-out message carries a token: who sent it, its number, and when (in
//! microseconds since the run began), so a receiver can match it and time it
//! whatever the server wrapped around it (`guest-3: ...`, JSON, ...).

/// A message's identity and send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub sender: u32,
    pub seq: u32,
    pub sent_us: u64,
}

const START: &str = "~t:";
const END: char = '~';

impl Token {
    pub(crate) fn encode(&self) -> String {
        format!("{START}{}:{}:{}{END}", self.sender, self.seq, self.sent_us)
    }

    /// Finds the first token in `text`, wherever it is.
    pub(crate) fn find(text: &str) -> Option<Token> {
        let at = text.find(START)? + START.len();
        let rest = &text[at..];
        let body = &rest[..rest.find(END)?];
        let mut parts = body.split(':');
        let token = Token {
            sender: parts.next()?.parse().ok()?,
            seq: parts.next()?.parse().ok()?,
            sent_us: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn tokens_are_found_inside_whatever_the_server_adds() {
        let token = Token { sender: 3, seq: 41, sent_us: 123_456 };
        let text = token.encode();
        assert_eq!(Token::find(&text), Some(token));
        assert_eq!(Token::find(&format!("guest-7: {text} xxxxx")), Some(token));
        let json = format!(r#"{{"type":"chat","id":9,"from":"guest-1","text":"{text} padding"}}"#);
        assert_eq!(Token::find(&json), Some(token));
    }

    #[test]
    fn other_lines_have_no_token() {
        assert_eq!(Token::find("guest-2 joined (2 online)"), None);
        assert_eq!(Token::find("~t:1:2~"), None);
        assert_eq!(Token::find("~t:1:2:3:4~"), None);
        assert_eq!(Token::find("~t:a:2:3~"), None);
        assert_eq!(Token::find("~t:1:2:3"), None);
    }
}
