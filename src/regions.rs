//! Which regions to scan in one account: the ones it has enabled (opt-in regions differ per
//! account), narrowed by `--regions`. A requested region the account has not enabled is noted,
//! never called; a requested name that is no region of the partition at all (a typo) is told
//! apart, so a scan never passes quietly over a region that was never there.

use crate::access::aws_error::AwsFailure;
use crate::access::AccountAccess;

/// The error code of a `--regions` name that is no region.
pub const UNKNOWN_REGION: &str = "unknown-region";

const ENABLED: [&str; 2] = ["opt-in-not-required", "opted-in"];
/// CloudFront certificates live here whatever the account's regions.
const CLOUDFRONT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionChoice {
    pub scan: Vec<String>,
    pub not_enabled: Vec<String>,
    /// Requested names that are no region of the partition, each with the closest region.
    pub unknown: Vec<UnknownRegion>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnknownRegion {
    pub name: String,
    pub closest: Option<String>,
}

impl UnknownRegion {
    pub fn message(&self, partition: &str) -> String {
        let home = partition_of(&self.name);
        if home != partition {
            return format!(
                "{} is a region of the {home} partition, and this caller is in the {partition} \
                 partition: nothing was scanned there. Scan it with credentials from {home}",
                self.name
            );
        }
        let hint = match &self.closest {
            Some(closest) => format!(" (did you mean {closest}?)"),
            None => String::new(),
        };
        format!(
            "{} is not a region of the {partition} partition{hint}: nothing was scanned there. \
             Check --regions",
            self.name
        )
    }
}

/// The partition a region name belongs to, by its prefix.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// One region as DescribeRegions tells it.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub enabled: bool,
}

pub async fn choose(
    access: &AccountAccess,
    requested: Option<&[String]>,
    partition: &str,
) -> Result<RegionChoice, AwsFailure> {
    // AllRegions: the disabled regions too, with their opt-in status, so that a region the
    // account has not enabled can be told from a name that is no region at all.
    let out = access
        .ec2()
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .map_err(|e| AwsFailure::from_sdk(&e))?;
    let regions: Vec<Region> = out
        .regions()
        .iter()
        .filter_map(|r| {
            Some(Region {
                name: r.region_name()?.to_string(),
                enabled: r.opt_in_status().is_some_and(|s| ENABLED.contains(&s)),
            })
        })
        .collect();
    Ok(narrow(&regions, requested, partition))
}

/// Pure part of `choose`: the enabled set, narrowed and sorted.
pub fn narrow(regions: &[Region], requested: Option<&[String]>, partition: &str) -> RegionChoice {
    let mut enabled: Vec<String> = regions
        .iter()
        .filter(|r| r.enabled)
        .map(|r| r.name.clone())
        .collect();
    if partition == "aws" && requested.is_none() && !enabled.iter().any(|r| r == CLOUDFRONT_REGION)
    {
        enabled.push(CLOUDFRONT_REGION.to_string());
    }
    enabled.sort();
    enabled.dedup();
    let Some(wanted) = requested else {
        return RegionChoice {
            scan: enabled,
            ..RegionChoice::default()
        };
    };
    let mut choice = RegionChoice::default();
    for name in wanted {
        if enabled.contains(name) {
            choice.scan.push(name.clone());
        } else if regions.iter().any(|r| &r.name == name) {
            choice.not_enabled.push(name.clone());
        } else {
            choice.unknown.push(UnknownRegion {
                name: name.clone(),
                closest: closest(name, regions),
            });
        }
    }
    choice
}

/// The region name nearest `name` by edit distance, if near enough to be a typo of it.
fn closest(name: &str, regions: &[Region]) -> Option<String> {
    regions
        .iter()
        .map(|r| (strsim::levenshtein(name, &r.name), &r.name))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, region)| region.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// eu-west-1 and us-east-1 enabled; ap-east-1 and me-central-1 known but not enabled.
    fn regions() -> Vec<Region> {
        [
            ("eu-west-1", true),
            ("us-east-1", true),
            ("ap-east-1", false),
            ("me-central-1", false),
        ]
        .iter()
        .map(|(name, enabled)| Region {
            name: name.to_string(),
            enabled: *enabled,
        })
        .collect()
    }

    #[test]
    fn a_region_of_another_partition_says_so() {
        let china = UnknownRegion {
            name: "cn-north-1".into(),
            closest: Some("eu-north-1".into()),
        };
        let message = china.message("aws");
        assert!(message.contains("aws-cn partition"), "{message}");
        assert!(!message.contains("did you mean"), "{message}");
        let typo = UnknownRegion {
            name: "us-eest-1".into(),
            closest: Some("us-east-1".into()),
        };
        assert!(typo.message("aws").contains("did you mean us-east-1?"));
    }

    #[test]
    fn requested_regions_not_enabled_are_noted_not_scanned() {
        let choice = narrow(&regions(), Some(&names(&["ap-east-1", "eu-west-1"])), "aws");
        assert_eq!(choice.scan, names(&["eu-west-1"]));
        assert_eq!(choice.not_enabled, names(&["ap-east-1"]));
        assert!(choice.unknown.is_empty());
    }

    #[test]
    fn a_requested_name_that_is_no_region_is_unknown_with_the_closest_region() {
        let choice = narrow(
            &regions(),
            Some(&names(&["us-eest-1", "mars-north-1", "eu-west-1"])),
            "aws",
        );
        assert_eq!(choice.scan, names(&["eu-west-1"]));
        assert!(choice.not_enabled.is_empty());
        assert_eq!(
            choice.unknown,
            vec![
                UnknownRegion {
                    name: "us-eest-1".into(),
                    closest: Some("us-east-1".into()),
                },
                UnknownRegion {
                    name: "mars-north-1".into(),
                    closest: None,
                },
            ]
        );
        assert_eq!(
            choice.unknown[0].message("aws"),
            "us-eest-1 is not a region of the aws partition (did you mean us-east-1?): nothing \
             was scanned there. Check --regions"
        );
    }

    #[test]
    fn default_never_drops_us_east_1() {
        let enabled_elsewhere = [Region {
            name: "eu-west-1".into(),
            enabled: true,
        }];
        let choice = narrow(&enabled_elsewhere, None, "aws");
        assert_eq!(choice.scan, names(&["eu-west-1", "us-east-1"]));
    }
}
