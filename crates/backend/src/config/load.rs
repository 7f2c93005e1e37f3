//! Loading the configuration: defaults < TOML file < `SLIDERULE_…` environment < flags.
//!
//! Every source is merged into one TOML table first and deserialized once, so an unknown key or
//! a wrong type is reported the same way wherever it came from, with its dotted path (and the
//! environment variable's name when it came from there).

use std::collections::HashMap;
use std::path::Path;

use super::{Config, ConfigError, Mode, Secret, validate};

/// Environment variables with our prefix that belong to someone else. The official SlideRule
/// Python client reads `SLIDERULE_GITHUB_TOKEN`, and the backend often runs beside it in tests.
const FOREIGN_VARIABLES: &[&str] = &["SLIDERULE_GITHUB_TOKEN"];

const ENV_PREFIX: &str = "SLIDERULE_";

/// Everything a configuration is made from.
#[derive(Debug, Default)]
pub struct ConfigSources<'a> {
    pub file: Option<&'a Path>,
    /// The process environment (all of it; only `SLIDERULE_…` variables are read).
    pub env: Vec<(String, String)>,
    /// Values from command-line flags, as dotted keys (`web.dist_dir`) and TOML values.
    pub flags: Vec<(&'static str, toml::Value)>,
}

/// Loads, resolves secret files, and validates the configuration for `mode`.
pub fn load(mode: Mode, sources: ConfigSources<'_>) -> Result<Config, ConfigError> {
    let mut config = merge(mode, sources)?;
    resolve_secret_files(&mut config)?;
    validate::validate(&config)?;
    Ok(config)
}

/// Loads the configuration for what touches only the store (`store migrate`): the same file and
/// variables as the service's, but only the store's and AWS's settings are checked, so it runs
/// where the service's secrets (GitHub's, the cluster template) are not, e.g. an operator's
/// machine before a Lambda release.
pub fn load_for_store(mode: Mode, sources: ConfigSources<'_>) -> Result<Config, ConfigError> {
    let config = merge(mode, sources)?;
    validate::validate_store(&config)?;
    Ok(config)
}

/// Every source merged and deserialized once, not yet checked.
fn merge(mode: Mode, sources: ConfigSources<'_>) -> Result<Config, ConfigError> {
    let mut table = match sources.file {
        Some(path) => read_file(path)?,
        None => toml::Table::new(),
    };
    let env_keys = overlay_env(&mut table, &sources.env)?;
    for (key, value) in sources.flags {
        let path: Vec<&str> = key.split('.').collect();
        insert(&mut table, &path, value).map_err(|problem| ConfigError::new(key, problem))?;
    }

    let mut config: Config = serde_path_to_error::deserialize(table).map_err(|e| {
        let key = e.path().to_string();
        let problem = e.inner().message().to_string();
        match env_keys.get(&key) {
            Some(var) => ConfigError::new(format!("{key} (from {var})"), problem),
            None => ConfigError::new(key, problem),
        }
    })?;
    config.mode = mode;
    Ok(config)
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(&shown, format!("cannot read the configuration file: {e}"))
    })?;
    text.parse::<toml::Table>().map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let problem = e.message().trim().to_string();
        match line {
            Some(line) => ConfigError::new(format!("{shown} line {line}"), problem),
            None => ConfigError::new(shown, problem),
        }
    })
}

/// Applies `SLIDERULE_SECTION__KEY=value` variables; returns which dotted key came from which
/// variable, for error messages.
fn overlay_env(
    table: &mut toml::Table,
    env: &[(String, String)],
) -> Result<HashMap<String, String>, ConfigError> {
    let mut origins = HashMap::new();
    let mut vars: Vec<&(String, String)> = env
        .iter()
        .filter(|(name, _)| {
            name.starts_with(ENV_PREFIX) && !FOREIGN_VARIABLES.contains(&name.as_str())
        })
        .collect();
    // Deterministic order, so the first error reported does not depend on the environment's.
    vars.sort();
    for (name, raw) in vars {
        let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
        let path: Vec<&str> = key.split("__").collect();
        if path.iter().any(|part| part.is_empty()) {
            return Err(ConfigError::new(
                name,
                "empty key part: nested keys are separated by a double underscore, \
                 e.g. SLIDERULE_GITHUB__ORG",
            ));
        }
        insert(table, &path, env_value(raw)).map_err(|problem| ConfigError::new(name, problem))?;
        origins.insert(path.join("."), name.clone());
    }
    Ok(origins)
}

