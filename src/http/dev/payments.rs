//! `/api/v1/dev/payments/…/capture`: completing a checkout with the fake
//! Razorpay, so a frontend developer can pay on `make run`. 404 in production
//! and with real Razorpay keys.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::OpenApi;

use crate::app::errors::{AppError, ErrorCode};
use crate::app::orders::Orders;
use crate::http::contract::ApiTags;
use crate::http::id_param::{IdParam, RazorpayOrderId};
use crate::http::orders::{ok, OrderActionErrors, OrderResponse};
use crate::http::problem::Problems;
use bazaar_adapters::razorpay::FakeRazorpay;

/// The development route that completes a checkout with the fake Razorpay.
pub struct PaymentsDevApi {
    pub orders: Arc<Orders>,
    /// `None` in production and with real Razorpay keys.
    pub fake: Option<Arc<FakeRazorpay>>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Development")]
impl PaymentsDevApi {
    /// Complete a checkout with the fake Razorpay
    ///
    /// Development only (404 in production and with real Razorpay keys): the
    /// customer "pays" the Razorpay order in full, and Razorpay's signed
    /// webhooks (`payment.authorized`, `payment.captured`, `order.paid`) are
    /// delivered to this server's receiver. Calling it again for a paid order
    /// delivers the same webhooks again (Razorpay's at-least-once delivery).
    /// Answers the order afterwards.
    #[oai(
        path = "/dev/payments/:razorpay_order_id/capture",
        method = "post",
        operation_id = "devCapturePayment"
    )]
    async fn dev_capture(
        &self,
        razorpay_order_id: Path<IdParam<RazorpayOrderId>>,
    ) -> Result<OrderResponse, Problems<OrderActionErrors>> {
        let not_found = || AppError::new(ErrorCode::NotFound, "no resource exists at this path");
        let fake = self.fake.as_ref().ok_or_else(not_found)?;
        let order = self
            .orders
            .pay_with_fake(fake, razorpay_order_id.0.checked("razorpay_order_id")?)
            .await?;
        Ok(ok(&order))
    }
}
