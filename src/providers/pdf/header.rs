//! The top of the first page: the seller on the left, the title, number and date on the
//! right, then the buyer beside the place of supply — what GST rule 46 asks an invoice to
//! show before its lines.

use super::document::{InvoiceDocument, Party};
use super::fonts::Weight;
use super::layout::{Pages, Rgb, ACCENT, CONTENT_WIDTH, INK, LEFT, MUTED, RIGHT};
use super::text::Shaped;

const BODY: f32 = 8.5;
const BODY_LEADING: f32 = 11.5;
const LABEL: f32 = 7.0;

pub fn draw(pages: &mut Pages, doc: &InvoiceDocument) {
    let top = pages.y;
    let seller_bottom = seller(pages, &doc.seller, top, CONTENT_WIDTH * 0.55);
    let title_bottom = title(pages, doc, top);
    pages.y = seller_bottom.max(title_bottom) + 10.0;
    pages.rule(LEFT, RIGHT, pages.y, 1.0, ACCENT);
    pages.y += 16.0;

    let top = pages.y;
    let column = CONTENT_WIDTH / 2.0 - 10.0;
    let buyer_bottom = buyer(pages, &doc.buyer, top, column);
    let supply_bottom = supply(pages, doc, LEFT + CONTENT_WIDTH / 2.0 + 10.0, top, column);
    pages.y = buyer_bottom.max(supply_bottom) + 12.0;
}

/// The seller's name, address, GSTIN and state; returns the y below it.
fn seller(pages: &mut Pages, seller: &Party, top: f32, width: f32) -> f32 {
    let mut y = top + 14.0;
    for line in pages.wrap(&seller.name, Weight::Bold, 14.0, width, 2) {
        pages.text(LEFT, y, line, INK);
        y += 17.0;
    }
    y -= 17.0 - BODY_LEADING;
    for (line, color) in party_details(pages, seller, width) {
        pages.text(LEFT, y, line, color);
        y += BODY_LEADING;
    }
    y
}

/// The address lines, the GSTIN and the state, each wrapped to `width`; with their colours.
fn party_details(pages: &Pages, party: &Party, width: f32) -> Vec<(Shaped, Rgb)> {
    let mut out = Vec::new();
    for line in &party.address_lines {
        for l in pages.wrap(line, Weight::Regular, BODY, width, 2) {
            out.push((l, MUTED));
        }
    }
    match &party.gstin {
        Some(gstin) => out.push((
            pages.shape(&format!("GSTIN: {gstin}"), Weight::Bold, BODY),
            INK,
        )),
        None => out.push((
            pages.shape("Unregistered (no GSTIN)", Weight::Regular, BODY),
            MUTED,
        )),
    }
    let state = pages.wrap(
        &format!("State: {}", party.state),
        Weight::Regular,
        BODY,
        width,
        1,
    );
    out.extend(state.into_iter().map(|l| (l, INK)));
    out
}

/// The title and the number, date and reference, right-aligned; returns the y below.
fn title(pages: &mut Pages, doc: &InvoiceDocument, top: f32) -> f32 {
    let mut y = top + 18.0;
    let title = pages.shape(&doc.title, Weight::Bold, 20.0);
    pages.text_right(RIGHT, y, title, ACCENT);
    y += 18.0;
    let mut rows = vec![("No.", doc.number.as_str()), ("Date", doc.date.as_str())];
    if let Some(reference) = &doc.reference {
        rows.push(("Reference", reference.as_str()));
    }
    for (label, value) in rows {
        let value = pages.shape(value, Weight::Bold, 9.5);
        let label = pages.shape(label, Weight::Regular, 8.0);
        let value_left = RIGHT - value.width();
        pages.text(value_left, y, value, INK);
        pages.text_right(value_left - 6.0, y, label, MUTED);
        y += 13.0;
    }
    y - 13.0 + 4.0
}

/// A small grey caption over a block.
fn caption(pages: &mut Pages, x: f32, y: f32, text: &str) {
    let shaped = pages.shape(&text.to_uppercase(), Weight::Bold, LABEL);
    pages.text(x, y, shaped, MUTED);
}

/// "Bill to" and the buyer; returns the y below.
fn buyer(pages: &mut Pages, buyer: &Party, top: f32, width: f32) -> f32 {
    caption(pages, LEFT, top, "Bill to");
    let mut y = top + 14.0;
    for line in pages.wrap(&buyer.name, Weight::Bold, 11.0, width, 2) {
        pages.text(LEFT, y, line, INK);
        y += 14.0;
    }
    y -= 14.0 - BODY_LEADING;
    for (line, color) in party_details(pages, buyer, width) {
        pages.text(LEFT, y, line, color);
        y += BODY_LEADING;
    }
    y
}

/// Place of supply and reverse charge, as label over value; returns the y below.
fn supply(pages: &mut Pages, doc: &InvoiceDocument, x: f32, top: f32, width: f32) -> f32 {
    let reverse = if doc.reverse_charge { "Yes" } else { "No" };
    let mut y = top;
    for (label, value) in [
        ("Place of supply", doc.place_of_supply.as_str()),
        ("Tax payable on reverse charge", reverse),
    ] {
        caption(pages, x, y, label);
        y += 13.0;
        for line in pages.wrap(value, Weight::Regular, 9.5, width, 2) {
            pages.text(x, y, line, INK);
            y += 12.0;
        }
        y += 6.0;
    }
    y - 6.0 - 12.0 + BODY_LEADING
}
