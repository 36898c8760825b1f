//! Bearer authentication and the permission guard, for every protected operation.

use std::marker::PhantomData;
use std::sync::Arc;

use poem::{Request, RequestBody};
use poem_openapi::auth::Bearer;
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};

use super::pipeline::{ClientInfo, RequestId, VerifiedToken};
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::{Identity, Permission, Principal, RequestContext};
use crate::domain::audit::AuditKind;

/// An access token from `POST /api/v1/auth/login` (or `otp/verify`, `refresh`),
/// sent as `Authorization: Bearer <access_token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "authenticate")]
pub struct BearerAuth(pub Principal);

/// A caller already authenticated (session and user checked) for this request's bearer
/// token, by a layer that needed to know who it is before the operation runs
/// (`Idempotency-Key`), so that the security scheme need not check again.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub token: Arc<str>,
    pub principal: Principal,
}

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    if let Some(done) = req.data::<Authenticated>() {
        if *done.token == *bearer.token {
            return Ok(done.principal.clone());
        }
    }
    let identity = req
        .data::<Arc<Identity>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("identity missing from request data")))?;
    let principal = match req.data::<VerifiedToken>() {
        Some(v) if *v.token == *bearer.token => {
            identity.authenticate_claims(v.claims.clone()).await?
        }
        _ => identity.authenticate(&bearer.token).await?,
    };
    match principal {
        Some(principal) => Ok(principal),
        None => Err(AppError::new(
            ErrorCode::Unauthorized,
            "the access token is invalid, expired, or its session has ended; refresh it or sign in again",
        )
        .into()),
    }
}

/// The audit context of a request.
pub fn context(req: &Request) -> RequestContext {
    let client = req.data::<ClientInfo>();
    RequestContext {
        request_id: req
            .data::<RequestId>()
            .map(|r| r.0.to_string())
            .unwrap_or_default(),
        ip: client.map(ClientInfo::ip_text).unwrap_or_default(),
        user_agent: req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect(),
    }
}

/// A permission as a type, for [`Permit`].
pub trait Needs: Send + Sync + 'static {
    const PERMISSION: Permission;
}

/// One marker type per [`Permission`], named as its variant.
pub mod needs {
    use super::{Needs, Permission};

    macro_rules! markers {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("Needs [`Permission::", stringify!($name), "`].")]
            pub struct $name;
            impl Needs for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }

    markers!(
        ProductsWrite,
        FilesRead,
        FilesWrite,
        OrdersRead,
        OrdersWrite,
        OrdersManage,
        PaymentsRefund,
        WebhooksManage,
        AnalyticsRead,
        AuditRead,
        UsersRead,
        UsersWrite,
        OutboxRead,
        OutboxWrite,
        ShippingManage,
        CouponsManage,
    );
}

/// A caller signed in with a bearer token ([`BearerAuth`]) who holds `P`'s permission:
/// `auth: Permit<needs::OrdersWrite>` in an operation's signature is its whole check, done
/// before the operation runs. Anyone else gets 403, and the refusal is audited.
pub struct Permit<P>(pub Principal, PhantomData<fn() -> P>);

impl<'a, P: Needs> ApiExtractor<'a> for Permit<P> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = <BearerAuth as ApiExtractor<'a>>::ParamType;
    type ParamRawType = <BearerAuth as ApiExtractor<'a>>::ParamRawType;

    fn register(registry: &mut Registry) {
        <BearerAuth as ApiExtractor<'a>>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        <BearerAuth as ApiExtractor<'a>>::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let BearerAuth(who) = BearerAuth::from_request(req, body, param_opts).await?;
        let identity = req.data::<Arc<Identity>>().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("identity missing from request data"))
        })?;
        require(identity, &who, P::PERMISSION, req).await?;
        Ok(Self(who, PhantomData))
    }
}

/// Refuses (403, audited) unless the caller holds `permission`.
async fn require(
    identity: &Identity,
    who: &Principal,
    permission: Permission,
    req: &Request,
) -> Result<(), AppError> {
    if who.can(permission) {
        return Ok(());
    }
    identity
        .record(
            AuditKind::PermissionDenied,
            Some(&who.user_id),
            None,
            &context(req),
            permission.as_str().to_owned(),
        )
        .await;
    Err(AppError::new(
        ErrorCode::Forbidden,
        format!("this needs the `{}` permission", permission.as_str()),
    ))
}
