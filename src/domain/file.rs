//! Uploaded files: what a client may declare before uploading (an allow-listed content type
//! and a size within the limit), how much each user may hold ([`UploadQuota`]), and the
//! record Bazaar keeps of each upload.
//!
//! The bytes live in an object store under a key Bazaar derives from the owner and the file
//! id ([`ObjectKey::for_file`]); nothing a client sends ever becomes part of a key.

use chrono::{DateTime, Utc};

use super::ids::UserId;
use super::time::truncate_to_millis;
use super::validation::{Collector, FieldError};

pub use super::ids::FileId;

/// A media type from the allow-list, lower-case, without parameters (`image/png`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType(String);

impl ContentType {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, which only ever holds parsed values.
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    /// Whether a `Content-Type` an object store reports is this type. Stores echo what the
    /// upload sent; case and surrounding spaces do not make it another type.
    pub fn matches(&self, reported: &str) -> bool {
        reported.trim().eq_ignore_ascii_case(&self.0)
    }
}

/// The declared size of an upload in bytes: at least 1, at most the configured limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeclaredSize(u64);

impl DeclaredSize {
    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn trusted(value: u64) -> Self {
        Self(value)
    }
}

/// What uploads may be: which media types and how large. Built from settings.
#[derive(Debug, Clone)]
pub struct FilePolicy {
    allowed_types: Vec<String>,
    max_bytes: u64,
}

/// The default allow-list: common web images and PDF.
pub const DEFAULT_ALLOWED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "application/pdf",
];

/// The default size limit: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;

/// Whether `raw` has the shape of a bare media type (`type/subtype`, RFC 6838 characters).
pub fn is_media_type(raw: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(raw.split_once('/'), Some((kind, sub)) if token(kind) && token(sub))
}

impl FilePolicy {
    /// `allowed_types` are compared case-insensitively; `max_bytes` is at least 1.
    pub fn new(allowed_types: Vec<String>, max_bytes: u64) -> Self {
        Self {
            allowed_types: allowed_types
                .into_iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            max_bytes: max_bytes.max(1),
        }
    }

    pub fn allowed_types(&self) -> &[String] {
        &self.allowed_types
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Parses a declared content type. Parameters (`; charset=…`) are refused rather than
    /// dropped: the type is signed into the upload URL and must be sent exactly.
    pub fn content_type(&self, field: &str, raw: &str) -> Result<ContentType, FieldError> {
        let normalised = raw.trim().to_ascii_lowercase();
        if !is_media_type(&normalised) {
            return Err(FieldError::new(
                field,
                "invalid_format",
                "must be a media type like `image/png`, without parameters",
            ));
        }
        if !self.allowed_types.contains(&normalised) {
            return Err(FieldError::new(
                field,
                "not_allowed",
                format!(
                    "`{normalised}` is not accepted; allowed: {}",
                    self.allowed_types.join(", ")
                ),
            ));
        }
        Ok(ContentType(normalised))
    }

    /// Parses a declared size in bytes.
    pub fn size(&self, field: &str, raw: i64) -> Result<DeclaredSize, FieldError> {
        if raw < 1 {
            return Err(FieldError::new(
                field,
                "must_be_positive",
                "must be at least 1 byte; empty files are not accepted",
            ));
        }
        let size = raw as u64;
        if size > self.max_bytes {
            return Err(FieldError::new(
                field,
                "too_large",
                format!("must be at most {} bytes", self.max_bytes),
            ));
        }
        Ok(DeclaredSize(size))
    }

    /// Parses a whole upload declaration, reporting every invalid field.
    pub fn parse(&self, raw: &RawUpload) -> Result<UploadDraft, Vec<FieldError>> {
        let mut errors = Collector::default();
        let content_type = errors.take(self.content_type("content_type", &raw.content_type));
        let size = errors.take(self.size("size", raw.size));
        match (content_type, size) {
            (Some(content_type), Some(size)) if errors.is_empty() => {
                Ok(UploadDraft { content_type, size })
            }
            _ => Err(errors.into_errors()),
        }
    }
}

/// How much one user may hold in files that are not (yet) part of the catalog: pending and
/// complete files, counted by number and by declared bytes. `None` means no limit. Files
/// published in the catalog (product images) no longer count: they belong to the shop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadQuota {
    pub max_files: Option<u64>,
    pub max_bytes: Option<u64>,
}

/// What one user holds against the quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileUsage {
    pub files: u64,
    pub bytes: u64,
}

impl FileUsage {
    /// This usage with one more file of `size` bytes.
    pub fn plus(self, size: DeclaredSize) -> Self {
        Self {
            files: self.files + 1,
            bytes: self.bytes.saturating_add(size.get()),
        }
    }
}

impl UploadQuota {
    /// Whether `usage` is within the quota.
    pub fn allows(&self, usage: FileUsage) -> bool {
        self.max_files.is_none_or(|max| usage.files <= max)
            && self.max_bytes.is_none_or(|max| usage.bytes <= max)
    }

