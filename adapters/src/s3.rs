//! S3 and S3-compatible stores: SigV4-presigned uploads and downloads (catalog issue).
//!
//! Not implemented yet: this module is reserved by the service spine.
