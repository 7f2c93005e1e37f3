//! Test summaries from Amazon S3: `s3://<provisioner.project_bucket>/testrunner/<branch>-summary.json`,
//! where upstream's test runner writes them.

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use sliderule_protocol::provisioner::Branch;
use sliderule_protocol::provisioner::test_runner::summary_key;

use super::{CloudError, TestSummaries};

/// Summaries larger than this are refused rather than read (upstream's are a few kilobytes).
const MAX_SUMMARY_BYTES: usize = 1024 * 1024;

pub struct S3Summaries {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Summaries {
    /// Summaries in `bucket`, through `sdk` (the `aws` section's region and endpoint; path-style
    /// addressing, which moto and every region accept).
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
        }
    }
}

#[async_trait]
impl TestSummaries for S3Summaries {
    async fn summary(&self, branch: &Branch) -> Result<Option<serde_json::Value>, CloudError> {
        let key = summary_key(branch);
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await;
        let object = match answer {
            Ok(object) => object,
            Err(SdkError::ServiceError(e)) if matches!(e.err(), GetObjectError::NoSuchKey(_)) => {
                return Ok(None);
            }
            Err(error) => {
                return Err(CloudError::Unavailable(format!(
                    "Amazon S3 GetObject s3://{}/{key}: {}",
                    self.bucket,
                    DisplayErrorContext(&error)
                )));
            }
        };
        if object
            .content_length()
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > MAX_SUMMARY_BYTES))
        {
            return Err(CloudError::Unavailable(format!(
                "the summary s3://{}/{key} is larger than {MAX_SUMMARY_BYTES} bytes",
                self.bucket
            )));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| {
                CloudError::Unavailable(format!("reading s3://{}/{key}: {e}", self.bucket))
            })?
            .into_bytes();
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            CloudError::Unavailable(format!(
                "the summary s3://{}/{key} is not JSON: {e}",
                self.bucket
            ))
        })
    }
}
