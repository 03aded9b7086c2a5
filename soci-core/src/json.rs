//! JSON exactly as Go's `encoding/json` writes it: compact, no trailing newline, and Go's string
//! escaping (`<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`), which serde_json does not do by
//! itself. Struct field order and sorted map keys come from the document types.
//!
//! The bytes matter beyond digests: the snapshotter re-encodes a downloaded SOCI index with Go's
//! structs and stores the result under the original digest, so any other encoding fails there.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

/// serde_json's compact formatter with Go's extra escapes.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        CompactFormatter.write_char_escape(writer, char_escape)
    }
}

/// Go's `json.Marshal` bytes of a document.
pub fn to_go_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    // The document types hold only strings, integers, maps with string keys and lists: they
    // always serialize.
    value
        .serialize(&mut serializer)
        .expect("documents always serialize");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_escaping() {
        let s = "a<b>&c\u{2028}\u{2029}\"\\/\n\t\u{1}\u{7f}é";
        assert_eq!(
            String::from_utf8(to_go_json(&s)).unwrap(),
            "\"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\\\"\\\\/\\n\\t\\u0001\u{7f}é\""
        );
    }
}
