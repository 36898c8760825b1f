//! The GSTR-1 sections as CSV files the GST offline tool imports, one file per section,
//! with the column headers of the tool's templates exactly (the tool matches them by
//! text). docs/invoices.md lists the columns and where they were checked.
//!
//! Bazaar charges no cess, supplies through no e-commerce operator's GSTIN, is never taxed
//! on reverse charge and takes no 65% concession rate: those columns are `0.00`, empty,
//! `N` and empty.

use crate::domain::gst::rates::percent;
use crate::domain::invoice::TaxDocument;
use crate::domain::validation::{one_of, FieldError};

use super::csv::write_csv;
use super::formats::{tool_date, tool_place_of_supply, tool_rupees};
use super::gstr1::{B2csRow, Gstr1, RateRow};
use super::hsn_summary::{hsn_summary, HsnRow, Recipients};

/// A section of GSTR-1 that Bazaar exports, named as the tool names its sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    B2b,
    B2cl,
    B2cs,
    Cdnr,
    Cdnur,
    /// Table 12, supplies to registered buyers.
    HsnB2b,
    /// Table 12, supplies to everyone else.
    HsnB2c,
}

const B2B: &[&str] = &[
    "GSTIN/UIN of Recipient",
    "Receiver Name",
    "Invoice Number",
    "Invoice date",
    "Invoice Value",
    "Place Of Supply",
    "Reverse Charge",
    "Applicable % of Tax Rate",
    "Invoice Type",
    "E-Commerce GSTIN",
    "Rate",
    "Taxable Value",
    "Cess Amount",
];

const B2CL: &[&str] = &[
    "Invoice Number",
    "Invoice date",
    "Invoice Value",
    "Place Of Supply",
    "Applicable % of Tax Rate",
    "Rate",
    "Taxable Value",
    "Cess Amount",
    "E-Commerce GSTIN",
];

const B2CS: &[&str] = &[
    "Type",
    "Place Of Supply",
    "Applicable % of Tax Rate",
    "Rate",
    "Taxable Value",
    "Cess Amount",
    "E-Commerce GSTIN",
];

const CDNR: &[&str] = &[
    "GSTIN/UIN of Recipient",
    "Receiver Name",
    "Note Number",
    "Note Date",
    "Note Type",
    "Place Of Supply",
    "Reverse Charge",
    "Note Supply Type",
    "Note Value",
    "Applicable % of Tax Rate",
    "Rate",
    "Taxable Value",
    "Cess Amount",
];

const CDNUR: &[&str] = &[
    "UR Type",
    "Note Number",
    "Note Date",
    "Note Type",
    "Place Of Supply",
    "Note Value",
    "Applicable % of Tax Rate",
    "Rate",
    "Taxable Value",
    "Cess Amount",
];

const HSN: &[&str] = &[
    "HSN",
    "Description",
    "UQC",
    "Total Quantity",
    "Total Value",
    "Rate",
    "Taxable Value",
    "Integrated Tax Amount",
    "Central Tax Amount",
    "State/UT Tax Amount",
    "Cess Amount",
];

/// No cess is charged.
const NO_CESS: &str = "0.00";

impl Section {
    pub const ALL: [Self; 7] = [
        Self::B2b,
        Self::B2cl,
        Self::B2cs,
        Self::Cdnr,
        Self::Cdnur,
        Self::HsnB2b,
        Self::HsnB2c,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::B2b => "b2b",
            Self::B2cl => "b2cl",
            Self::B2cs => "b2cs",
            Self::Cdnr => "cdnr",
            Self::Cdnur => "cdnur",
            Self::HsnB2b => "hsn_b2b",
            Self::HsnB2c => "hsn_b2c",
        }
    }

    /// One of the names above. Code: `unknown_section`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        one_of(field, "unknown_section", raw, &Self::ALL, Self::as_str)
    }

    /// The template's header row.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            Self::B2b => B2B,
            Self::B2cl => B2CL,
            Self::B2cs => B2CS,
            Self::Cdnr => CDNR,
            Self::Cdnur => CDNUR,
            Self::HsnB2b | Self::HsnB2c => HSN,
        }
    }
}

