//! What happens when something fails: the service keeps its promises (503 problems with
//! `Retry-After`, nothing acknowledged lost or done twice) and recovers by itself.
//!
//! - `outages`: a backend goes away while the app runs and comes back;
//! - `breakers`: circuit breakers refuse at once while a backend is known down;
//! - `restarts`: Redis, MongoDB or Bazaar itself killed and restarted under load;
//! - `providers`: Razorpay, MSG91 and SendGrid failing, slow or down (wiremock);
//! - `exactly_once`: an answer lost after the write, and the retry that follows.

pub mod breakers;
mod exactly_once;
mod outages;
mod providers;
pub mod restarts;
