//! Where people and clients reach each service, derived from the configuration alone: the
//! domain (or the issuer), the mode, whether this process terminates TLS, and the address it
//! listens on (`bind`, with the port actually bound once a server has bound it). A Lambda, a
//! server and a one-shot command thus agree on the URLs, the JWT issuer among them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{Config, Mode};

/// Where people and clients reach each service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    /// The authenticator's base URL, also the JWT issuer.
    pub authenticator: String,
    pub provisioner: String,
    /// Where the web client is (the single origin, or the bare domain).
    pub web: String,
    pub domain: String,
}

impl PublicUrls {
    /// The URLs of `config`; `config.bind` is the address this process is reached at (a server
    /// sets it to the address it bound, so port 0 becomes the port chosen).
    pub fn of(config: &Config) -> Self {
        let local_addr = config.bind;
        // How this process itself is reached: https only when it terminates TLS.
        let own_scheme = if config.server.tls() { "https" } else { "http" };
        match &config.domain {
            Some(domain) => {
                // Serve mode on a domain is reached on the standard https port, whether TLS ends
                // here or at a proxy in front. The demo on a domain is reached at the port it
                // listens on, over https when it terminates TLS itself.
                let (scheme, port) = match config.mode {
                    Mode::Serve => ("https", String::new()),
                    Mode::Demo if domain.contains(':') => (own_scheme, String::new()),
                    Mode::Demo => (own_scheme, format!(":{}", local_addr.port())),
                };
                let authenticator = config
                    .authenticator
                    .issuer
                    .clone()
                    .unwrap_or_else(|| format!("{scheme}://login.{domain}{port}"));
                Self {
                    authenticator,
                    provisioner: format!("{scheme}://provisioner.{domain}{port}"),
                    web: format!("{scheme}://{domain}{port}"),
                    domain: domain.clone(),
                }
            }
            None => {
                let reachable = match local_addr.ip() {
                    ip if ip.is_unspecified() => {
                        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local_addr.port())
                    }
                    _ => local_addr,
                };
                let base = config
                    .authenticator
                    .issuer
                    .clone()
                    .unwrap_or_else(|| format!("{own_scheme}://{reachable}"));
                let base = base.trim_end_matches('/').to_owned();
                let domain = url::Url::parse(&base)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| reachable.ip().to_string());
                Self {
                    provisioner: format!("{base}/provisioner"),
                    web: base.clone(),
                    authenticator: base,
                    domain,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSources, load};

    fn config(mode: Mode, domain: Option<&str>, tls: bool) -> Config {
        let mut flags = Vec::new();
        if let Some(domain) = domain {
            flags.push(("domain", toml::Value::String(domain.into())));
        }
        let mut config = load(
            Mode::Demo,
            ConfigSources {
                flags,
                ..Default::default()
            },
        )
        .unwrap();
        // Serve mode's GitHub requirements are beside the point here.
        config.mode = mode;
        if tls {
            config.server.tls_cert_file = Some("cert.pem".into());
            config.server.tls_key_file = Some("key.pem".into());
        }
        config
    }

    fn urls(mode: Mode, domain: Option<&str>, tls: bool) -> PublicUrls {
        let mut config = config(mode, domain, tls);
        config.bind = "0.0.0.0:8443".parse().unwrap();
        PublicUrls::of(&config)
    }

    #[test]
    fn tls_makes_the_processs_own_urls_https() {
        let demo = urls(Mode::Demo, Some("sliderule.test"), true);
        assert_eq!(demo.authenticator, "https://login.sliderule.test:8443");
        assert_eq!(demo.provisioner, "https://provisioner.sliderule.test:8443");
        assert_eq!(demo.web, "https://sliderule.test:8443");
        let single = urls(Mode::Serve, None, true);
        assert_eq!(single.authenticator, "https://127.0.0.1:8443");
        assert_eq!(single.provisioner, "https://127.0.0.1:8443/provisioner");
        // Serve mode on a domain is https on the standard port either way.
        let serve = urls(Mode::Serve, Some("sliderule.test"), true);
        assert_eq!(serve.authenticator, "https://login.sliderule.test");
    }

    #[test]
    fn without_tls_the_demo_stays_plain_http() {
        let demo = urls(Mode::Demo, Some("sliderule.test"), false);
        assert_eq!(demo.authenticator, "http://login.sliderule.test:8443");
        assert_eq!(urls(Mode::Demo, None, false).web, "http://127.0.0.1:8443");
        let serve = urls(Mode::Serve, Some("sliderule.test"), false);
        assert_eq!(serve.web, "https://sliderule.test");
    }
}
