//! Reports of many clusters: `/report/clusters` (each caller sees the clusters they may use,
//! owners every one) and v5's `/report` (owners).

use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::ClusterReport;

use super::Provisioner;
use super::caller::Caller;
use crate::http::error::ApiError;

impl Provisioner {
    /// Every open cluster the caller may use, by name.
    pub async fn report(&self, caller: &Caller) -> Result<ClusterReport, ApiError> {
        let records = self.store.open_clusters().await?;
        let mut report = ClusterReport::new();
        for record in records {
            let Ok(cluster) = ClusterName::parse(&record.cluster) else {
                continue;
            };
            if !caller.claims.may_use_cluster(&cluster) {
                continue;
            }
            let view = self.view(&cluster).await?;
            report.insert(cluster, view.summary());
        }
        Ok(report)
    }
}
