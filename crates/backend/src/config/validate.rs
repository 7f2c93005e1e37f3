//! Checks of a loaded configuration that its types cannot express: what serve mode requires,
//! URLs that must be https outside localhost, and (with the CloudFormation driver) that the
//! cluster template gets every parameter it needs.

use url::Url;

use super::{CloudDriver, Config, ConfigError, Mode, template};

pub(super) fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.github.org.trim().is_empty() {
        return Err(ConfigError::new(
            "github.org",
            "must name the GitHub organization whose members may deploy clusters",
        ));
    }
    if let Some(domain) = &config.domain {
        check_domain(domain)?;
    }
    if config.server.request_timeout_secs == 0 {
        return Err(ConfigError::new(
            "server.request_timeout_secs",
            "must be at least 1",
        ));
    }
    if config.server.body_limit_bytes < 1024 {
        return Err(ConfigError::new(
            "server.body_limit_bytes",
            "must be at least 1024",
        ));
    }
    check_tls_pair(&config.server)?;
    if let Some(issuer) = &config.authenticator.issuer {
        check_public_url("authenticator.issuer", issuer)?;
    }
    validate_authenticator(&config.authenticator)?;
    for (key, value) in [
        (
            "provisioner.reaper_period_secs",
            config.provisioner.reaper_period_secs,
        ),
        (
            "provisioner.destroy_poll_secs",
            config.provisioner.destroy_poll_secs,
        ),
        (
            "provisioner.reconcile_period_secs",
            config.provisioner.reconcile_period_secs,
        ),
        (
            "provisioner.adopt_ttl_mins",
            u64::from(config.provisioner.adopt_ttl_mins),
        ),
    ] {
        if value == 0 {
            return Err(ConfigError::new(key, "must be at least 1"));
        }
    }
    validate_budgets(&config.budgets)?;
    if config.github.membership_cache_secs > 300 {
        return Err(ConfigError::new(
            "github.membership_cache_secs",
            format!(
                "{} is too long: someone removed from the organization would keep access (at most 300)",
                config.github.membership_cache_secs
            ),
        ));
    }
    if !(config.github.timeout_secs > 0.0 && config.github.timeout_secs <= 60.0) {
        return Err(ConfigError::new(
            "github.timeout_secs",
            "must be more than 0 and at most 60",
        ));
    }
    for origin in &config.web.allowed_origins {
        check_origin(origin)?;
    }
    check_url("github.web_url", &config.github.web_url)?;
    check_url("github.api_url", &config.github.api_url)?;
    let auth = &config.authenticator;
    if auth.kms_key_id.is_some() && auth.signing_key_file.is_some() {
        return Err(ConfigError::new(
            "authenticator.kms_key_id",
            "give either a KMS key or authenticator.signing_key_file, not both",
        ));
    }
    if auth.state_key.is_some() && auth.state_key_file.is_some() {
        return Err(ConfigError::new(
            "authenticator.state_key",
            "give either the state key inline or authenticator.state_key_file, not both",
        ));
    }
    if auth.kms_key_id.is_none() && !auth.kms_previous_key_ids.is_empty() {
        return Err(ConfigError::new(
            "authenticator.kms_previous_key_ids",
            "previous KMS keys need authenticator.kms_key_id (the key that signs now)",
        ));
    }
    for (key, address) in [
        (
            "notifications.alert_email",
            &config.notifications.alert_email,
        ),
        ("notifications.sender", &config.notifications.sender),
    ] {
        if let Some(address) = address {
            check_address(key, address)?;
        }
    }
    if !(15..=1440).contains(&config.provisioner.test_runner_ttl_mins) {
        return Err(ConfigError::new(
            "provisioner.test_runner_ttl_mins",
            format!(
                "{} is out of range: give 15 to 1440 minutes",
                config.provisioner.test_runner_ttl_mins
            ),
        ));
    }
    if let Some(public) = &config.provisioner.public_cluster
        && let Err(error) = sliderule_protocol::ClusterName::parse(public)
    {
        return Err(ConfigError::new(
            "provisioner.public_cluster",
            error.to_string(),
        ));
    }
    validate_store(config)?;
    if config.mode == Mode::Serve {
        validate_serve(config)?;
    }
    // Last: it reads the template file, and the simulated cloud takes no parameters at all.
    if config.cloud() == CloudDriver::Cloudformation {
        template::check(config)?;
    }
    Ok(())
}

