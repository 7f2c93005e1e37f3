//! Run-time configuration: `/config.json`, fetched once at start-up.
//!
//! One build of `dist/` serves every deployment, so the service URLs are not compiled in; an
//! operator drops a `config.json` next to `index.html`. This module fetches and checks it, and
//! turns every way that can go wrong into a [`ConfigError`] that tells the operator what to fix.

use std::fmt;

pub use sliderule_protocol::WebConfig;

/// Where the app fetches its configuration from. Absolute, so deep links such as
/// `/clusters/alice` still find it at the site root.
pub const CONFIG_PATH: &str = sliderule_protocol::service::paths::CONFIG;

/// Where a cluster is reached, `<name>.<domain>`; `None` when the domain is an IP address (the
/// single-origin demo), where clusters have no host names of their own to show.
pub fn cluster_host(config: &WebConfig, name: &str) -> Option<String> {
    let host = config.domain.split(':').next().unwrap_or_default();
    if host.parse::<std::net::IpAddr>().is_ok() {
        None
    } else {
        Some(format!("{name}.{}", config.domain))
    }
}

/// Why the configuration could not be used. Each variant knows what an operator should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The host answered 404, or served an HTML page (an SPA fallback) where the JSON should be.
    Missing,
    /// The host answered with another non-success status.
    Status(u16),
    /// The request never got an answer.
    Unreachable(String),
    /// The body is not JSON, or not JSON of the right shape.
    Malformed(String),
    /// The JSON parsed but a value makes no sense.
    Invalid(String),
}

impl ConfigError {
    /// A short heading naming what failed.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Missing => "This deployment has no config.json",
            Self::Status(_) => "config.json could not be loaded",
            Self::Unreachable(_) => "The web server could not be reached",
            Self::Malformed(_) => "config.json is not valid",
            Self::Invalid(_) => "config.json has an invalid setting",
        }
    }

    /// What an operator of this deployment should do about it.
    pub fn remedy(&self) -> &'static str {
        match self {
            Self::Missing => {
                "Put a config.json next to index.html, with authenticator_url, provisioner_url \
                 and domain (client_id and public_cluster are optional)."
            }
            Self::Status(_) => {
                "Check the web server's logs and make sure config.json is readable by the server."
            }
            Self::Unreachable(_) => {
                "Check your network connection and reload. If it persists, check that the \
                 web server is running."
            }
            Self::Malformed(_) | Self::Invalid(_) => {
                "Fix config.json so that it is a JSON object with authenticator_url, \
                 provisioner_url and domain, then reload."
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "{CONFIG_PATH} was not found on this web server."),
            Self::Status(code) => write!(f, "Fetching {CONFIG_PATH} returned HTTP status {code}."),
            Self::Unreachable(why) => write!(f, "Fetching {CONFIG_PATH} failed: {why}"),
            Self::Malformed(why) => write!(f, "{CONFIG_PATH} could not be read: {why}"),
            Self::Invalid(why) => write!(f, "{CONFIG_PATH}: {why}"),
        }
    }
}

/// Fetches and checks `/config.json`.
pub async fn load() -> Result<WebConfig, ConfigError> {
    use gloo_net::http::Request;
    use web_sys::RequestCache;

    // Revalidate every time: an operator who fixes config.json should not have to wait out a cache.
    let response = Request::get(CONFIG_PATH)
        .cache(RequestCache::NoCache)
        .send()
        .await
        .map_err(|e| ConfigError::Unreachable(e.to_string()))?;
    match response.status() {
        200..=299 => {}
        404 => return Err(ConfigError::Missing),
        code => return Err(ConfigError::Status(code)),
    }
    let body = response
        .text()
        .await
        .map_err(|e| ConfigError::Unreachable(e.to_string()))?;
    parse(&body)
}

/// Parses and checks the body of `config.json`. URLs lose any trailing `/` so that callers can
/// append paths that start with one.
pub fn parse(body: &str) -> Result<WebConfig, ConfigError> {
    // Static hosts set up for SPAs answer unknown paths with index.html and status 200, so a
    // missing config.json usually shows up here rather than as a 404.
    if body.trim_start().starts_with('<') {
        return Err(ConfigError::Missing);
    }
    let mut config: WebConfig =
        serde_json::from_str(body).map_err(|e| ConfigError::Malformed(e.to_string()))?;
    config.authenticator_url = check_url("authenticator_url", &config.authenticator_url)?;
    config.provisioner_url = check_url("provisioner_url", &config.provisioner_url)?;
    config.domain = check_domain(&config.domain)?;
    config.client_id = non_blank(config.client_id);
    config.public_cluster = non_blank(config.public_cluster);
    Ok(config)
}

