//! Compacting JSON text without re-reading its numbers (SPEC §6: numbers arrive with the exact
//! text they were published with — `1e2`, `-0`, `1.0`, `18446744073709551616`).
//!
//! Parsing into `serde_json::Value` and writing it back rewrites some numbers even with
//! `arbitrary_precision` (`1e2` becomes `1e+2`), so payloads are rendered from the published
//! text instead: whitespace between tokens is dropped, every number, `true`, `false` and `null`
//! is copied byte for byte, and strings are written the way `serde_json` writes them (raw
//! UTF-8, `/` unescaped, only `"`, `\` and control characters escaped), as before.

use serde_json::value::RawValue;
use std::collections::HashMap;

/// The members of a JSON object, each with its published text. For a key given twice the
/// last one counts, as it does for `serde_json::Value`.
pub fn members(object: &str) -> Option<HashMap<String, &RawValue>> {
    serde_json::from_str(object).ok()
}

/// Appends `raw` (valid JSON text) to `out` without insignificant whitespace.
pub fn write_compact(raw: &str, out: &mut String) {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => {
                let end = string_end(bytes, i);
                write_string(&raw[i..end], out);
                i = end;
            }
            _ => {
                // Punctuation, a number or a literal: copied as written, up to the next
                // whitespace or string (all ASCII, so slicing stays on character boundaries).
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | b'"') {
                    i += 1;
                }
                out.push_str(&raw[start..i]);
            }
        }
    }
}

/// `raw` without insignificant whitespace.
pub fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    write_compact(raw, &mut out);
    out
}

/// The index just past the string token that starts (with its quote) at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A string token in `serde_json`'s spelling. Without a backslash the published spelling is
/// already that one (valid JSON has no raw control character or quote inside a string).
fn write_string(token: &str, out: &mut String) {
    if !token.contains('\\') {
        out.push_str(token);
        return;
    }
    match serde_json::from_str::<String>(token).and_then(|s| serde_json::to_string(&s)) {
        Ok(canonical) => out.push_str(&canonical),
        Err(_) => out.push_str(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_whitespace_goes() {
        let raw = "{ \"a\" : [ 1e2 , -0,1.0 ,18446744073709551616, 1E+400, -1.5e-7 ],\n\t\"b\": true , \"c\" : null }";
        assert_eq!(
            compact(raw),
            r#"{"a":[1e2,-0,1.0,18446744073709551616,1E+400,-1.5e-7],"b":true,"c":null}"#
        );
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let raw = r#"{"k\u00e9y": "a\/b \u00e9 \" \\ \n \u001f ☃", "plain": "x y"}"#;
        assert_eq!(
            compact(raw),
            r#"{"kéy":"a/b é \" \\ \n \u001f ☃","plain":"x y"}"#
        );
        let value: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(compact(raw), value.to_string());
    }

    #[test]
    fn members_keep_the_last_of_a_repeated_key() {
        let m = members(r#"{"a": 1, "b": {"c": 2.50}, "a": 3}"#).unwrap();
        assert_eq!(m["a"].get(), "3");
        assert_eq!(compact(m["b"].get()), r#"{"c":2.50}"#);
        assert!(members("[1]").is_none());
    }
}
