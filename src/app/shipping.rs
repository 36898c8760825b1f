//! Shipping: staff's zones (create, replace, delete, each audited with the actor) and the
//! quote the checkout and the storefront ask for (`Shipping::quote`). When no zone is
//! stored at all, the settings' default zone (all of India) answers, so `make run` delivers
//! out of the box; see docs/storefront.md, "Shipping".

use std::sync::Arc;

use crate::app::errors::AppError;
use crate::app::identity::{Principal, RequestContext};
use crate::app::staff_audit::StaffAudit;
use crate::domain::audit::AuditKind;
use crate::domain::ids::ZoneId;
use crate::domain::money::Paise;
use crate::domain::shipping::{
    self, Destination, GstState, RawZone, Serviceability, ShippingZone, ZoneDraft,
};
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::validation::{Collector, FieldError};
use crate::store::{AuditRepository, ShippingZoneRepository, StoreError};

/// The id the default zone answers with: it is not stored, and no stored zone has it.
pub const DEFAULT_ZONE_ID: &str = "000000000000000000000000";

pub struct Shipping {
    zones: Arc<dyn ShippingZoneRepository>,
    /// The zone that covers all of India while none is stored; `None` to deliver nowhere.
    default_zone: Option<ShippingZone>,
    /// Records staff changes in the audit trail.
    audit: StaffAudit,
    clock: SharedClock,
}

impl Shipping {
    pub fn new(zones: Arc<dyn ShippingZoneRepository>, audit: Arc<dyn AuditRepository>) -> Self {
        Self {
            zones,
            default_zone: None,
            audit: StaffAudit::new(audit, AuditKind::ShippingZoneChanged),
            clock: SystemClock::shared(),
        }
    }

    /// Answers with `zone` (its states set to all of India) while no zone is stored.
    pub fn with_default_zone(self, zone: Option<ZoneDraft>) -> Self {
        let default_zone = zone.map(|mut zone| {
            zone.states = GstState::all();
            zone.pincode_prefixes.clear();
            let at = chrono::DateTime::UNIX_EPOCH;
            ShippingZone {
                id: ZoneId::trusted(DEFAULT_ZONE_ID.to_owned()),
                zone,
                created_at: at,
                updated_at: at,
            }
        });
        Self {
            default_zone,
            ..self
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    /// Whether and on what terms goods worth `goods_value` are delivered to `pincode` in the
    /// state `state_code` (two-digit GST code). A malformed state code or pincode is a 422
    /// on `state_code` or `pincode`; the caller names the fields as its client sent them.
    pub async fn quote(
        &self,
        state_code: &str,
        pincode: &str,
        goods_value: Paise,
    ) -> Result<Serviceability, AppError> {
        let mut errors = Collector::default();
        errors.take(GstState::parse("state_code", state_code));
        if !(pincode.len() == 6 && pincode.bytes().all(|b| b.is_ascii_digit()))
            || pincode.starts_with('0')
        {
            errors.push(FieldError::new(
                "pincode",
                "invalid_format",
                "must be 6 digits, not starting with 0",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors.into_errors()));
        }
        let zones = self.quoting_zones().await?;
        let destination = Destination {
            state_code,
            pincode,
        };
        Ok(shipping::quote(&zones, &destination, goods_value))
    }

    /// The zones quotes are made from: the stored ones, or the settings' default zone
    /// while none is stored. Pricing reads them once and quotes from them as often as
    /// it needs (`domain::shipping::quote`).
    pub async fn quoting_zones(&self) -> Result<Vec<ShippingZone>, AppError> {
        let stored = self.zones.list().await?;
        Ok(match (&self.default_zone, stored.is_empty()) {
            (Some(default), true) => vec![default.clone()],
            _ => stored,
        })
    }

    /// Every stored zone, oldest first (the default zone is not one).
    pub async fn list(&self) -> Result<Vec<ShippingZone>, AppError> {
        Ok(self.zones.list().await?)
    }

    pub async fn get(&self, id: &str) -> Result<ShippingZone, AppError> {
        self.stored(&parse_id(id)?).await
    }

    async fn stored(&self, id: &ZoneId) -> Result<ShippingZone, AppError> {
        self.zones
            .get(id)
            .await?
            .ok_or_else(|| AppError::not_found("shipping zone"))
    }

    pub async fn create(
        &self,
        actor: &Principal,
        raw: &RawZone,
        ctx: &RequestContext,
    ) -> Result<ShippingZone, AppError> {
        let draft = ZoneDraft::parse(raw).map_err(AppError::validation)?;
        let zone = ShippingZone::create(draft, self.clock.now());
        self.zones.insert(&zone).await?;
        self.by_staff(
            actor,
            ctx,
            format!("zone {} created: {}", zone.id, zone.zone.name),
        )
        .await;
        Ok(zone)
    }

    /// Replaces a zone's settings.
    pub async fn replace(
        &self,
        actor: &Principal,
        id: &str,
        raw: &RawZone,
        ctx: &RequestContext,
    ) -> Result<ShippingZone, AppError> {
        let id = parse_id(id)?;
        let draft = ZoneDraft::parse(raw).map_err(AppError::validation)?;
        let current = self.stored(&id).await?;
        let zone = current.replaced(draft, self.clock.now());
        self.zones.update(&zone).await.map_err(not_found)?;
        self.by_staff(
            actor,
            ctx,
            format!("zone {id} replaced: {}", zone.zone.name),
        )
        .await;
        Ok(zone)
    }

    pub async fn delete(
        &self,
        actor: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let id = parse_id(id)?;
        self.zones.delete(&id).await.map_err(not_found)?;
        self.by_staff(actor, ctx, format!("zone {id} deleted"))
            .await;
        Ok(())
    }

    async fn by_staff(&self, actor: &Principal, ctx: &RequestContext, detail: String) {
        self.audit.by_staff(&self.clock, actor, ctx, detail).await;
    }
}

fn parse_id(raw: &str) -> Result<ZoneId, AppError> {
    ZoneId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

fn not_found(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::not_found("shipping zone"),
        other => other.into(),
    }
}