/// An environment value is a TOML value when it parses as one (`8080`, `true`, `["a", "b"]`),
/// and a string otherwise; quote it to force a string (`'"123"'`).
fn env_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn insert(table: &mut toml::Table, path: &[&str], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut current = table;
    for (depth, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{}` is a value, not a section", path[..=depth].join(".")))?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// Reads every `…_file` secret into its value, refusing both forms at once.
fn resolve_secret_files(config: &mut Config) -> Result<(), ConfigError> {
    let github = &mut config.github;
    resolve_one(
        "github.client_secret",
        &mut github.client_secret,
        github.client_secret_file.as_deref(),
    )?;
    resolve_one(
        "github.service_token",
        &mut github.service_token,
        github.service_token_file.as_deref(),
    )?;
    Ok(())
}

fn resolve_one(
    key: &str,
    value: &mut Option<Secret>,
    file: Option<&Path>,
) -> Result<(), ConfigError> {
    let Some(file) = file else { return Ok(()) };
    let file_key = format!("{key}_file");
    if value.is_some() {
        return Err(ConfigError::new(
            file_key,
            format!("set either {key} or {key}_file, not both"),
        ));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::new(&file_key, format!("cannot read {}: {e}", file.display())))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(ConfigError::new(
            file_key,
            format!("{} is empty", file.display()),
        ));
    }
    *value = Some(Secret::new(secret));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn demo(sources: ConfigSources<'_>) -> Result<Config, ConfigError> {
        load(Mode::Demo, sources)
    }

    /// Loads a configuration file with this text, as demo mode.
    fn demo_file(text: &str) -> Result<Config, ConfigError> {
        let f = file(text);
        demo(ConfigSources {
            file: Some(f.path()),
            ..Default::default()
        })
    }

    #[test]
    fn demo_starts_with_no_configuration_at_all() {
        let config = demo(ConfigSources::default()).unwrap();
        assert_eq!(config.mode, Mode::Demo);
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.github.org, "SlideRuleEarth");
    }

    #[test]
    fn demo_pre_registers_the_web_client_unless_configured() {
        let plain = demo(ConfigSources::default()).unwrap();
        assert_eq!(
            plain.web_client_id().as_deref(),
            Some(crate::config::DEMO_WEB_CLIENT_ID)
        );
        let configured = demo(ConfigSources {
            flags: vec![("web.client_id", toml::Value::String("mine".into()))],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(configured.web_client_id().as_deref(), Some("mine"));
    }

    #[test]
    fn unknown_key_in_file_is_named_with_its_section() {
        let err = demo_file("[github]\norgg = \"x\"\n").unwrap_err();
        assert_eq!(err.key, "github.orgg");
        assert!(err.problem.contains("unknown field"), "{}", err.problem);
    }

    #[test]
    fn unknown_top_level_key_is_refused() {
        let err = demo_file("org = \"SlideRuleEarth\"\n").unwrap_err();
        assert_eq!(err.key, "org");
    }

    #[test]
    fn wrong_type_names_the_key_and_the_expected_type() {
        let err = demo_file("[server]\nrequest_timeout_secs = \"soon\"\n").unwrap_err();
        assert_eq!(err.key, "server.request_timeout_secs");
        assert!(err.problem.contains("invalid type"), "{}", err.problem);
    }

    #[test]
    fn toml_syntax_error_names_the_file_and_line() {
        let err = demo_file("domain = \"a\"\n[github\n").unwrap_err();
        assert!(err.key.ends_with("line 2"), "{}", err.key);
    }

    #[test]
    fn environment_overrides_the_file_with_double_underscore_nesting() {
        let f = file("[github]\norg = \"FromFile\"\n");
        let config = demo(ConfigSources {
            file: Some(f.path()),
            env: env(&[
                ("SLIDERULE_GITHUB__ORG", "FromEnv"),
                ("SLIDERULE_SERVER__REQUEST_TIMEOUT_SECS", "5"),
                ("SLIDERULE_WEB__ALLOWED_ORIGINS", "[\"https://a.example\"]"),
                ("OTHER_VARIABLE", "ignored"),
            ]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.github.org, "FromEnv");
        assert_eq!(config.server.request_timeout_secs, 5);
        assert_eq!(config.web.allowed_origins, vec!["https://a.example"]);
    }

    #[test]
    fn unknown_environment_key_names_the_variable() {
        let err = demo(ConfigSources {
            env: env(&[("SLIDERULE_GITHUB_ORG", "x")]),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.key, "github_org (from SLIDERULE_GITHUB_ORG)");
    }

    #[test]
    fn the_python_clients_token_variable_is_not_configuration() {
        let config = demo(ConfigSources {
            env: env(&[("SLIDERULE_GITHUB_TOKEN", "ghp_secret")]),
            ..Default::default()
        });
        assert!(config.is_ok());
    }

    #[test]
    fn flags_override_environment() {
        let config = demo(ConfigSources {
            env: env(&[("SLIDERULE_BIND", "\"127.0.0.1:9000\"")]),
            flags: vec![("bind", toml::Value::String("127.0.0.1:0".into()))],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.bind.port(), 0);
    }

    #[test]
    fn secret_file_is_read_and_trimmed() {
        let secret = file("s3cr3t\n");
        let f = file(&format!(
            "[github]\nclient_secret_file = {:?}\n",
            secret.path().display().to_string()
        ));
        let config = demo(ConfigSources {
            file: Some(f.path()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.github.client_secret.unwrap().expose(), "s3cr3t");
    }

    #[test]
    fn unreadable_secret_file_names_the_key() {
        let err =
            demo_file("[github]\nclient_secret_file = \"/nonexistent/secret\"\n").unwrap_err();
        assert_eq!(err.key, "github.client_secret_file");
        assert!(
            err.problem.contains("/nonexistent/secret"),
            "{}",
            err.problem
        );
    }

    #[test]
    fn secret_and_secret_file_together_are_refused() {
        let secret = file("a");
        let f = file(&format!(
            "[github]\nclient_secret = \"b\"\nclient_secret_file = {:?}\n",
            secret.path().display().to_string()
        ));
        let err = demo(ConfigSources {
            file: Some(f.path()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.key, "github.client_secret_file");
    }

    #[test]
    fn redacted_output_hides_secrets() {
        let config = demo_file("[github]\nclient_secret = \"very-secret\"\n").unwrap();
        let printed = config.to_redacted_toml();
        assert!(!printed.contains("very-secret"));
        assert!(printed.contains("client_secret = \"***\""), "{printed}");
    }
}
