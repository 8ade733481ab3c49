//! The query string: the part of a URL after `?`, such as `name=Alice&x=1`, and how
//! its bytes are escaped.

/// Reads `name` from a query string such as `name=Alice&x=1`. In a URL, a space is
/// `+` or `%20`, and any other byte can be written `%` and two hex digits: `小明` is
/// `%E5%B0%8F%E6%98%8E`, the three UTF-8 bytes of each character.
pub(crate) fn name_from_query(query: Option<&str>) -> Result<String, String> {
    let pairs = query.unwrap_or("").split('&');
    let Some(raw) = pairs.filter_map(|pair| pair.strip_prefix("name=")).next() else {
        return Ok("stranger".to_string());
    };
    let raw = raw.replace('+', " ");
    // `percent-encoding` would pass a broken escape such as `%G1` through as it is;
    // tell the client instead, since it is their mistake to fix.
    if let Some(at) = raw.find('%').filter(|_| !valid_escapes(&raw)) {
        let bad: String = raw[at..].chars().take(3).collect();
        return Err(format!(
            "the name has a broken escape near `{bad}`: % must be followed by two hex digits, like %20"
        ));
    }
    match percent_encoding::percent_decode_str(&raw).decode_utf8() {
        Ok(name) if name.trim().is_empty() => Ok("stranger".to_string()),
        Ok(name) => Ok(name.into_owned()),
        Err(_) => Err("the name's %-escapes do not spell valid UTF-8 text".to_string()),
    }
}

/// True when every `%` is followed by two hex digits.
fn valid_escapes(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().filter(|(_, b)| **b == b'%').all(|(i, _)| {
        bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_decoded_from_the_query() {
        assert_eq!(name_from_query(Some("name=Alice")), Ok("Alice".to_string()));
        assert_eq!(name_from_query(Some("x=1&name=Ann+Lee")), Ok("Ann Lee".to_string()));
        assert_eq!(name_from_query(Some("name=%E5%B0%8F%E6%98%8E")), Ok("小明".to_string()));
        assert_eq!(name_from_query(Some("name=a%26b")), Ok("a&b".to_string()));
    }

    #[test]
    fn no_name_or_a_blank_one_is_a_stranger() {
        assert_eq!(name_from_query(None), Ok("stranger".to_string()));
        assert_eq!(name_from_query(Some("x=1")), Ok("stranger".to_string()));
        assert_eq!(name_from_query(Some("name=+%20")), Ok("stranger".to_string()));
    }

    #[test]
    fn a_broken_escape_or_bad_utf8_is_the_clients_mistake() {
        let broken = name_from_query(Some("name=a%G1")).unwrap_err();
        assert!(broken.contains("`%G1`"), "{broken}");
        assert!(name_from_query(Some("name=%E5%B0")).unwrap_err().contains("UTF-8"));
        assert!(name_from_query(Some("name=50%")).is_err());
    }
}
