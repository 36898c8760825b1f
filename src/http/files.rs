//! `/api/v1/files`: thin handlers over the file use cases (`crate::app::files`). The bytes go
//! straight between the browser and the object store through presigned URLs; see
//! `docs/files.md` for the browser's side of the flow.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::contract::ApiTags;
use super::id_param::IdParam;
use super::json_body::JsonBody;
use super::problem::Problems;
use super::security::{needs, Permit};
use super::wire::Wire;
use crate::app::files::{FileView, Files, Upload};
use crate::app::identity::Identity;
use crate::domain::file::{FileRecord, FileStatus, RawUpload};
use crate::domain::ids::FileId;
use crate::error_set;
use bazaar_adapters::s3::PresignedRequest;

error_set!(
    /// Errors of announcing an upload.
    CreateFileErrors: ANY, PERMITTED, BODY; UploadQuotaExceeded, Conflict
);
error_set!(
    /// Errors of completing an upload.
    CompleteFileErrors: ANY, PERMITTED; NotFound, UploadMissing, UploadMismatch, Conflict, ValidationFailed
);
error_set!(
    /// Errors of reading or deleting a file.
    FileErrors: ANY, PERMITTED; NotFound
);

const BASE: &str = "/api/v1/files";

/// An upload to announce: what the browser is about to send.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct FileInput {
    /// Media type of the file, without parameters: one of the allowed types
    /// (`BAZAAR_FILES_ALLOWED_TYPES`; by default `image/jpeg`, `image/png`, `image/webp`,
    /// `image/gif`, `application/pdf`). The upload must send exactly this `Content-Type`.
    #[oai(validator(
        min_length = 3,
        max_length = 255,
        pattern = r"^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}$"
    ))]
    pub content_type: String,
    /// Exact size in bytes (the browser's `File.size`): at least 1, at most the limit
    /// (`BAZAAR_FILES_MAX_BYTES`, 10 MiB by default).
    #[oai(validator(minimum(value = "1"), maximum(value = "9007199254740991")))]
    pub size: i64,
}

impl Example for FileInput {
    fn example() -> Self {
        Self {
            content_type: "image/png".into(),
            size: 48_213,
        }
    }
}

/// A request the browser makes directly to the object store, without the access token.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "PresignedRequest")]
pub struct PresignedRequestBody {
    /// `PUT` for an upload, `GET` for a download.
    pub method: String,
    /// The presigned URL. It is a credential for this one object until `expires_at`: do not
    /// log or share it.
    pub url: String,
    /// Headers to send exactly as given (they are signed); empty for downloads. An upload's
    /// include `If-None-Match: *`: the URL creates the object once and can never replace it.
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

impl From<&PresignedRequest> for PresignedRequestBody {
    fn from(r: &PresignedRequest) -> Self {
        Self {
            method: r.method.to_owned(),
            url: r.url.clone(),
            headers: r.headers.iter().cloned().collect(),
            expires_at: DateTime::<Utc>::from(r.expires_at),
        }
    }
}

fn example_time(offset_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + offset_secs, 0).unwrap_or_default()
}

impl Example for PresignedRequestBody {
    fn example() -> Self {
        Self {
            method: "PUT".into(),
            url: "https://bazaar-uploads.s3.ap-south-1.amazonaws.com/uploads/6650c0ffee0000000000a001/6650c0ffee0000000000f001?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=…".into(),
            headers: BTreeMap::from([
                ("Content-Type".into(), "image/png".into()),
                ("If-None-Match".into(), "*".into()),
            ]),
            expires_at: example_time(900),
        }
    }
}

/// A file: announced (`pending`) or uploaded and checked (`complete`).
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "File")]
pub struct FileBody {
    /// Server-assigned id, 24 hexadecimal characters. Products refer to images by it.
    pub id: String,
    /// The declared media type.
    pub content_type: String,
    /// The declared size in bytes.
    pub size: u64,
    pub status: Wire<FileStatus>,
    pub created_at: DateTime<Utc>,
    /// When the upload was confirmed; absent while pending.
    #[oai(skip_serializing_if_is_none)]
    pub completed_at: Option<DateTime<Utc>>,
    /// A short-lived download URL (5 minutes); only on `getFile` of a complete file. Ask
    /// again rather than store it.
    #[oai(skip_serializing_if_is_none)]
    pub download: Option<PresignedRequestBody>,
}

impl FileBody {
    fn new(file: &FileRecord, download: Option<&PresignedRequest>) -> Self {
        Self {
            id: file.id.to_string(),
            content_type: file.content_type.as_str().to_owned(),
            size: file.size.get(),
            status: Wire(file.status),
            created_at: file.created_at,
            completed_at: file.completed_at,
            download: download.map(Into::into),
        }
    }
}

impl From<&FileView> for FileBody {
    fn from(view: &FileView) -> Self {
        Self::new(&view.file, view.download.as_ref())
    }
}

impl Example for FileBody {
    fn example() -> Self {
        Self {
            id: "6650c0ffee0000000000f001".into(),
            content_type: "image/png".into(),
            size: 48_213,
            status: Wire(FileStatus::Complete),
            created_at: example_time(0),
            completed_at: Some(example_time(12)),
            download: Some(PresignedRequestBody {
                method: "GET".into(),
                url: "https://bazaar-uploads.s3.ap-south-1.amazonaws.com/uploads/6650c0ffee0000000000a001/6650c0ffee0000000000f001?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=…".into(),
                headers: BTreeMap::new(),
                expires_at: example_time(312),
            }),
        }
    }
}

