//! Which web pages may use this server: the policy of the WebSocket upgrade
//! (`upgrade.rs`) and of `POST /api/messages` (`api.rs`) alike. Lessons 09 and 10
//! carry this file, unchanged.

use hyper::StatusCode;
use hyper::header::{HOST, HeaderMap, ORIGIN};

/// Step 7 of RFC 6455 4.2.1, and its section 10.2: which web pages may open a
/// WebSocket here. A browser lets any page a user visits open a WebSocket to any
/// server, and sends the user's cookies for that server with it; only the `Origin`
/// header tells the server which site's script is asking. Without this check, a page
/// on another site could chat here in the user's name (cross-site WebSocket
/// hijacking). So: this server's own page (its origin is `http://` and the `Host`
/// the browser asked for), the origins given with `--allow-origin`, and clients that
/// send no `Origin` at all. Those are not browsers (curl, websocat, our clients),
/// and hold no user's cookies to misuse. `POST /api/messages` asks the same (`what`
/// says what is refused).
pub(crate) fn check_origin(
    headers: &HeaderMap,
    allowed: &[String],
    what: &str,
) -> Result<(), (StatusCode, String)> {
    let Some(origin) = headers.get(ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or("(not text)");
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Our own page, over http:// or (with --tls) https://.
    let own = [format!("http://{host}"), format!("https://{host}")];
    let ours = own.iter().any(|own| origin.eq_ignore_ascii_case(own));
    if ours || allowed.iter().any(|a| origin.eq_ignore_ascii_case(a)) {
        return Ok(());
    }
    Err((
        StatusCode::FORBIDDEN,
        format!(
            "a page from {origin} may not {what}, only this server's own page; start \
             the server with --allow-origin {origin} to let it"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use hyper::StatusCode;
    use hyper::header::{HOST, HeaderMap, HeaderValue, ORIGIN};

    use super::check_origin;

    #[test]
    fn only_our_own_page_and_allowed_origins_may_open_a_websocket() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:5003"));
        assert!(
            check_origin(&headers, &[], "open a WebSocket here").is_ok(),
            "no Origin: not a browser"
        );
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:5003"));
        assert!(check_origin(&headers, &[], "open a WebSocket here").is_ok(), "our own page");
        headers.insert(ORIGIN, HeaderValue::from_static("http://evil.example"));
        let (status, why) = check_origin(&headers, &[], "open a WebSocket here").unwrap_err();
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(why.contains("--allow-origin http://evil.example"), "{why}");
        assert!(
            check_origin(&headers, &["http://evil.example".to_string()], "open a WebSocket here")
                .is_ok()
        );
    }
}
