//! Keyset paging (SPEC §5): a page size and an opaque continuation token naming the last row seen.

use crate::error::DomainError;
use crate::timestamp::Timestamp;
use base64::Engine;

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// The largest page (what the dashboard reads of lists it shows whole).
    pub const MAX: PageSize = PageSize(MAX_PAGE_SIZE);

    pub fn parse(size: Option<i64>) -> Result<PageSize, DomainError> {
        match size {
            None => Ok(PageSize(DEFAULT_PAGE_SIZE)),
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => Ok(PageSize(n as u32)),
            Some(_) => Err(DomainError::invalid("size", format!("must be between 1 and {MAX_PAGE_SIZE}"))),
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The key of the last row of a page: rows are ordered by (instant, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: Timestamp,
    pub id: String,
}

/// The longest `id` a cursor carries.
pub const MAX_CURSOR_ID: usize = 160;

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1|{}|{}", self.at.micros(), self.id))
    }

    pub fn decode(token: &str) -> Result<Cursor, DomainError> {
        let bad = || DomainError::invalid("MS-ContinuationToken", "is not a token this server issued");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(3, '|');
        if parts.next() != Some("v1") {
            return Err(bad());
        }
        let at: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let id = parts.next().ok_or_else(bad)?;
        // Room for a composite key of two catalog ids (a product's and a SKU's, 64 each, and a separator).
        if id.is_empty() || id.len() > MAX_CURSOR_ID {
            return Err(bad());
        }
        Ok(Cursor { at: Timestamp::from_micros(at), id: id.to_string() })
    }
}

/// One page of rows and, when more may follow, the cursor to continue from.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `size + 1` rows fetched in key order: the extra row only says "there is more".
    pub fn from_rows(mut rows: Vec<T>, size: PageSize, key: impl Fn(&T) -> Cursor) -> Page<T> {
        let size = size.get() as usize;
        let next = if rows.len() > size {
            rows.truncate(size);
            rows.last().map(&key)
        } else {
            None
        };
        Page { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn size_bounds() {
        assert_eq!(PageSize::parse(None).unwrap().get(), 100);
        assert!(PageSize::parse(Some(0)).is_err());
        assert!(PageSize::parse(Some(501)).is_err());
        assert_eq!(PageSize::parse(Some(500)).unwrap().get(), 500);
    }

    #[test]
    fn junk_tokens_are_refused() {
        for t in ["", "!!!", "djF8eA", "eHx5fHo"] {
            assert!(Cursor::decode(t).is_err(), "{t}");
        }
    }

    #[test]
    fn page_from_rows_marks_more() {
        let size = PageSize::parse(Some(2)).unwrap();
        let key = |n: &i64| Cursor { at: Timestamp::from_micros(*n), id: n.to_string() };
        let p = Page::from_rows(vec![1, 2, 3], size, key);
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next.unwrap().at.micros(), 2);
        assert!(Page::from_rows(vec![1, 2], size, key).next.is_none());
    }

    proptest! {
        #[test]
        fn cursor_round_trips(at in any::<i64>(), id in "[a-f0-9-]{1,36}") {
            let c = Cursor { at: Timestamp::from_micros(at), id };
            prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }
    }
}
