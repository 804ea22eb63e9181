//! Which regions to scan in one account: the ones it has enabled (opt-in regions differ per
//! account), narrowed by `--regions`. A requested region the account has not enabled is noted,
//! never called.

use crate::access::aws_error::AwsFailure;
use crate::access::AccountAccess;

const ENABLED: [&str; 2] = ["opt-in-not-required", "opted-in"];
/// CloudFront certificates live here whatever the account's regions.
const CLOUDFRONT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionChoice {
    pub scan: Vec<String>,
    pub not_enabled: Vec<String>,
}

pub async fn choose(
    access: &AccountAccess,
    requested: Option<&[String]>,
    partition: &str,
) -> Result<RegionChoice, AwsFailure> {
    let out = access
        .ec2()
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| AwsFailure::from_sdk(&e))?;
    let enabled: Vec<String> = out
        .regions()
        .iter()
        .filter(|r| r.opt_in_status().is_some_and(|s| ENABLED.contains(&s)))
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    Ok(narrow(enabled, requested, partition))
}

/// Pure part of `choose`: the enabled set, narrowed and sorted.
pub fn narrow(
    mut enabled: Vec<String>,
    requested: Option<&[String]>,
    partition: &str,
) -> RegionChoice {
    if partition == "aws" && requested.is_none() && !enabled.iter().any(|r| r == CLOUDFRONT_REGION)
    {
        enabled.push(CLOUDFRONT_REGION.to_string());
    }
    enabled.sort();
    enabled.dedup();
    match requested {
        None => RegionChoice {
            scan: enabled,
            not_enabled: Vec::new(),
        },
        Some(wanted) => {
            let (scan, not_enabled) = wanted.iter().cloned().partition(|r| enabled.contains(r));
            RegionChoice { scan, not_enabled }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn requested_regions_not_enabled_are_noted_not_scanned() {
        let choice = narrow(
            names(&["eu-west-1", "us-east-1"]),
            Some(&names(&["ap-east-1", "eu-west-1"])),
            "aws",
        );
        assert_eq!(choice.scan, names(&["eu-west-1"]));
        assert_eq!(choice.not_enabled, names(&["ap-east-1"]));
    }

    #[test]
    fn default_never_drops_us_east_1() {
        let choice = narrow(names(&["eu-west-1"]), None, "aws");
        assert_eq!(choice.scan, names(&["eu-west-1", "us-east-1"]));
    }
}
