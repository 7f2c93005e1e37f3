//! The emulator's HTML pages: the authorize page, the device verification page and plain message
//! pages. Self-contained (inline CSS, no scripts, no external assets) and accessible: every user is
//! a `<button>` whose accessible name is exactly the login, so people and browser tests pick
//! users the same way.
//!
//! Forms post to paths relative to the page, so they work at the root and when the emulator is
//! mounted under a prefix such as `/_github/`.

/// A user as offered on a page.
#[derive(Debug, Clone)]
pub(crate) struct UserChoice {
    pub login: String,
    pub description: String,
}

/// The authorize request, carried through the form in hidden fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthorizeView {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f6f8fa;color:#1f2328;margin:0}\
main{max-width:28rem;margin:3rem auto;background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1.5rem}\
h1{font-size:1.4rem;margin-top:0}\
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem .75rem;font-size:.9rem}\
.error{background:#ffebe9;border:1px solid #ff818266;border-radius:6px;padding:.5rem .75rem}\
.ok{background:#dafbe1;border:1px solid #4ac26b66;border-radius:6px;padding:.5rem .75rem}\
ul{list-style:none;padding:0}\
li{display:flex;align-items:center;gap:.75rem;margin:.5rem 0}\
li span{color:#59636e;font-size:.9rem}\
button{font:inherit;padding:.4rem 1rem;border-radius:6px;border:1px solid #1f883d;background:#1f883d;color:#fff;cursor:pointer;min-width:6rem}\
button.cancel{background:#f6f8fa;color:#1f2328;border-color:#d0d7de}\
button:focus-visible,input:focus-visible{outline:2px solid #0969da;outline-offset:2px}\
label{display:block;font-weight:600;margin-bottom:.25rem}\
input[type=text]{font:inherit;font-family:ui-monospace,monospace;letter-spacing:.1em;text-transform:uppercase;padding:.4rem;border:1px solid #d0d7de;border-radius:6px;width:10rem}\
code{font-family:ui-monospace,monospace}";

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
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

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title} · GitHub emulator</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

fn user_buttons(users: &[UserChoice]) -> String {
    let mut out = String::from("<ul>");
    for (index, user) in users.iter().enumerate() {
        // The description is tied by aria-describedby so the button's name stays the bare login.
        out.push_str(&format!(
            "<li><button type=\"submit\" name=\"login\" value=\"{login}\" aria-describedby=\"user-{index}\">{login}</button>\
             <span id=\"user-{index}\">{description}</span></li>",
            login = escape(&user.login),
            description = escape(&user.description),
        ));
    }
    out.push_str("</ul>");
    out
}

fn alert(class: &str, message: Option<&str>) -> String {
    match message {
        Some(message) => format!(
            "<p class=\"{class}\" role=\"alert\">{}</p>",
            escape(message)
        ),
        None => String::new(),
    }
}

/// `GET /login/oauth/authorize`: choose who signs in, or cancel.
pub(crate) fn authorize_page(
    view: &AuthorizeView,
    users: &[UserChoice],
    error: Option<&str>,
) -> String {
    let scope = if view.scope.is_empty() {
        "no scopes (public information only)".to_owned()
    } else {
        format!("scopes <code>{}</code>", escape(&view.scope))
    };
    let mut fields = hidden("client_id", &view.client_id)
        + &hidden("redirect_uri", &view.redirect_uri)
        + &hidden("scope", &view.scope);
    if let Some(state) = &view.state {
        fields.push_str(&hidden("state", state));
    }
    let body = format!(
        "<h1>Sign in to GitHub</h1>\
         <p>An application (client <code>{client}</code>) asks for {scope}.</p>\
         <p class=\"note\">This is the GitHub emulator: choose a seeded user to sign in as.</p>\
         {error}\
         <form method=\"post\" action=\"authorize\" aria-label=\"Choose a user\">{fields}{buttons}\
         <p><button type=\"submit\" name=\"cancel\" value=\"1\" class=\"cancel\">Cancel</button></p></form>",
        client = escape(&view.client_id),
        error = alert("error", error),
        buttons = user_buttons(users),
    );
    document("Authorize application", &body)
}

/// `GET /login/device`: enter the code shown on the device, then choose who approves it.
pub(crate) fn device_page(user_code: &str, users: &[UserChoice], error: Option<&str>) -> String {
    let body = format!(
        "<h1>Device activation</h1>\
         <p>Enter the code displayed on your device, then choose who approves it.</p>\
         <p class=\"note\">This is the GitHub emulator: choose a seeded user to sign in as.</p>\
         {error}\
         <form method=\"post\" action=\"device\" aria-label=\"Approve a device\">\
         <p><label for=\"user_code\">Device code</label>\
         <input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{code}\" required \
         autocomplete=\"off\" spellcheck=\"false\" placeholder=\"XXXX-XXXX\"></p>\
         {buttons}\
         <p><button type=\"submit\" name=\"cancel\" value=\"1\" class=\"cancel\">Cancel</button></p></form>",
        error = alert("error", error),
        code = escape(user_code),
        buttons = user_buttons(users),
    );
    document("Device activation", &body)
}

/// The outcome of a device verification.
pub(crate) fn device_result_page(approved_as: Option<&str>) -> String {
    let body = match approved_as {
        Some(login) => format!(
            "<h1>Device approved</h1><p class=\"ok\" role=\"status\">Congratulations, you're all set! \
             The device is signed in as <strong>{}</strong>. You can return to your device.</p>",
            escape(login)
        ),
        None => {
            "<h1>Device denied</h1><p class=\"ok\" role=\"status\">Access was denied; the device \
                 will not be signed in. You can close this page.</p>"
                .to_owned()
        }
    };
    document("Device activation", &body)
}

/// A page that only says what went wrong.
pub(crate) fn error_page(title: &str, message: &str) -> String {
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>",
        escape(title),
        escape(message)
    );
    document(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_input_is_escaped_in_pages() {
        let view = AuthorizeView {
            client_id: "<script>".into(),
            redirect_uri: "http://x/?a=1&b=\"2\"".into(),
            scope: String::new(),
            state: Some("'s".into()),
        };
        let page = authorize_page(&view, &[], None);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("a=1&amp;b=&quot;2&quot;"));
        assert!(page.contains("&#39;s"));
    }

    #[test]
    fn each_user_is_a_button_named_by_its_login() {
        let users = [UserChoice {
            login: "alice".into(),
            description: "organization admin".into(),
        }];
        let page = device_page("", &users, None);
        assert!(
            page.contains(
                "name=\"login\" value=\"alice\" aria-describedby=\"user-0\">alice</button>"
            )
        );
        assert!(page.contains("<label for=\"user_code\">Device code</label>"));
    }
}
