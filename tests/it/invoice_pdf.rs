//! The invoice PDF as a customer gets it: rendered by `providers::pdf`, then read back with
//! poppler (`pdftotext`, `pdfinfo`, `pdffonts`, `pdftoppm`), the tools a reader's PDF viewer
//! is closest to. The PDFs and a PNG of each first page are kept in tests/output/pdf/ to
//! look at. Poppler is a test dependency: tests/support/services.py installs poppler-utils
//! for `make test`, and without it these tests fail rather than skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use bazaar::app::invoices::view::invoice_view;
use bazaar::domain::gst::tax::PriceBasis;
use bazaar::domain::invoice::DocumentKind;
use bazaar::domain::money::format_inr as inr;
use bazaar::providers::pdf::{render, DocumentLine, InvoiceDocument, Party};

use crate::kit::{tax_document, BUYER_GSTIN};

const BUYER: &str = "अनन्या शर्मा";
const SELLER_GSTIN: &str = "29ABCDE1234F1Z5";

fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/pdf");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a poppler tool and returns its standard output; a missing tool fails the test.
fn poppler(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} could not run ({e}): the invoice PDF tests need poppler-utils \
             (apt-get install -y poppler-utils; tests/support/services.py installs it)"
        )
    });
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn seller() -> Party {
    Party {
        name: "Kaveri Handlooms Private Limited".into(),
        address_lines: vec![
            "No. 42, 3rd Cross, Jayanagar 4th Block".into(),
            "Bengaluru 560011".into(),
        ],
        gstin: Some(SELLER_GSTIN.into()),
        state: "Karnataka (29)".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn line(
    description: &str,
    hsn: &str,
    quantity: &str,
    unit_price: &str,
    taxable: &str,
    rate: &str,
    (cgst, sgst, igst): (&str, &str, &str),
    total: &str,
) -> DocumentLine {
    DocumentLine {
        description: description.into(),
        hsn: hsn.into(),
        quantity: quantity.into(),
        unit_price: unit_price.into(),
        taxable_value: taxable.into(),
        rate: rate.into(),
        cgst: cgst.into(),
        sgst: sgst.into(),
        igst: igst.into(),
        total: total.into(),
    }
}

fn notes() -> Vec<String> {
    vec![
        "This is a computer-generated invoice and needs no signature.".into(),
        "Goods once sold can be returned within 7 days of delivery; see bazaar.example/returns."
            .into(),
    ]
}

/// An inter-state sale (Karnataka to Delhi, so IGST) to an unregistered buyer named in Hindi.
fn three_lines() -> InvoiceDocument {
    InvoiceDocument {
        title: "Tax Invoice".into(),
        number: "INV/2025-26/000123".into(),
        date: "14 Aug 2025".into(),
        reference: Some("Order ORD-7Q2K9X".into()),
        seller: seller(),
        buyer: Party {
            name: BUYER.into(),
            address_lines: vec!["B-14, Lajpat Nagar II".into(), "New Delhi 110024".into()],
            gstin: None,
            state: "Delhi (07)".into(),
        },
        place_of_supply: "Delhi (07)".into(),
        reverse_charge: false,
        lines: vec![
            line(
                "Handloom cotton saree with zari border, Chanderi weave, blouse piece included, \
                 dry clean only, colour may vary slightly from the photograph",
                "5208",
                "2",
                "₹2,500.00",
                "₹5,000.00",
                "5%",
                ("", "", "₹250.00"),
                "₹5,250.00",
            ),
            line(
                "Brass diya set of 4",
                "7418",
                "1",
                "₹1,200.00",
                "₹1,200.00",
                "12%",
                ("", "", "₹144.00"),
                "₹1,344.00",
            ),
            line(
                "Darjeeling first flush tea, 250 g",
                "0902",
                "3",
                "₹450.00",
                "₹1,350.00",
                "5%",
                ("", "", "₹67.50"),
                "₹1,417.50",
            ),
        ],
        totals: vec![
            ("Taxable value".into(), "₹7,550.00".into()),
            ("IGST".into(), "₹461.50".into()),
            ("Total".into(), "₹8,011.50".into()),
        ],
        amount_in_words: "Indian Rupees Eight Thousand Eleven and Fifty Paise Only".into(),
        notes: notes(),
    }
}

/// An intra-state sale (CGST and SGST) of 60 lines: more than a page holds.
fn sixty_lines() -> InvoiceDocument {
    let (unit, cgst) = (99_900, 5_994); // ₹999.00 at 12%: 6% each way.
    let lines = (1..=60)
        .map(|i| {
            line(
                &format!("Block-printed cotton kurta, design {i:02}, size M"),
                "6206",
                "1",
                &inr(unit),
                &inr(unit),
                "12%",
                (&inr(cgst), &inr(cgst), ""),
                &inr(unit + 2 * cgst),
            )
        })
        .collect();
    let mut buyer = seller();
    buyer.name = "Meera Textiles LLP".into();
    buyer.gstin = Some("29AAKFM7654Q1Z2".into());
    buyer.address_lines = vec!["14 Avenue Road".into(), "Bengaluru 560002".into()];
    InvoiceDocument {
        number: "INV/2025-26/000124".into(),
        buyer,
        place_of_supply: "Karnataka (29)".into(),
        lines,
        totals: vec![
            ("Taxable value".into(), inr(60 * unit)),
            ("CGST".into(), inr(60 * cgst)),
            ("SGST".into(), inr(60 * cgst)),
            ("Total".into(), inr(60 * (unit + 2 * cgst))),
        ],
        amount_in_words: "Indian Rupees Sixty-Seven Thousand One Hundred Thirty-Two and Eighty \
                          Paise Only"
            .into(),
        ..three_lines()
    }
}

/// Writes the PDF and a PNG of its first page; returns the PDF's path.
fn write(name: &str, doc: &InvoiceDocument) -> String {
    let pdf = render(doc).expect("the invoice renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = output_dir();
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let prefix = dir.join(format!("{name}-page"));
    let prefix = prefix.to_str().unwrap();
    poppler(
        "pdftoppm",
        &["-png", "-r", "80", "-f", "1", "-l", "1", &path, prefix],
    );
    // pdftoppm pads the page number to the page count's digits.
    let png = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            file.starts_with(&format!("{name}-page-")) && file.ends_with("1.png")
        })
        .expect("pdftoppm wrote the first page");
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "{png:?} is blank"
    );
    path
}

