//! Activation key lists as the publisher sends them: one key per line, or the first column of a CSV.

use crate::error::DomainError;

/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 256;

/// Parses a key file: blank lines and a `key` header are skipped; with commas, the first field is the key.
pub fn parse_key_file(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split(',').next().unwrap_or("").trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.eq_ignore_ascii_case("key"))
        .collect()
}

/// Validates a batch: 1 to 100,000 keys of visible ASCII, no key twice in the batch.
pub fn validate_keys(keys: &[String]) -> Result<(), DomainError> {
    if keys.is_empty() || keys.len() > 100_000 {
        return Err(DomainError::invalid("keys", "give 1 to 100000 keys"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if k.is_empty() || k.len() > MAX_KEY_CHARS || !k.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                &format!("keys[{i}]"),
                format!("a key is 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            ));
        }
        if !seen.insert(k.as_str()) {
            return Err(DomainError::invalid(&format!("keys[{i}]"), "appears twice in this batch"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_and_batches() {
        let keys = parse_key_file("key,note\nAAAAA-BBBBB,first\n\n  CCCCC-DDDDD  \n\"EEEEE\"\n");
        assert_eq!(keys, ["AAAAA-BBBBB", "CCCCC-DDDDD", "EEEEE"]);
        assert!(validate_keys(&keys).is_ok());
        assert!(validate_keys(&[]).is_err());
        assert!(validate_keys(&["A B".into()]).is_err());
        let dup = validate_keys(&["X".into(), "Y".into(), "X".into()]).unwrap_err();
        assert!(dup.to_string().starts_with("keys[2]"), "{dup}");
    }
}