/// An announced file and where to upload it.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "FileUpload")]
pub struct FileUploadBody {
    /// The new file, `pending`.
    pub file: FileBody,
    /// Send the bytes with this request (valid 15 minutes by default), then call
    /// `completeFile`. It uploads once: a second `PUT` is refused (412) by the store.
    pub upload: PresignedRequestBody,
}

impl From<&Upload> for FileUploadBody {
    fn from(u: &Upload) -> Self {
        Self {
            file: FileBody::new(&u.file, None),
            upload: (&u.request).into(),
        }
    }
}

impl Example for FileUploadBody {
    fn example() -> Self {
        Self {
            file: FileBody {
                status: Wire(FileStatus::Pending),
                completed_at: None,
                download: None,
                ..FileBody::example()
            },
            upload: PresignedRequestBody::example(),
        }
    }
}

#[derive(ApiResponse)]
pub enum CreateFileResponse {
    /// The file was announced; upload the bytes with `upload`.
    #[oai(status = 201)]
    Created(
        Json<FileUploadBody>,
        /// URL of the new file.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum FileResponse {
    /// The file.
    #[oai(status = 200)]
    Ok(Json<FileBody>),
}

#[derive(ApiResponse)]
pub enum DeleteFileResponse {
    /// The file and its bytes were deleted.
    #[oai(status = 204)]
    Deleted,
}

pub struct FilesApi {
    pub files: Arc<Files>,
    pub identity: Arc<Identity>,
}

/// Keeps a URL's expiry in logs without the URL.
fn expires_in(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::now())
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Files")]
impl FilesApi {
    /// Announce an upload
    ///
    /// Declares the content type and exact size of a file and answers a presigned
    /// request (`upload`) to send its bytes directly to the object store: `PUT` to
    /// `upload.url` with `upload.headers`, before `upload.expires_at`. Then call
    /// `completeFile`. Needs `files:write` (every signed-in customer has it). A type
    /// outside the allow-list, 0 bytes or more than the limit answers 422. Each user may
    /// hold a limited number and size of files not shown by a product (pending ones
    /// included); beyond it the answer is 409 `upload_quota_exceeded`.
    #[oai(path = "/files", method = "post", operation_id = "createFile")]
    async fn create_file(
        &self,
        auth: Permit<needs::FilesWrite>,
        body: JsonBody<FileInput>,
    ) -> Result<CreateFileResponse, Problems<CreateFileErrors>> {
        let raw = RawUpload {
            content_type: body.0.content_type,
            size: body.0.size,
        };
        let upload = self.files.create(&auth.0, raw).await?;
        tracing::debug!(
            expires_in = expires_in(upload.request.expires_at),
            "upload URL issued"
        );
        let location = format!("{BASE}/{}", upload.file.id);
        Ok(CreateFileResponse::Created(
            Json((&upload).into()),
            location,
        ))
    }

    /// Confirm an upload
    ///
    /// Checks with the object store that the bytes arrived with the declared size and
    /// type, and marks the file `complete`; only complete files can be downloaded or
    /// used by products. Calling it again on a complete file answers it unchanged.
    /// Nothing uploaded yet answers 409 `upload_missing`; an object of another size or
    /// type is deleted and answers 422 `upload_mismatch` (the file stays pending, so
    /// upload again while the URL works). Someone else's file answers 404. Once complete
    /// the bytes are final: the upload URL cannot replace them.
    #[oai(
        path = "/files/:id/complete",
        method = "post",
        operation_id = "completeFile"
    )]
    async fn complete_file(
        &self,
        auth: Permit<needs::FilesWrite>,
        /// File id (24 hexadecimal characters).
        id: Path<IdParam<FileId>>,
    ) -> Result<FileResponse, Problems<CompleteFileErrors>> {
        let file = self.files.complete(&auth.0, id.0.checked("id")?).await?;
        Ok(FileResponse::Ok(Json(FileBody::new(&file, None))))
    }

    /// Get a file
    ///
    /// The file's metadata and, once it is complete, a `download` request valid for
    /// 5 minutes. Owners and admins only; someone else's file answers 404.
    #[oai(path = "/files/:id", method = "get", operation_id = "getFile")]
    async fn get_file(
        &self,
        auth: Permit<needs::FilesRead>,
        /// File id (24 hexadecimal characters).
        id: Path<IdParam<FileId>>,
    ) -> Result<FileResponse, Problems<FileErrors>> {
        let view = self.files.get(&auth.0, id.0.checked("id")?).await?;
        Ok(FileResponse::Ok(Json((&view).into())))
    }

    /// Delete a file
    ///
    /// Deletes the bytes from the object store, then the file. Owners and admins only;
    /// someone else's file answers 404.
    #[oai(path = "/files/:id", method = "delete", operation_id = "deleteFile")]
    async fn delete_file(
        &self,
        auth: Permit<needs::FilesWrite>,
        /// File id (24 hexadecimal characters).
        id: Path<IdParam<FileId>>,
    ) -> Result<DeleteFileResponse, Problems<FileErrors>> {
        self.files.delete(&auth.0, id.0.checked("id")?).await?;
        Ok(DeleteFileResponse::Deleted)
    }
}
