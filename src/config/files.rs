//! Uploads: how large, of which types, how long a presigned URL works, what one user may
//! hold, and where the development store keeps them.

use std::path::PathBuf;
use std::time::Duration;

use crate::domain::file::UploadQuota;

use super::parser::Parser;
use super::spec::SettingSpec;

#[derive(Debug, Clone)]
pub struct FileSettings {
    pub max_bytes: u64,
    pub allowed_types: Vec<String>,
    /// How long a presigned upload URL works.
    pub upload_url_ttl: Duration,
    /// What one user may hold in files outside the catalog.
    pub quota: UploadQuota,
    /// Where the local development store keeps uploads.
    pub dir: PathBuf,
}

impl FileSettings {
    pub(super) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "files_max_bytes",
            default: Some("10485760"),
            secret: false,
            help: "Largest file a client may declare, in bytes (1–5368709120). A presigned `PUT` \
                cannot enforce it; `complete` checks the stored size against the declared one.",
        },
        SettingSpec {
            key: "files_allowed_types",
            default: Some("image/jpeg,image/png,image/webp,image/gif,application/pdf"),
            secret: false,
            help: "Comma-separated media types a client may upload.",
        },
        SettingSpec {
            key: "files_upload_url_ttl_secs",
            default: Some("900"),
            secret: false,
            help: "How long a presigned upload URL works (1–604800). A file still pending twice \
                this long after it was announced is deleted, record and object, by the sweeps \
                (`BAZAAR_ORDER_SWEEP_INTERVAL_SECS`).",
        },
        SettingSpec {
            key: "files_quota_count",
            default: Some("100"),
            secret: false,
            help: "Most files one user may hold outside the catalog: pending and complete files \
                that no product shows. One more answers `409 upload_quota_exceeded`. `0` means \
                no limit. See [files.md](files.md#states-and-limits).",
        },
        SettingSpec {
            key: "files_quota_bytes",
            default: Some("209715200"),
            secret: false,
            help: "Most declared bytes one user may hold in those files (200 MiB). `0` means no \
                limit.",
        },
        SettingSpec {
            key: "files_dir",
            default: None,
            secret: false,
            help: "Directory of the development object store (only without `BAZAAR_S3_ENDPOINT`). \
                Unset: `bazaar-uploads` in the OS temp dir.",
        },
    ];

    pub(super) fn parse(p: &mut Parser) -> Self {
        let max_bytes: u64 = p.parse("files_max_bytes", "a number of bytes", 10 << 20);
        if !(1..=5 << 30).contains(&max_bytes) {
            p.fail("files_max_bytes", "must be between 1 and 5368709120".into());
        }
        let allowed_types: Vec<String> = p
            .list("files_allowed_types")
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        if allowed_types.is_empty() {
            p.fail(
                "files_allowed_types",
                "must name at least one media type".into(),
            );
        }
        for media_type in &allowed_types {
            if !crate::domain::file::is_media_type(media_type) {
                let why = format!("`{media_type}` is not a media type like image/png");
                p.fail("files_allowed_types", why);
            }
        }
        let upload_url_ttl: u64 = p.parse(
            "files_upload_url_ttl_secs",
            "a whole number of seconds",
            900,
        );
        // S3's bounds on a presigned URL's validity.
        if !(1..=604_800).contains(&upload_url_ttl) {
            p.fail(
                "files_upload_url_ttl_secs",
                "must be between 1 and 604800 (7 days)".into(),
            );
        }
        let quota = UploadQuota {
            max_files: Some(p.parse("files_quota_count", "a number of files", 100))
                .filter(|&n: &u64| n > 0),
            max_bytes: Some(p.parse("files_quota_bytes", "a number of bytes", 200 << 20))
                .filter(|&n: &u64| n > 0),
        };
        let dir = p
            .raw("files_dir")
            .map(|dir| PathBuf::from(dir.trim()))
            .unwrap_or_else(|| std::env::temp_dir().join("bazaar-uploads"));
        Self {
            max_bytes,
            allowed_types,
            upload_url_ttl: Duration::from_secs(upload_url_ttl),
            quota,
            dir,
        }
    }
}