/// What the store needs: where it is, and how AWS is reached when it is a DynamoDB table.
pub(super) fn validate_store(config: &Config) -> Result<(), ConfigError> {
    if let Some(store) = &config.store.url
        && let Err(error) = super::StoreUrl::parse(store)
    {
        return Err(ConfigError::new("store.url", error));
    }
    if let Some(endpoint) = &config.aws.endpoint_url {
        check_url("aws.endpoint_url", endpoint)?;
    }
    Ok(())
}

fn validate_serve(config: &Config) -> Result<(), ConfigError> {
    if config.github.client_id.as_deref().unwrap_or("").is_empty() {
        return Err(ConfigError::new(
            "github.client_id",
            "required in serve mode: the client id of your GitHub OAuth App",
        ));
    }
    if config.github.client_secret.is_none() {
        return Err(ConfigError::new(
            "github.client_secret_file",
            "required in serve mode: a file holding your GitHub OAuth App's client secret",
        ));
    }
    if config.authenticator.issuer.is_none()
        && config.domain.is_none()
        && !config.bind.ip().is_loopback()
    {
        return Err(ConfigError::new(
            "authenticator.issuer",
            "required in serve mode when neither domain is set nor bind is a loopback address",
        ));
    }
    Ok(())
}

/// A certificate without its key (or the reverse) is a mistake, not a request for plain HTTP.
fn validate_budgets(budgets: &super::BudgetsConfig) -> Result<(), ConfigError> {
    if budgets.charge_period_secs == Some(0) {
        return Err(ConfigError::new(
            "budgets.charge_period_secs",
            "must be at least 1",
        ));
    }
    for (key, value) in [
        ("budgets.node_usd_per_hour", budgets.node_usd_per_hour),
        ("budgets.cluster_usd_per_hour", budgets.cluster_usd_per_hour),
        ("budgets.initial_balance", budgets.initial_balance),
        ("budgets.monthly_allowance", budgets.monthly_allowance),
        ("budgets.max_balance", budgets.max_balance),
    ] {
        if value < sliderule_protocol::Usd::ZERO {
            return Err(ConfigError::new(
                key,
                format!("must not be negative (it is {value})"),
            ));
        }
    }
    Ok(())
}

fn check_tls_pair(server: &super::ServerConfig) -> Result<(), ConfigError> {
    match (&server.tls_cert_file, &server.tls_key_file) {
        (Some(_), None) => Err(ConfigError::new(
            "server.tls_key_file",
            "required with server.tls_cert_file: the certificate's private key (PEM)",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "server.tls_cert_file",
            "required with server.tls_key_file: the certificate chain (PEM)",
        )),
        _ => Ok(()),
    }
}

fn validate_authenticator(auth: &super::AuthenticatorConfig) -> Result<(), ConfigError> {
    let at_least_one = [
        (
            "authenticator.browser_token_lifetime_secs",
            auth.browser_token_lifetime_secs,
        ),
        (
            "authenticator.client_token_lifetime_secs",
            auth.client_token_lifetime_secs,
        ),
        (
            "authenticator.refresh_absolute_secs",
            auth.refresh_absolute_secs,
        ),
        ("authenticator.refresh_idle_secs", auth.refresh_idle_secs),
        ("authenticator.client_unused_days", auth.client_unused_days),
        (
            "authenticator.rate_limit_per_sec",
            u64::from(auth.rate_limit_per_sec),
        ),
        (
            "authenticator.rate_limit_burst",
            u64::from(auth.rate_limit_burst),
        ),
        (
            "authenticator.member_max_nodes",
            u64::from(auth.member_max_nodes),
        ),
        (
            "authenticator.member_max_ttl",
            u64::from(auth.member_max_ttl),
        ),
        (
            "authenticator.owner_max_nodes",
            u64::from(auth.owner_max_nodes),
        ),
        ("authenticator.owner_max_ttl", u64::from(auth.owner_max_ttl)),
    ];
    for (key, value) in at_least_one {
        if value == 0 {
            return Err(ConfigError::new(key, "must be at least 1"));
        }
    }
    if auth.refresh_grace_secs > 60 {
        return Err(ConfigError::new(
            "authenticator.refresh_grace_secs",
            format!(
                "{} is too long: a stolen refresh token could be replayed for that long (at most 60)",
                auth.refresh_grace_secs
            ),
        ));
    }
    for host in &auth.allowed_redirect_hosts {
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(ConfigError::new(
                "authenticator.allowed_redirect_hosts",
                format!("{host:?} is not a host name"),
            ));
        }
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), ConfigError> {
    let host = domain.split_once(':').map_or(domain, |(host, _)| host);
    let valid = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = domain
        .split_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_ok());
    if valid && port_ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            "domain",
            format!("{domain:?} is not a DNS name (optionally with :port)"),
        ))
    }
}

