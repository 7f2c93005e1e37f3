//! The driver's settings: what it needs besides AWS's own configuration, and how that AWS
//! configuration is loaded.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region};

use super::convert;
use crate::cloud::CloudError;
use crate::config::{AwsConfig, Config};

/// The bundled cluster template (`deploy/cluster.yaml`).
pub const BUNDLED_TEMPLATE: &str = include_str!("../../../../../deploy/cluster.yaml");

/// What the driver needs besides AWS's own configuration.
#[derive(Clone)]
pub struct CloudFormationSettings {
    /// The `sliderule:deployment` tag of this installation's stacks.
    pub deployment: String,
    /// The service's domain (parameter `Domain`; empty when unset, which skips the DNS record
    /// in the bundled template).
    pub domain: Option<String>,
    /// The authenticator's issuer URL (parameter `JwtIssuer`).
    pub jwt_issuer: String,
    /// The cluster template, YAML or JSON.
    pub template_body: String,
    /// Operator extras passed to every stack (e.g. `VpcId`, `SubnetIds`, `NodeInstanceType`).
    pub parameters: BTreeMap<String, String>,
    /// Where the test runner writes its summaries (`provisioner.project_bucket`).
    pub project_bucket: Option<String>,
}

impl std::fmt::Debug for CloudFormationSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The template is kilobytes of YAML: its size says enough.
        f.debug_struct("CloudFormationSettings")
            .field("deployment", &self.deployment)
            .field("domain", &self.domain)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("template_bytes", &self.template_body.len())
            .field("parameters", &self.parameters)
            .field("project_bucket", &self.project_bucket)
            .finish()
    }
}

impl CloudFormationSettings {
    /// The settings `config` gives, with the template read from `provisioner.template_file`
    /// (the bundled one when unset). Reads a file: call it at start-up.
    pub fn from_config(config: &Config, jwt_issuer: String) -> Result<Self, CloudError> {
        Ok(Self {
            deployment: config.deployment(),
            domain: config.domain.clone(),
            jwt_issuer,
            template_body: read_template(config.provisioner.template_file.as_deref())?,
            parameters: config.provisioner.parameters.clone(),
            project_bucket: config.provisioner.project_bucket.clone(),
        })
    }

    pub(super) fn check(&self) -> Result<(), CloudError> {
        let refuse = |problem: String| Err(CloudError::Unavailable(problem));
        if self.deployment.trim().is_empty() {
            return refuse("the provisioner's deployment id is empty".into());
        }
        if self.template_body.trim().is_empty() {
            return refuse("the cluster template is empty".into());
        }
        if let Some(key) = self
            .parameters
            .keys()
            .find(|key| convert::CORE_PARAMETERS.contains(&key.as_str()))
        {
            return refuse(format!(
                "provisioner.parameters sets {key}, which the provisioner sets itself for \
                 every cluster"
            ));
        }
        Ok(())
    }
}

/// The operator's template at `path`, or the bundled one.
pub fn read_template(path: Option<&Path>) -> Result<String, CloudError> {
    match path {
        None => Ok(BUNDLED_TEMPLATE.to_owned()),
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CloudError::Unavailable(format!(
                "cannot read the cluster template {}: {e}",
                path.display()
            ))
        }),
    }
}

/// The AWS configuration loader the driver uses: the standard chain, with the region and
/// endpoint from our configuration, retries and timeouts. Tests add their own credentials.
pub fn config_loader(aws: &AwsConfig) -> ConfigLoader {
    // Standard mode retries throttling and transient errors with jittered exponential backoff.
    // The backoff is capped well below the default 20 s: a person is waiting for the answer.
    let retry = RetryConfig::standard()
        .with_max_attempts(4)
        .with_max_backoff(Duration::from_secs(4));
    // Bounded so a hung connection fails the request rather than holding it forever.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(40))
        .build();
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(aws.region.clone()))
        .retry_config(retry)
        .timeout_config(timeouts);
    match &aws.endpoint_url {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CloudFormationSettings {
        CloudFormationSettings {
            deployment: "prod".into(),
            domain: None,
            jwt_issuer: "https://login.example.org".into(),
            template_body: BUNDLED_TEMPLATE.into(),
            parameters: BTreeMap::new(),
            project_bucket: None,
        }
    }

    #[test]
    fn settings_refuse_extras_that_shadow_the_drivers_parameters() {
        let mut shadowing = settings();
        shadowing
            .parameters
            .insert("NodeCapacity".into(), "3".into());
        let err = shadowing.check().unwrap_err().to_string();
        assert!(err.contains("NodeCapacity"), "{err}");
        assert!(settings().check().is_ok());
        let nameless = CloudFormationSettings {
            deployment: " ".into(),
            ..settings()
        };
        assert!(nameless.check().is_err());
    }

    #[test]
    fn the_template_is_the_bundled_one_unless_a_file_is_named() {
        assert_eq!(read_template(None).unwrap(), BUNDLED_TEMPLATE);
        let err = read_template(Some(Path::new("/nonexistent/cluster.yaml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/cluster.yaml"), "{err}");
    }
}