fn pages(pdf: &str) -> usize {
    let info = poppler("pdfinfo", &[pdf]);
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line["Pages:".len()..].trim().parse().unwrap()
}

#[test]
fn the_invoice_reads_back_with_its_number_gstin_rupees_and_hindi_name() {
    let doc = three_lines();
    let pdf = write("invoice", &doc);
    let text = poppler("pdftotext", &["-layout", &pdf, "-"]);
    for expected in [
        "Tax Invoice",
        "INV/2025-26/000123",
        SELLER_GSTIN,
        "₹8,011.50",
        "Delhi (07)",
        "Brass diya set of 4",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    // The name is shaped (श्+म is one conjunct glyph, ि is drawn before its consonant), and
    // every glyph carries its cluster's text to the ToUnicode map, so the name copies back
    // exactly as it was typed.
    assert!(text.contains(BUYER), "{BUYER:?} not in:\n{text}");
    // The amount in words may wrap; its words come back in order.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&doc.amount_in_words), "{flat}");
    assert!(flat.contains("computer-generated invoice and needs no signature"));
    // The long description is wrapped, and cut with an ellipsis at the third line.
    assert!(
        flat.contains("Handloom cotton saree") && flat.contains('…'),
        "{flat}"
    );
    // IGST only: the intra-state columns are left out.
    assert!(text.contains("IGST") && !text.contains("CGST"), "{text}");
    assert_eq!(pages(&pdf), 1);
    assert!(text.contains("Page 1 of 1"));

    // Every font is embedded (as a subset), so no reader needs Noto installed either.
    let fonts = poppler("pdffonts", &[&pdf]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(rows.len() >= 3, "{fonts}");
    assert!(
        rows.iter().any(|r| r.contains("NotoSansDevanagari")),
        "{fonts}"
    );
    for row in rows {
        let columns: Vec<&str> = row.split_whitespace().collect();
        // name type encoding emb sub uni object ID
        let n = columns.len();
        assert_eq!(columns[n - 5..n - 2], ["yes", "yes", "yes"], "{row}");
    }
}

#[test]
fn sixty_lines_run_onto_more_pages_with_the_header_repeated() {
    let doc = sixty_lines();
    let pdf = write("invoice-60-lines", &doc);
    let count = pages(&pdf);
    assert!(count >= 2, "60 lines on {count} page(s)");
    let text = poppler("pdftotext", &["-layout", &pdf, "-"]);
    let per_page: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(per_page.len(), count);
    for (i, page) in per_page.iter().enumerate() {
        assert!(
            page.contains(&format!("Page {} of {count}", i + 1)),
            "{page}"
        );
    }
    // The table's header is on the pages its rows run onto.
    assert!(per_page[1].contains("HSN/SAC") && per_page[1].contains("SGST"));
    for i in [1, 30, 60] {
        assert!(text.contains(&format!("design {i:02}, size M")), "line {i}");
    }
    assert!(text.contains("₹67,132.80"), "{text}");
    assert!(!text.contains("IGST"));
    let last = per_page.last().unwrap();
    assert!(
        last.contains("₹67,132.80") && last.contains("Sixty-Seven"),
        "{last}"
    );
}

#[test]
fn an_issued_credit_note_reads_back_through_its_view() {
    // A registered buyer in Maharashtra returns one of two phones: inter-state, so IGST.
    let buyer = ("27", Some(BUYER_GSTIN));
    let phone = [("8517", 2, 10_000_000, 1800)];
    let sold = tax_document(
        DocumentKind::Invoice,
        1,
        buyer,
        &phone,
        PriceBasis::Exclusive,
        None,
    );
    let returned = [("8517", 1, 5_000_000, 1800)];
    let note = tax_document(
        DocumentKind::CreditNote,
        1,
        buyer,
        &returned,
        PriceBasis::Exclusive,
        Some(&sold),
    );
    let view = invoice_view(&note);
    let pdf = write("credit-note", &view);
    let text = poppler("pdftotext", &["-layout", &pdf, "-"]);
    for expected in [
        "Credit Note",
        "CN/26-27/000001",
        "Against invoice INV/26-27/000001",
        BUYER_GSTIN,
        "Maharashtra (27)",
        "18%",
        "₹50,000.00",
        "₹9,000.00",
        "₹59,000.00",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(text.contains("IGST") && !text.contains("CGST"), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("Rupees Fifty-Nine Thousand Only"), "{flat}");
    assert!(flat.contains("not payable on reverse charge"), "{flat}");
    assert!(flat.contains("computer-generated credit note and needs no signature"));
}
