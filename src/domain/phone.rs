//! Indonesian mobile numbers, normalised to E.164 (`+628…`). Never logged in full: use
//! [`PhoneNumber::masked`].

use std::fmt;

use super::{ErrorCode, Invalid};

#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts `08…`, `628…`, `+628…`, with spaces, dots or dashes; Indonesian mobile numbers
    /// have 9-12 digits after the `8`-prefixed national number's leading `0`.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let compact: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+62") {
            rest
        } else if let Some(rest) = compact.strip_prefix("62") {
            rest
        } else if let Some(rest) = compact.strip_prefix('0') {
            rest
        } else {
            return Err(invalid());
        };
        if !national.starts_with('8')
            || !(9..=12).contains(&national.len())
            || !national.chars().all(|c| c.is_ascii_digit())
        {
            return Err(invalid());
        }
        Ok(Self(format!("+62{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+62812******89`: enough for a person to recognise, useless to anyone else.
    pub fn masked(&self) -> String {
        let digits = &self.0;
        let keep_tail = 2;
        let head = &digits[..6.min(digits.len())];
        let tail = &digits[digits.len().saturating_sub(keep_tail)..];
        format!(
            "{head}{}{tail}",
            "*".repeat(digits.len().saturating_sub(6 + keep_tail))
        )
    }
}

fn invalid() -> Invalid {
    Invalid::new(
        "phone",
        ErrorCode::InvalidPhone,
        "must be an Indonesian mobile number such as 0812 3456 7890",
    )
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_common_forms() {
        for input in [
            "081234567890",
            "+6281234567890",
            "6281234567890",
            "0812-3456-7890",
            "0812 3456 7890",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().as_str(),
                "+6281234567890",
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_non_mobile_and_garbage() {
        for input in [
            "",
            "0274123456",
            "12345",
            "08123abc890",
            "+1 555 0100",
            "0812345678901234",
        ] {
            assert!(PhoneNumber::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn masked_hides_the_middle() {
        let p = PhoneNumber::parse("081234567890").unwrap();
        assert_eq!(p.masked(), "+62812******90");
        assert!(!format!("{p:?}").contains("34567"));
    }
}