fn check_url(key: &str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value)
        .map_err(|e| ConfigError::new(key, format!("{value:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            key,
            format!("{value:?} must be an http or https URL"),
        ));
    }
    Ok(url)
}

/// An e-mail address: one `@` with something on both sides, no spaces or angle brackets (SES
/// would refuse it later, one message at a time, where nobody reads the error).
fn check_address(key: &str, value: &str) -> Result<(), ConfigError> {
    let fine = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !value.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    };
    if fine {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!("{value:?} is not an e-mail address (name@example.org)"),
        ))
    }
}

fn is_local(url: &Url) -> bool {
    matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    )
}

/// A URL people and clusters reach: https, except on this machine.
fn check_public_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let url = check_url(key, value)?;
    if url.scheme() != "https" && !is_local(&url) {
        return Err(ConfigError::new(
            key,
            format!("{value:?} must use https outside localhost"),
        ));
    }
    Ok(())
}

fn check_origin(origin: &str) -> Result<(), ConfigError> {
    let key = "web.allowed_origins";
    check_public_url(key, origin)?;
    let url = Url::parse(origin).map_err(|e| ConfigError::new(key, e.to_string()))?;
    if url.path() != "/" || origin.ends_with('/') || url.query().is_some() {
        return Err(ConfigError::new(
            key,
            format!("{origin:?} is not an origin: give scheme://host[:port] with no path"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigSources, Secret, load};
    use super::*;

    fn load_with(mode: Mode, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load(
            mode,
            ConfigSources {
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            },
        )
    }

    fn serve_with(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_with(Mode::Serve, env)
    }

    fn demo_with(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_with(Mode::Demo, env)
    }

    #[test]
    fn serve_requires_a_github_client_id() {
        let err = serve_with(&[]).unwrap_err();
        assert_eq!(err.key, "github.client_id");
    }

    #[test]
    fn serve_requires_a_github_client_secret() {
        let err = serve_with(&[("SLIDERULE_GITHUB__CLIENT_ID", "Iv1.abc")]).unwrap_err();
        assert_eq!(err.key, "github.client_secret_file");
    }

    #[test]
    fn serve_accepts_a_complete_configuration() {
        let config = serve_with(&[
            ("SLIDERULE_GITHUB__CLIENT_ID", "Iv1.abc"),
            ("SLIDERULE_GITHUB__CLIENT_SECRET", "shh"),
            (
                "SLIDERULE_PROVISIONER__PARAMETERS",
                "{ VpcId = \"vpc-1\", SubnetIds = \"subnet-1\" }",
            ),
        ])
        .unwrap();
        assert!(matches!(config.github.client_secret, Some(Secret { .. })));
    }

    #[test]
    fn key_sources_that_exclude_each_other_are_refused_by_name() {
        for (env, key) in [
            (
                vec![
                    ("SLIDERULE_AUTHENTICATOR__KMS_KEY_ID", "alias/sliderule"),
                    (
                        "SLIDERULE_AUTHENTICATOR__SIGNING_KEY_FILE",
                        "/etc/signing.pem",
                    ),
                ],
                "authenticator.kms_key_id",
            ),
            (
                vec![(
                    "SLIDERULE_AUTHENTICATOR__KMS_PREVIOUS_KEY_IDS",
                    "[\"alias/old\"]",
                )],
                "authenticator.kms_previous_key_ids",
            ),
            (
                vec![
                    ("SLIDERULE_AUTHENTICATOR__STATE_KEY", &"k".repeat(40)),
                    ("SLIDERULE_AUTHENTICATOR__STATE_KEY_FILE", "/etc/state.key"),
                ],
                "authenticator.state_key",
            ),
        ] {
            assert_eq!(demo_with(&env).unwrap_err().key, key);
        }
    }

    #[test]
    fn notification_addresses_must_be_addresses() {
        for bad in [
            "operators",
            "ops@localhost",
            "Ops <ops@example.org>",
            "a@b@example.org",
        ] {
            let err = demo_with(&[("SLIDERULE_NOTIFICATIONS__SENDER", bad)]).unwrap_err();
            assert_eq!(err.key, "notifications.sender", "{bad}");
            assert!(err.problem.contains("is not an e-mail address"), "{bad}");
        }
        let err = demo_with(&[("SLIDERULE_NOTIFICATIONS__ALERT_EMAIL", "nobody")]).unwrap_err();
        assert_eq!(err.key, "notifications.alert_email");
        let config = demo_with(&[("SLIDERULE_NOTIFICATIONS__SENDER", "noreply@example.org")]);
        assert_eq!(
            config.unwrap().notifications.sender.as_deref(),
            Some("noreply@example.org")
        );
    }

    #[test]
    fn empty_organization_is_refused() {
        let err = serve_with(&[("SLIDERULE_GITHUB__ORG", "\"\"")]).unwrap_err();
        assert_eq!(err.key, "github.org");
    }

    #[test]
    fn plain_http_issuer_outside_localhost_is_refused() {
        let err = serve_with(&[
            ("SLIDERULE_GITHUB__CLIENT_ID", "Iv1.abc"),
            ("SLIDERULE_GITHUB__CLIENT_SECRET", "shh"),
            (
                "SLIDERULE_AUTHENTICATOR__ISSUER",
                "http://login.example.org",
            ),
        ])
        .unwrap_err();
        assert_eq!(err.key, "authenticator.issuer");
        assert!(err.problem.contains("https"));
    }

    #[test]
    fn origin_with_a_path_is_refused() {
        let err = serve_with(&[(
            "SLIDERULE_WEB__ALLOWED_ORIGINS",
            "[\"https://client.example.org/app\"]",
        )])
        .unwrap_err();
        assert_eq!(err.key, "web.allowed_origins");
    }

    #[test]
    fn tls_certificate_and_key_go_together() {
        let err =
            serve_with(&[("SLIDERULE_SERVER__TLS_CERT_FILE", "/etc/tls/cert.pem")]).unwrap_err();
        assert_eq!(err.key, "server.tls_key_file");
        let err =
            serve_with(&[("SLIDERULE_SERVER__TLS_KEY_FILE", "/etc/tls/key.pem")]).unwrap_err();
        assert_eq!(err.key, "server.tls_cert_file");
    }

    #[test]
    fn domain_must_be_a_dns_name() {
        let err = serve_with(&[("SLIDERULE_DOMAIN", "not a domain")]).unwrap_err();
        assert_eq!(err.key, "domain");
        assert!(check_domain("localhost:8443").is_ok());
        assert!(check_domain("slideruleearth.io").is_ok());
        assert!(check_domain("-bad.io").is_err());
    }

    #[test]
    fn budgets_are_on_in_the_demo_every_five_seconds_and_off_in_serve_mode() {
        let demo = demo_with(&[]).unwrap();
        assert!(demo.budgets_enabled());
        assert_eq!(demo.charge_period(), std::time::Duration::from_secs(5));
        assert_eq!(demo.budgets.pricing(), sliderule_protocol::Pricing::DEMO);
        let off = demo_with(&[("SLIDERULE_BUDGETS__ENABLED", "false")]).unwrap();
        assert!(!off.budgets_enabled());
        let serve = serve_with(&[
            ("SLIDERULE_GITHUB__CLIENT_ID", "Iv1.abc"),
            ("SLIDERULE_GITHUB__CLIENT_SECRET", "shh"),
            (
                "SLIDERULE_PROVISIONER__PARAMETERS",
                "{ VpcId = \"vpc-1\", SubnetIds = \"subnet-1\" }",
            ),
        ])
        .unwrap();
        assert!(!serve.budgets_enabled());
        assert_eq!(serve.charge_period(), std::time::Duration::from_secs(300));
    }

    #[test]
    fn budget_amounts_are_exact_and_never_negative() {
        let config = demo_with(&[("SLIDERULE_BUDGETS__NODE_USD_PER_HOUR", "\"0.125\"")]).unwrap();
        assert_eq!(
            config.budgets.node_usd_per_hour,
            sliderule_protocol::Usd::from_micros(125_000)
        );
        let err = demo_with(&[("SLIDERULE_BUDGETS__MAX_BALANCE", "-1")]).unwrap_err();
        assert_eq!(err.key, "budgets.max_balance");
        assert!(err.problem.contains("-1.00"), "{}", err.problem);
        let err = demo_with(&[("SLIDERULE_BUDGETS__CHARGE_PERIOD_SECS", "0")]).unwrap_err();
        assert_eq!(err.key, "budgets.charge_period_secs");
        let err = demo_with(&[("SLIDERULE_BUDGETS__INITIAL_BALANCE", "\"ten\"")]).unwrap_err();
        assert!(err.key.starts_with("budgets.initial_balance"), "{err}");
    }
}