/// The section's CSV file for a period's documents: the header, then one record per row.
pub fn section_csv(section: Section, documents: &[TaxDocument]) -> String {
    let tables = Gstr1::of(documents);
    let rows: Vec<Values> = match section {
        Section::B2b => tables.b2b.iter().map(Values::of_document).collect(),
        Section::B2cl => tables.b2cl.iter().map(Values::of_document).collect(),
        Section::B2cs => tables.b2cs.iter().map(Values::of_b2cs).collect(),
        Section::Cdnr => tables.cdnr.iter().map(Values::of_document).collect(),
        Section::Cdnur => tables.cdnur.iter().map(Values::of_document).collect(),
        Section::HsnB2b => hsn_values(documents, Recipients::Registered),
        Section::HsnB2c => hsn_values(documents, Recipients::Unregistered),
    };
    let header = section.header();
    write_csv(
        header,
        rows.iter().map(|row| {
            header
                .iter()
                .map(|column| row.under(column).unwrap_or_default())
        }),
    )
}

fn hsn_values(documents: &[TaxDocument], recipients: Recipients) -> Vec<Values> {
    hsn_summary(documents, recipients)
        .iter()
        .map(Values::of_hsn)
        .collect()
}

/// A row's values by what they are, written in the tool's formats; each section takes the
/// ones its header names, so one column is written one way in every file.
#[derive(Debug, Default)]
struct Values {
    gstin: String,
    name: String,
    number: String,
    date: String,
    value: String,
    place: String,
    rate: String,
    taxable: String,
    code: String,
    uqc: String,
    quantity: String,
    igst: String,
    cgst: String,
    sgst: String,
}

impl Values {
    /// A document at one rate (B2B, B2CL, CDNR, CDNUR).
    fn of_document(row: &RateRow) -> Self {
        let draft = &row.document.draft;
        Self {
            gstin: draft
                .buyer
                .gstin
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            name: draft.buyer.name.clone(),
            number: row.document.number.to_string(),
            date: tool_date(draft.issued_at),
            value: tool_rupees(draft.totals().grand_total()),
            place: tool_place_of_supply(draft.place_of_supply),
            rate: percent(row.rate_bp),
            taxable: tool_rupees(row.totals.taxable),
            ..Self::default()
        }
    }

    fn of_b2cs(row: &B2csRow) -> Self {
        Self {
            place: tool_place_of_supply(row.place_of_supply),
            rate: percent(row.rate_bp),
            taxable: tool_rupees(row.totals.taxable),
            ..Self::default()
        }
    }

    fn of_hsn(row: &HsnRow) -> Self {
        let t = row.totals;
        Self {
            code: row.code.clone(),
            uqc: row.uqc().to_owned(),
            quantity: row.reported_quantity().to_string(),
            value: tool_rupees(t.grand_total()),
            rate: percent(row.rate_bp),
            taxable: tool_rupees(t.taxable),
            igst: tool_rupees(t.igst),
            cgst: tool_rupees(t.cgst),
            sgst: tool_rupees(t.sgst),
            ..Self::default()
        }
    }

