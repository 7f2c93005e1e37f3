//! Where the legacy (v5) and basic logins may send a browser, with a token, after sign-in.
//!
//! These flows redirect to a URI the request names, so an unchecked one would hand a token to
//! anyone (an open redirect). A URI is trusted only if it is https (http only on localhost),
//! carries no user information, and its host is one of `allowed_redirect_hosts` or a subdomain
//! of one. The URL is parsed by a WHATWG parser, so tricks such as `//evil`, `javascript:`,
//! `https://trusted@evil`, backslashes and encoded dots are judged as browsers will read them.

use url::{Host, Url};

/// Why a redirect URI is refused; the message is the error description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("redirect_uri is not an absolute URL")]
    NotAbsolute,
    #[error("redirect_uri must use https (http only for localhost)")]
    Scheme,
    #[error("redirect_uri must not contain user information")]
    UserInfo,
    #[error("redirect_uri host {0} is not one this service redirects to")]
    UntrustedHost(String),
}

/// The hosts redirects may go to (each also admits its subdomains).
#[derive(Debug, Clone)]
pub struct TrustedHosts(Vec<String>);

impl TrustedHosts {
    pub fn new(hosts: impl IntoIterator<Item = String>) -> Self {
        Self(
            hosts
                .into_iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    /// The URI, parsed, if a token may be sent there.
    pub fn check(&self, uri: &str) -> Result<Url, RedirectError> {
        let url = Url::parse(uri).map_err(|_| RedirectError::NotAbsolute)?;
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(RedirectError::NotAbsolute),
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            _ => return Err(RedirectError::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectError::UserInfo);
        }
        let trusted = self
            .0
            .iter()
            .any(|allowed| host == *allowed || host.ends_with(&format!(".{allowed}")));
        if trusted {
            Ok(url)
        } else {
            Err(RedirectError::UntrustedHost(host))
        }
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// `uri` with `pairs` appended to its query (with `&` if it has one already).
pub fn with_query(uri: &Url, pairs: &[(&str, &str)]) -> String {
    let mut url = uri.clone();
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> TrustedHosts {
        TrustedHosts::new(["slideruleearth.io", "localhost", "127.0.0.1"].map(String::from))
    }

    #[test]
    fn the_domain_and_its_subdomains_are_trusted() {
        assert!(hosts().check("https://slideruleearth.io/x").is_ok());
        assert!(
            hosts()
                .check("https://client.slideruleearth.io/x?y=1")
                .is_ok()
        );
        assert!(hosts().check("http://localhost:5173/cb").is_ok());
        assert!(hosts().check("http://127.0.0.1:8080/cb").is_ok());
    }

    #[test]
    fn open_redirect_attempts_are_refused() {
        let refused = [
            ("https://evil.example/x", "evil.example"),
            ("https://slideruleearth.io.evil.example/", "evil"),
            ("https://evilslideruleearth.io/", "evilslideruleearth"),
            ("//evil.example/x", "absolute"),
            ("/relative", "absolute"),
            ("javascript:alert(1)", "absolute"),
            (
                "https://slideruleearth.io@evil.example/",
                "user information",
            ),
            (
                "https://user:pw@client.slideruleearth.io/",
                "user information",
            ),
            ("https://evil.example\\@slideruleearth.io/", "evil.example"),
            ("http://client.slideruleearth.io/", "https"),
            ("ftp://slideruleearth.io/", "https"),
            ("data:text/html,hi", "absolute"),
        ];
        for (uri, why) in refused {
            let error = hosts().check(uri).expect_err(uri);
            assert!(
                error.to_string().contains(why),
                "{uri}: {error} should mention {why}"
            );
        }
    }

    #[test]
    fn query_pairs_are_appended_after_an_existing_query() {
        let url = Url::parse("https://slideruleearth.io/cb?a=1").unwrap();
        assert_eq!(
            with_query(&url, &[("code", "x y"), ("state", "s")]),
            "https://slideruleearth.io/cb?a=1&code=x+y&state=s"
        );
        let bare = Url::parse("https://slideruleearth.io/cb").unwrap();
        assert_eq!(
            with_query(&bare, &[("code", "c")]),
            "https://slideruleearth.io/cb?code=c"
        );
    }
}
