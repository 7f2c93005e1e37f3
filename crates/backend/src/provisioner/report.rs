//! Reports of many clusters: `/report/clusters` (each caller sees the clusters they may use,
//! owners every one) and v5's `/report` (owners).

use sliderule_protocol::ClusterName;
use sliderule_protocol::provisioner::ClusterReport;

use super::Provisioner;
use super::caller::Caller;
use super::error::ProvisionerError;
use super::status::View;

impl Provisioner {
    /// Every open cluster the caller may use or has a node group on, by name, with its node
    /// groups under `"users"`: the records and one batch question to the cloud, not a round
    /// trip per cluster (node groups are few, and asked one by one).
    pub async fn report(&self, caller: &Caller) -> Result<ClusterReport, ProvisionerError> {
        let mut node_groups = self.node_groups_by_cluster().await?;
        let login = caller.login().to_ascii_lowercase();
        let records: Vec<_> = self
            .store
            .open_clusters()
            .await?
            .into_iter()
            .filter_map(|record| {
                let cluster = ClusterName::parse(&record.cluster).ok()?;
                let has_nodes = node_groups
                    .get(&record.cluster)
                    .is_some_and(|users| users.contains_key(&login));
                (caller.claims.may_use_cluster(&cluster) || has_nodes).then_some((cluster, record))
            })
            .collect();
        let names: Vec<ClusterName> = records.iter().map(|(c, _)| c.clone()).collect();
        let described = self.cloud.describe_many(&names).await?;
        let mut report = ClusterReport::new();
        for ((cluster, record), (stack, current_nodes)) in records.into_iter().zip(described) {
            let view = View {
                cluster: cluster.clone(),
                record: Some(record),
                stack,
                current_nodes,
                organization: None,
            };
            let mut summary = view.summary();
            summary.users = node_groups.remove(cluster.as_str()).unwrap_or_default();
            report.insert(cluster, summary);
        }
        Ok(report)
    }
}
