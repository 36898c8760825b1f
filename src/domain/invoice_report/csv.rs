//! CSV as RFC 4180 writes it: CRLF after every record, and a field quoted (its quotes
//! doubled) only when it holds a comma, a quote or a line break. Buyer names are the only
//! free text the GSTR-1 files carry, and a name like `Meera Textiles, LLP` must stay one field.

/// The header, then each record, every line ended by CRLF.
pub fn write_csv<R>(header: &[&str], records: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = String>,
{
    let mut out = String::new();
    push_record(&mut out, header.iter().map(|h| (*h).to_owned()));
    for record in records {
        push_record(&mut out, record);
    }
    out
}

fn push_record(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn plain_fields_are_written_as_they_are() {
        let csv = write_csv(&["a", "b"], [record(&["1", "two words"])]);
        assert_eq!(csv, "a,b\r\n1,two words\r\n");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        let csv = write_csv(
            &["name", "note"],
            [
                record(&["Meera Textiles, LLP", "the \"best\""]),
                record(&["a\nb", "c\r\nd"]),
            ],
        );
        assert_eq!(
            csv,
            "name,note\r\n\"Meera Textiles, LLP\",\"the \"\"best\"\"\"\r\n\"a\nb\",\"c\r\nd\"\r\n"
        );
    }

    #[test]
    fn empty_fields_and_no_records() {
        assert_eq!(
            write_csv(&["a", "b", "c"], [record(&["", "x", ""])]),
            "a,b,c\r\n,x,\r\n"
        );
        assert_eq!(write_csv(&["a"], Vec::<Vec<String>>::new()), "a\r\n");
    }
}
