//! Chooses and builds the configured cloud driver.

use std::sync::Arc;
use std::time::Duration;

use super::Cloud;
use super::simulated::SimulatedCloud;
use crate::clock::Clock;
use crate::config::{CloudDriver, Config};
use crate::store::Store;

/// The driver `provisioner.cloud` names (the mode's default when unset).
pub async fn from_config(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    jwt_issuer: &str,
) -> anyhow::Result<Arc<dyn Cloud>> {
    let _ = jwt_issuer;
    match config.cloud() {
        CloudDriver::Simulated => Ok(Arc::new(SimulatedCloud::new(
            store,
            clock,
            Duration::from_secs_f64(config.demo.cloud_delay_secs.max(0.0)),
            config.deployment(),
        ))),
        CloudDriver::Cloudformation => {
            anyhow::bail!("the CloudFormation driver is being written")
        }
    }
}