fn check_url(field: &str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{field} must start with https:// or http://, but is \"{value}\"."
            ))
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || rest.contains(char::is_whitespace) {
        return Err(ConfigError::Invalid(format!(
            "{field} is not a usable URL: \"{value}\"."
        )));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn check_domain(value: &str) -> Result<String, ConfigError> {
    let domain = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if labels_ok {
        Ok(domain)
    } else {
        Err(ConfigError::Invalid(format!(
            "domain must be a bare DNS name such as \"example.org\", but is \"{value}\"."
        )))
    }
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "authenticator_url": "https://login.example.org/",
        "provisioner_url": "http://127.0.0.1:8080",
        "client_id": "abc",
        "domain": "Example.org"
    }"#;

    #[test]
    fn accepts_a_good_config_and_normalises_it() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.authenticator_url, "https://login.example.org");
        assert_eq!(config.provisioner_url, "http://127.0.0.1:8080");
        assert_eq!(config.client_id.as_deref(), Some("abc"));
        assert_eq!(config.public_cluster, None);
        assert_eq!(config.domain, "example.org");
    }

    #[test]
    fn ignores_unknown_fields_and_blank_optionals() {
        let config = parse(
            r#"{"authenticator_url":"https://a.example.org","provisioner_url":"https://p.example.org",
                "domain":"example.org","client_id":"  ","public_cluster":"sliderule","later":1}"#,
        )
        .unwrap();
        assert_eq!(config.client_id, None);
        assert_eq!(config.public_cluster.as_deref(), Some("sliderule"));
    }

    #[test]
    fn html_means_missing() {
        assert_eq!(
            parse("\n<!DOCTYPE html><html></html>"),
            Err(ConfigError::Missing)
        );
    }

    #[test]
    fn bad_json_and_missing_fields_are_malformed() {
        assert!(matches!(parse("{"), Err(ConfigError::Malformed(_))));
        assert!(matches!(parse(""), Err(ConfigError::Malformed(_))));
        let err = parse(r#"{"authenticator_url":"https://a.example.org","domain":"x.org"}"#);
        match err {
            Err(ConfigError::Malformed(why)) => assert!(why.contains("provisioner_url"), "{why}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_urls() {
        for url in [
            "login.example.org",
            "ftp://x.org",
            "https://",
            "https:///path",
            "https://a b",
        ] {
            let body = GOOD.replace("https://login.example.org/", url);
            match parse(&body) {
                Err(ConfigError::Invalid(why)) => assert!(why.contains("authenticator_url")),
                other => panic!("{url}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_domains() {
        for domain in ["", "https://example.org", "-a.org", "a..org", "a_b.org"] {
            let body = GOOD.replace("Example.org", domain);
            assert!(
                matches!(parse(&body), Err(ConfigError::Invalid(_))),
                "{domain:?} accepted"
            );
        }
    }

    #[test]
    fn every_error_says_what_to_do() {
        let errors = [
            ConfigError::Missing,
            ConfigError::Status(500),
            ConfigError::Unreachable("x".into()),
            ConfigError::Malformed("x".into()),
            ConfigError::Invalid("x".into()),
        ];
        for e in errors {
            assert!(!e.title().is_empty() && !e.remedy().is_empty());
            assert!(e.to_string().contains(CONFIG_PATH));
        }
    }

    #[test]
    fn cluster_hosts_are_named_under_a_domain_but_not_under_an_ip_address() {
        let mut config = parse(
            r#"{"authenticator_url":"http://a","provisioner_url":"http://b","domain":"slideruleearth.io"}"#,
        )
        .unwrap();
        assert_eq!(
            cluster_host(&config, "bob").as_deref(),
            Some("bob.slideruleearth.io")
        );
        config.domain = "127.0.0.1".into();
        assert_eq!(cluster_host(&config, "bob"), None);
        config.domain = "localhost:8443".into();
        assert_eq!(
            cluster_host(&config, "bob").as_deref(),
            Some("bob.localhost:8443")
        );
    }
}
