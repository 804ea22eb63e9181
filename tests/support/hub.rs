//! Reading back what certaudit imported into Security Hub and wrote to S3, and keeping the
//! ExternalId in SSM, through the real SDKs, as the caller.

use std::collections::BTreeMap;

use aws_sdk_securityhub::types::AwsSecurityFinding;

use super::Fabric;

/// Run the test's own SDK calls on a thread with room for Security Hub's very large finding
/// type, which overflows a test thread's 2 MiB stack in debug builds.
pub fn block_on<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_stack_size(32 * 1024 * 1024)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(runtime.spawn(work)).unwrap()
}

/// Every finding in the caller's Security Hub, in whatever state.
pub fn all_findings(fabric: &Fabric) -> Vec<AwsSecurityFinding> {
    let client = aws_sdk_securityhub::Client::new(&fabric.sdk_config());
    block_on(async move {
        let mut pages = client
            .get_findings()
            .max_results(100)
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            all.extend(page.unwrap().findings().iter().cloned());
        }
        all
    })
}

/// Every finding in the caller's Security Hub, by certificate ARN.
pub fn findings(fabric: &Fabric) -> BTreeMap<String, AwsSecurityFinding> {
    all_findings(fabric)
        .into_iter()
        .map(|f| (f.resources()[0].id().unwrap().to_string(), f))
        .collect()
}

/// A bucket in the caller's account.
pub fn create_bucket(fabric: &Fabric, bucket: &str) {
    let client = aws_sdk_s3::Client::new(&fabric.sdk_config());
    let bucket = bucket.to_string();
    block_on(async move {
        client.create_bucket().bucket(bucket).send().await.unwrap();
    });
}

/// The ExternalId as the operator keeps it for the deployed function: a SecureString in the
/// caller's SSM Parameter Store.
pub fn put_secure_parameter(fabric: &Fabric, name: &str, value: &str) {
    put_parameter(
        fabric,
        name,
        value,
        aws_sdk_ssm::types::ParameterType::SecureString,
    );
}

/// An SSM parameter of any type (a plain `String` one is what certaudit must refuse).
pub fn put_parameter(
    fabric: &Fabric,
    name: &str,
    value: &str,
    kind: aws_sdk_ssm::types::ParameterType,
) {
    let client = aws_sdk_ssm::Client::new(&fabric.sdk_config());
    let (name, value) = (name.to_string(), value.to_string());
    block_on(async move {
        client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .send()
            .await
            .unwrap();
    });
}

/// Every object under `prefix`: key → body.
pub fn objects(fabric: &Fabric, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let client = aws_sdk_s3::Client::new(&fabric.sdk_config());
    let (bucket, prefix) = (bucket.to_string(), prefix.to_string());
    block_on(async move {
        let listed = client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        let mut all = BTreeMap::new();
        for object in listed.contents() {
            let key = object.key().unwrap().to_string();
            let body = client
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            let bytes = body.body.collect().await.unwrap().into_bytes().to_vec();
            all.insert(key, bytes);
        }
        all
    })
}