    /// A sentence for the client naming the limits, e.g. `100 files and 209715200 bytes`.
    pub fn describe(&self) -> String {
        match (self.max_files, self.max_bytes) {
            (Some(files), Some(bytes)) => format!("{files} files and {bytes} bytes"),
            (Some(files), None) => format!("{files} files"),
            (None, Some(bytes)) => format!("{bytes} bytes"),
            (None, None) => "unlimited".to_owned(),
        }
    }
}

/// An upload as the client declares it, unchecked.
#[derive(Debug, Clone)]
pub struct RawUpload {
    pub content_type: String,
    pub size: i64,
}

/// A checked upload declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDraft {
    pub content_type: ContentType,
    pub size: DeclaredSize,
}

/// Where a file's bytes live in the object store: `uploads/{owner}/{file id}`. Both parts
/// are hex ids, so a key is always a valid, traversal-free object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn for_file(owner: &UserId, id: &FileId) -> Self {
        Self(format!("uploads/{owner}/{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }
}

/// Whether the bytes have been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Declared; the client may be uploading. Not usable yet.
    Pending,
    /// The object exists with the declared size and type.
    Complete,
    /// Never completed, and its upload window is long over: the sweep has claimed it and is
    /// removing its object, then the record. To everyone else it is already gone.
    Expired,
}

impl FileStatus {
    pub const ALL: [FileStatus; 3] = [Self::Pending, Self::Complete, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Complete => "complete",
            Self::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Bazaar's record of one uploaded (or announced) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: FileId,
    pub owner: UserId,
    pub content_type: ContentType,
    pub size: DeclaredSize,
    pub status: FileStatus,
    pub key: ObjectKey,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Shown by a product: any catalog manager may then attach it to other products. Only a
    /// file its uploader attached becomes public, so a customer's upload never does.
    pub public: bool,
}

impl FileRecord {
    /// A new pending file of `owner`. Its times are kept to the millisecond, as MongoDB
    /// stores them, so the record answered is the record read back later.
    pub fn create(owner: UserId, draft: UploadDraft, now: DateTime<Utc>) -> Self {
        let id = FileId::generate();
        Self {
            key: ObjectKey::for_file(&owner, &id),
            id,
            owner,
            content_type: draft.content_type,
            size: draft.size,
            status: FileStatus::Pending,
            created_at: truncate_to_millis(now),
            completed_at: None,
            public: false,
        }
    }

    /// The same file, checked complete at `at` (to the millisecond).
    pub fn completed(&self, at: DateTime<Utc>) -> Self {
        Self {
            status: FileStatus::Complete,
            completed_at: Some(truncate_to_millis(at)),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FilePolicy {
        FilePolicy::new(
            DEFAULT_ALLOWED_TYPES.iter().map(|t| (*t).into()).collect(),
            DEFAULT_MAX_BYTES,
        )
    }

    fn raw(content_type: &str, size: i64) -> RawUpload {
        RawUpload {
            content_type: content_type.into(),
            size,
        }
    }

    #[test]
    fn allowed_types_and_sizes_within_the_limit_parse() {
        let draft = policy().parse(&raw(" Image/PNG ", 1)).unwrap();
        assert_eq!(draft.content_type.as_str(), "image/png");
        assert_eq!(draft.size.get(), 1);
        assert!(policy().parse(&raw("application/pdf", 10 << 20)).is_ok());
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = policy().parse(&raw("text/html", 0)).unwrap_err();
        let codes: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            codes,
            [
                ("content_type", "not_allowed"),
                ("size", "must_be_positive")
            ]
        );
        let errors = policy().parse(&raw("image/png", 100 << 20)).unwrap_err();
        assert_eq!(errors[0].code, "too_large");
        for bad in ["image/png; charset=x", "png", "image/", "image/p g", ""] {
            let errors = policy().parse(&raw(bad, 5)).unwrap_err();
            assert_eq!(errors[0].code, "invalid_format", "{bad:?}");
        }
    }

    #[test]
    fn keys_come_from_the_owner_and_the_id_only() {
        let owner = UserId::parse("6650c0ffee0000000000abcd").unwrap();
        let id = FileId::parse("6650C0FFEE0000000000DCBA").unwrap();
        assert_eq!(
            ObjectKey::for_file(&owner, &id).as_str(),
            "uploads/6650c0ffee0000000000abcd/6650c0ffee0000000000dcba"
        );
    }

    #[test]
    fn a_quota_bounds_files_and_bytes_separately_and_none_means_no_limit() {
        let quota = UploadQuota {
            max_files: Some(2),
            max_bytes: Some(100),
        };
        let usage = |files, bytes| FileUsage { files, bytes };
        assert!(quota.allows(usage(2, 100)));
        assert!(!quota.allows(usage(3, 10)));
        assert!(!quota.allows(usage(1, 101)));
        let size = policy().size("size", 60).unwrap();
        assert!(!quota.allows(usage(1, 50).plus(size)));
        assert!(UploadQuota::default().allows(usage(u64::MAX, u64::MAX)));
        assert_eq!(quota.describe(), "2 files and 100 bytes");
    }

    #[test]
    fn reported_types_match_regardless_of_case() {
        let png = policy().content_type("t", "image/png").unwrap();
        assert!(png.matches("IMAGE/PNG"));
        assert!(!png.matches("image/jpeg"));
    }
}