    /// The value under a template's column; `None` for a column no template has.
    fn under(&self, column: &str) -> Option<String> {
        let value = match column {
            "GSTIN/UIN of Recipient" => &self.gstin,
            "Receiver Name" => &self.name,
            "Invoice Number" | "Note Number" => &self.number,
            "Invoice date" | "Note Date" => &self.date,
            "Invoice Value" | "Note Value" | "Total Value" => &self.value,
            "Place Of Supply" => &self.place,
            "Rate" => &self.rate,
            "Taxable Value" => &self.taxable,
            "HSN" => &self.code,
            "UQC" => &self.uqc,
            "Total Quantity" => &self.quantity,
            "Integrated Tax Amount" => &self.igst,
            "Central Tax Amount" => &self.cgst,
            "State/UT Tax Amount" => &self.sgst,
            "Reverse Charge" => "N",
            "Invoice Type" | "Note Supply Type" => "Regular B2B",
            // A credit note.
            "Note Type" => "C",
            // B2CS supplies not made through an e-commerce operator.
            "Type" => "OE",
            // Only notes against B2CL invoices reach CDNUR: Bazaar makes no exports.
            "UR Type" => "B2CL",
            "Cess Amount" => NO_CESS,
            // No concession rate, no operator; the portal fills the HSN description itself.
            "Applicable % of Tax Rate" | "E-Commerce GSTIN" | "Description" => "",
            _ => return None,
        };
        Some(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    fn lines(csv: &str) -> Vec<&str> {
        csv.split_terminator("\r\n").collect()
    }

    #[test]
    fn sections_read_back_from_their_names_and_only_from_them() {
        for section in Section::ALL {
            assert_eq!(Section::parse("section", section.as_str()), Ok(section));
        }
        let error = Section::parse("section", "hsn").unwrap_err();
        assert_eq!(
            (error.field.as_str(), error.code),
            ("section", "unknown_section")
        );
        assert!(error.message.contains("hsn_b2b"), "{}", error.message);
    }

    #[test]
    fn every_column_of_every_template_has_a_value() {
        let values = Values::default();
        for section in Section::ALL {
            for column in section.header() {
                assert!(values.under(column).is_some(), "{section:?}: {column}");
            }
        }
        assert_eq!(values.under("Invoice Date"), None);
    }

    #[test]
    fn every_record_has_as_many_fields_as_its_header() {
        let b2b = invoice(1, "29", Some(BUYER_GSTIN), &[("6109", 1, 100_000, 500)]);
        let large = invoice(2, "07", None, &[("8517", 1, 15_000_000, 1800)]);
        let documents = [
            b2b.clone(),
            large.clone(),
            invoice(3, "07", None, &[("6109", 1, 100_000, 500)]),
            credit_note(
                1,
                "29",
                Some(BUYER_GSTIN),
                &[("6109", 1, 10_000, 500)],
                &b2b,
            ),
            credit_note(2, "07", None, &[("8517", 1, 10_000, 1800)], &large),
        ];
        for section in Section::ALL {
            let csv = section_csv(section, &documents);
            let records = lines(&csv);
            assert!(records.len() >= 2, "{section:?}: {csv}");
            assert_eq!(records[0], section.header().join(","));
            for record in &records[1..] {
                // The buyer's name is quoted (it holds a comma and quotes); no other field is.
                let fields = record.replace("\"Meera, \"\"Textiles\"\"\"", "name");
                assert_eq!(
                    fields.split(',').count(),
                    section.header().len(),
                    "{section:?}: {csv}"
                );
            }
        }
    }

    #[test]
    fn b2b_rows_in_the_tools_formats() {
        let documents = [invoice(
            7,
            "29",
            Some(BUYER_GSTIN),
            &[("6109", 2, 100_000, 500), ("8517", 1, 299_900, 1800)],
        )];
        let csv = section_csv(Section::B2b, &documents);
        // ₹1,000 at 5% and ₹2,999 at 18%, intra-state: ₹4,588.82 in all.
        assert_eq!(
            lines(&csv)[1..],
            [
                "27AAPFU0939F1ZV,\"Meera, \"\"Textiles\"\"\",INV/26-27/000007,01-Dec-2026,4588.82,29-Karnataka,N,,Regular B2B,,5,1000.00,0.00",
                "27AAPFU0939F1ZV,\"Meera, \"\"Textiles\"\"\",INV/26-27/000007,01-Dec-2026,4588.82,29-Karnataka,N,,Regular B2B,,18,2999.00,0.00",
            ]
        );
    }

    #[test]
    fn b2c_and_credit_note_rows_in_the_tools_formats() {
        let large = invoice(2, "07", None, &[("8517", 1, 15_000_000, 1800)]);
        let documents = [
            large.clone(),
            invoice(3, "07", None, &[("6109", 1, 100_000, 500)]),
            credit_note(4, "07", None, &[("8517", 1, 1_000_000, 1800)], &large),
        ];
        let csv = |section| section_csv(section, &documents);
        assert_eq!(
            lines(&csv(Section::B2cl))[1],
            "INV/26-27/000002,01-Dec-2026,177000.00,07-Delhi,,18,150000.00,0.00,"
        );
        assert_eq!(
            lines(&csv(Section::B2cs))[1],
            "OE,07-Delhi,,5,1000.00,0.00,"
        );
        assert_eq!(
            lines(&csv(Section::Cdnur))[1],
            "B2CL,CN/26-27/000004,01-Dec-2026,C,07-Delhi,11800.00,,18,10000.00,0.00"
        );
        assert_eq!(
            lines(&csv(Section::HsnB2c))[1..],
            [
                "6109,,NOS-NUMBERS,1,1050.00,5,1000.00,50.00,0.00,0.00,0.00",
                "8517,,NOS-NUMBERS,0,165200.00,18,140000.00,25200.00,0.00,0.00,0.00",
            ]
        );
        assert_eq!(lines(&csv(Section::HsnB2b)).len(), 1);
    }
}
