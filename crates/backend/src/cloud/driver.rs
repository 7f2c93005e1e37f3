//! Chooses and builds the configured cloud driver.

use std::sync::Arc;
use std::time::Duration;

use super::cloudformation::{CloudFormationCloud, CloudFormationSettings, read_template};
use super::simulated::SimulatedCloud;
use super::{Cloud, TestSummaries};
use crate::clock::Clock;
use crate::config::{CloudDriver, Config, ConfigError};
use crate::store::{ClusterStore, Store};

/// The driver `provisioner.cloud` names (the mode's default when unset). An unreadable
/// `provisioner.template_file` or refused extra parameters are configuration errors.
pub async fn from_config(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    jwt_issuer: &str,
) -> anyhow::Result<Arc<dyn Cloud>> {
    match config.cloud() {
        CloudDriver::Simulated => {
            let mut cloud = SimulatedCloud::new(
                store,
                clock,
                Duration::from_secs_f64(config.demo.cloud_delay_secs.max(0.0)),
                config.deployment(),
            );
            if let Some(domain) = &config.domain {
                cloud = cloud.with_domain(domain.clone());
            }
            Ok(Arc::new(cloud))
        }
        CloudDriver::Cloudformation => {
            let template_body = read_template(config.provisioner.template_file.as_deref())
                .map_err(|e| ConfigError::new("provisioner.template_file", e.to_string()))?;
            let settings = CloudFormationSettings {
                deployment: config.deployment(),
                domain: config.domain.clone(),
                jwt_issuer: jwt_issuer.to_owned(),
                template_body,
                parameters: config.provisioner.parameters.clone(),
                project_bucket: config.provisioner.project_bucket.clone(),
            };
            let cloud = CloudFormationCloud::new(&config.aws, settings)
                .await
                .map_err(|e| ConfigError::new("provisioner.parameters", e.to_string()))?;
            Ok(Arc::new(cloud))
        }
    }
}

/// Where `/report/tests` reads summaries for the configured driver: the simulated cloud's runs,
/// or S3's `provisioner.project_bucket` (none when it is unset).
pub async fn summaries_from_config(
    config: &Config,
    store: Arc<dyn ClusterStore>,
    clock: Arc<dyn Clock>,
) -> Option<Arc<dyn TestSummaries>> {
    match config.cloud() {
        CloudDriver::Simulated => Some(Arc::new(SimulatedCloud::new(
            store,
            clock,
            Duration::from_secs_f64(config.demo.cloud_delay_secs.max(0.0)),
            config.deployment(),
        ))),
        CloudDriver::Cloudformation => {
            let bucket = config.provisioner.project_bucket.as_deref()?;
            let sdk = super::cloudformation::config_loader(&config.aws)
                .load()
                .await;
            Some(Arc::new(super::s3::S3Summaries::new(&sdk, bucket)))
        }
    }
}
