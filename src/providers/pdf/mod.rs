//! GST tax invoices and credit notes as PDFs a customer keeps: A4, the seller, title and
//! buyer at the top, the lines table (its header repeated on every page), the totals, the
//! amount in words and the notes, with "Page i of n" at each foot.
//!
//! The renderer takes an [`InvoiceDocument`] whose fields are already display strings and
//! does no arithmetic. Text is shaped (Devanagari needs it: conjuncts and vowel signs are
//! glyphs the shaper picks, not one per character) with fonts compiled into the binary —
//! Noto Sans for Latin text and ₹, Noto Sans Devanagari for Hindi, chosen per run by
//! script — so no font needs installing on the server. docs/invoices-pdf.md has the rest.

mod document;
mod draw;
mod fonts;
mod header;
mod layout;
mod summary;
mod table;
mod text;

pub use document::{DocumentLine, InvoiceDocument, Party};

/// Why no PDF came out; none is the caller's fault, all are bugs or a corrupt build.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the embedded fonts could not be read")]
    Fonts,
    #[error("the page size is invalid")]
    PageSize,
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The document as PDF bytes.
pub fn render(doc: &InvoiceDocument) -> Result<Vec<u8>, RenderError> {
    let fonts = fonts::fonts().ok_or(RenderError::Fonts)?;
    let mut pages = layout::Pages::new(fonts);
    header::draw(&mut pages, doc);
    table::draw(&mut pages, &doc.lines);
    summary::draw(&mut pages, doc);
    let label = format!("{} {}", doc.title, doc.number);
    draw::write(pages.finish(&label), fonts, label)
}
