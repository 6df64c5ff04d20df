//! The HTML pages: the home page, signed in or out, and the error page.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;

use crate::SharedApp;

/// `GET /`: a "Sign in" link, or who is signed in with a button that calls `/api/me` and a
/// "Sign out" form.
pub async fn home(State(app): State<SharedApp>, jar: CookieJar) -> Response {
    let body = match app.session(&jar) {
        Some((_, session)) => {
            let user = &session.user;
            let name = user.name.as_deref().unwrap_or("(no name)");
            let email = user.email.as_deref().unwrap_or("(no email)");
            format!(
                "<p>Signed in as <strong id=\"name\">{}</strong> \
                 (<span id=\"email\">{}</span>).</p>\n\
                 <p>The tokens of this session are kept by this service; your browser holds only \
                 a session cookie.</p>\n\
                 <p><button type=\"button\" id=\"call\">Call /api/me</button> \
                 or open <a href=\"/api/me\">/api/me</a></p>\n\
                 <pre id=\"out\"></pre>\n\
                 <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>\n\
                 <script>\n\
                 document.getElementById('call').addEventListener('click', async () => {{\n\
                 \x20 const out = document.getElementById('out');\n\
                 \x20 const response = await fetch('/api/me', {{ credentials: 'same-origin' }});\n\
                 \x20 out.textContent = response.status + '\\n' + JSON.stringify(await response.json(), null, 2);\n\
                 }});\n\
                 </script>",
                escape(name),
                escape(email)
            )
        }
        None => "<p>You are not signed in.</p>\n<p><a href=\"/login\">Sign in</a></p>".to_owned(),
    };
    page(StatusCode::OK, "Token Management Service", &body)
}

/// An error page: what went wrong, and the way back.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<p>{}</p>\n<p><a href=\"/login\">Sign in again</a> or go <a href=\"/\">home</a>.</p>",
        escape(message)
    );
    page(status, "Sign-in failed", &body)
}

/// A whole page. Never cached: it may show who is signed in.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        title = escape(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// `text` as HTML text or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            super::escape("<a href=\"x\">O'Brien & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Brien &amp; co&lt;/a&gt;"
        );
    }
}
