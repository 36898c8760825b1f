//! GST: the tax rules a tax invoice is made of, without the invoice itself.
//!
//! Pure functions and parsed types only; issuing invoices (the gapless series, storage,
//! the API) is built on top of these. `docs/invoices.md` states the rules with worked
//! examples.
//!
//! The parts: [`charge`] (a whole charge's tax: the discount spread over the lines, and
//! shipping), [`gstin`] (the registration number and its check character), [`hsn`] (the
//! goods and services codes an invoice shows), [`rates`] (rates as dated data, per tax
//! class), [`tax`] (place of supply and the tax on each line, split by head), [`words`]
//! (amounts in words, Indian style), [`series`] (financial years and invoice numbers) and
//! [`seller`] (the seller's registration and the settings invoices follow).

pub mod charge;
pub mod gstin;
pub mod hsn;
pub mod rates;
pub mod seller;
pub mod series;
pub mod tax;
pub mod words;
