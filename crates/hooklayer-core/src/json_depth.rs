//! A nesting-depth check over raw JSON bytes, run before parsing so that a deeply nested body
//! is refused cheaply (and never reaches a recursive parser). The top-level value is level 1.

/// True when no array or object in `bytes` is nested deeper than `max` levels. Brackets inside
/// strings are skipped; the bytes need not be valid JSON (the parser judges that afterwards).
pub fn within_depth(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn sixty_four_levels_pass_and_sixty_five_do_not() {
        assert!(within_depth(nested(64).as_bytes(), 64));
        assert!(!within_depth(nested(65).as_bytes(), 64));
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        let s = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(100), "{".repeat(100));
        assert!(within_depth(s.as_bytes(), 2));
    }
}
