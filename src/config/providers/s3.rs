//! S3 (or a compatible server), where uploads are stored (`BAZAAR_S3_*`).

use secrecy::SecretString;

use super::super::parser::Parser;
use super::super::spec::SettingSpec;

/// The bucket for uploads and the keys that sign its URLs.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub path_style: bool,
}

impl S3Config {
    pub(in crate::config) const SETTINGS: &'static [SettingSpec] = &[
        SettingSpec {
            key: "s3_endpoint",
            default: None,
            secret: false,
            help: "S3 API root without the bucket: `https://s3.ap-south-1.amazonaws.com`, or a \
                compatible server (MinIO, SeaweedFS, R2). Unset outside production: uploads go \
                to `BAZAAR_FILES_DIR` and are served by the dev server under `/dev/uploads` (see \
                [files.md](files.md)). Required in production.",
        },
        SettingSpec {
            key: "s3_region",
            default: Some("us-east-1"),
            secret: false,
            help: "The bucket's region; part of every signature.",
        },
        SettingSpec {
            key: "s3_bucket",
            default: None,
            secret: false,
            help:
                "The bucket uploads go to (required with the endpoint). It needs a CORS rule for \
                your frontend's origin; see [files.md](files.md).",
        },
        SettingSpec {
            key: "s3_access_key_id",
            default: None,
            secret: false,
            help: "Access key id (required with the endpoint). Not secret: it appears in every \
                presigned URL. The key needs `s3:PutObject`, `s3:GetObject` and \
                `s3:DeleteObject` on the bucket (`HEAD` is `GetObject`).",
        },
        SettingSpec {
            key: "s3_secret_access_key",
            default: None,
            secret: true,
            help: "The secret access key (required with the endpoint); it signs, never travels.",
        },
        SettingSpec {
            key: "s3_path_style",
            default: Some("false"),
            secret: false,
            help: "`true`: URLs are `{endpoint}/{bucket}/{key}` (IP endpoints and most compatible \
                servers). `false`: AWS's virtual-hosted `{bucket}.{host}/{key}`.",
        },
    ];

    /// The S3 settings, all or nothing: with `s3_endpoint` set, the bucket and both keys are
    /// required too.
    pub(super) fn parse(p: &mut Parser) -> Option<Self> {
        let endpoint = p.raw("s3_endpoint").map(|e| e.trim().to_owned());
        let region = p.string("s3_region");
        let bucket = p.string("s3_bucket");
        let access_key_id = p.string("s3_access_key_id");
        let secret = p.raw("s3_secret_access_key").map(str::to_owned);
        let path_style = match p.string("s3_path_style").as_str() {
            "true" => true,
            "false" => false,
            _ => {
                p.fail("s3_path_style", "must be `true` or `false`".into());
                false
            }
        };
        let Some(endpoint) = endpoint else {
            for key in ["s3_bucket", "s3_access_key_id", "s3_secret_access_key"] {
                if p.raw(key).is_some() {
                    p.fail(
                        key,
                        "is only used with BAZAAR_S3_ENDPOINT, which is not set".into(),
                    );
                }
            }
            return None;
        };
        if url::Url::parse(&endpoint)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            p.fail("s3_endpoint", "must be an http(s) URL".into());
        }
        if region.is_empty() {
            p.fail("s3_region", "must not be empty".into());
        }
        for (key, value) in [("s3_bucket", &bucket), ("s3_access_key_id", &access_key_id)] {
            if value.is_empty() {
                p.fail(key, "is required with BAZAAR_S3_ENDPOINT".into());
            }
        }
        if secret.is_none() {
            p.fail(
                "s3_secret_access_key",
                "is required with BAZAAR_S3_ENDPOINT".into(),
            );
        }
        Some(Self {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key: SecretString::from(secret.unwrap_or_default()),
            path_style,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::vars;
    use crate::config::Settings;

    #[test]
    fn s3_settings_come_all_together_and_keep_the_secret_out_of_errors() {
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_S3_ENDPOINT", "ftp://store"),
                ("BAZAAR_S3_SECRET_ACCESS_KEY", "hunter2"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        for name in [
            "BAZAAR_S3_ENDPOINT",
            "BAZAAR_S3_BUCKET",
            "BAZAAR_S3_ACCESS_KEY_ID",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert!(!text.contains("hunter2"), "{text}");
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert!(s.providers.s3.is_none());
        assert_eq!(s.files.max_bytes, 10 << 20);
        assert_eq!(s.files.allowed_types.len(), 5);
        let err = Settings::from_sources(
            None,
            vars(&[("BAZAAR_FILES_ALLOWED_TYPES", "image/png,png; x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("BAZAAR_FILES_ALLOWED_TYPES"));
    }
}
