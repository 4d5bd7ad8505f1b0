//! R7: download links and the transfers they serve: file names safe to store and send, the
//! `Content-Disposition` header, `Range` planning, and whether a link still admits a transfer.

use crate::error::DomainError;
use crate::timestamp::{Timestamp, MICROS_PER_DAY};

/// R7: a link works while `now < issued_at + 14 days`.
pub const LINK_LIFETIME_MICROS: i64 = 14 * MICROS_PER_DAY;

/// R7: a link admits this many counted downloads; resumes are not counted.
pub const MAX_DOWNLOADS: i64 = 50;

/// The most bytes a stored file name may take (what common file systems allow).
const MAX_FILE_NAME_BYTES: usize = 255;

/// Invisible direction controls that can make "exe.txt" display as "txt.exe"; dropped like control characters.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The name we keep for an uploaded file and send back in `Content-Disposition`: no directories (so it cannot
/// point elsewhere when saved), no invisible or control characters (so what the user sees is what is saved), none of
/// the characters Windows refuses, and not empty or longer than 255 bytes (refused rather than truncated, so the
/// publisher notices).
pub fn sanitize_file_name(name: &str) -> Result<String, DomainError> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .map(|c| if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c.is_whitespace() || c == '.');
    if trimmed.is_empty() {
        return Err(DomainError::invalid("fileName", "must name a file (it is empty once sanitized)"));
    }
    if trimmed.len() > MAX_FILE_NAME_BYTES {
        return Err(DomainError::invalid("fileName", format_args!("must be at most {MAX_FILE_NAME_BYTES} bytes")));
    }
    Ok(trimmed.to_owned())
}

/// RFC 5987 attr-char: what may appear unencoded in `filename*`.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<encoded>` (RFC 6266): `filename*` carries the exact
/// name for clients that read it, the quoted ASCII fallback (non-ASCII, `"`, `\` and ASCII controls as `_`)
/// serves the others and can never break out of its quotes or the header line.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| if !c.is_ascii() || c.is_ascii_control() || c == '"' || c == '\\' { '_' } else { c })
        .collect();
    let mut encoded = String::with_capacity(file_name.len() * 3);
    for &b in file_name.as_bytes() {
        if is_attr_char(b) {
            encoded.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(b >> 4)]));
            encoded.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// How `GET /download/{token}` answers, given its `Range` and `If-Range` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// 200 with the whole file.
    Full,
    /// 206 with bytes start..=end (inclusive).
    Partial { start: u64, end: u64 },
    /// 416: the range starts beyond the end of the file.
    Unsatisfiable,
}

impl Transfer {
    /// R7: a transfer that starts at byte 0 is a download and counts; a resume (a range starting later) does not.
    pub fn counts(self) -> bool {
        matches!(self, Transfer::Full | Transfer::Partial { start: 0, .. })
    }

    /// Whether this is a resume (served within the 14 days even after the 50th download, never counted).
    pub fn is_resume(self) -> bool {
        matches!(self, Transfer::Partial { start, .. } if start > 0)
    }

    /// The bytes sent for a file of `size` bytes (0 for Unsatisfiable), for `Content-Length`.
    pub fn len(self, size: u64) -> u64 {
        match self {
            Transfer::Full => size,
            Transfer::Partial { start, end } => end.checked_sub(start).map_or(0, |d| d.saturating_add(1)),
            Transfer::Unsatisfiable => 0,
        }
    }
}

/// One range-spec of RFC 9110 §14.1.1.
enum Spec {
    /// `first-last` or `first-` (last = None).
    From { first: u64, last: Option<u64> },
    /// `-length`.
    Suffix(u64),
}

/// `1*DIGIT` as a u64; None for a sign, anything not a digit, or an overflow.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_spec(s: &str) -> Option<Spec> {
    let (first, last) = s.split_once('-')?;
    if first.is_empty() {
        return digits(last).map(Spec::Suffix);
    }
    let first = digits(first)?;
    let last = if last.is_empty() { None } else { Some(digits(last)?) };
    Some(Spec::From { first, last })
}

/// Plans the answer to a `GET` of a `size`-byte file. `if_range_matches` is false when an `If-Range` header was
/// present and did not match the ETag (the file changed, so the client gets it whole). A `Range` that does not
/// parse, has another unit or is invalid is ignored (RFC 9110 allows it) and so is a multi-range request: both get
/// the whole file, and count (R7).
pub fn plan_transfer(range: Option<&str>, if_range_matches: bool, size: u64) -> Transfer {
    let Some(range) = range else { return Transfer::Full };
    if !if_range_matches {
        return Transfer::Full;
    }
    let Some((unit, set)) = range.trim().split_once('=') else { return Transfer::Full };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Transfer::Full;
    }
    let mut specs = Vec::new();
    // RFC 9110 §5.6.1: empty list elements are tolerated.
    for part in set.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match parse_spec(part) {
            Some(spec) => specs.push(spec),
            None => return Transfer::Full,
        }
    }
    let [spec] = specs.as_slice() else { return Transfer::Full };
    match *spec {
        Spec::From { first, last: Some(last) } if first > last => Transfer::Full,
        Spec::From { first, .. } if first >= size => Transfer::Unsatisfiable,
        Spec::From { first, last } => {
            let end = last.map_or(size - 1, |l| l.min(size - 1));
            Transfer::Partial { start: first, end }
        }
        Spec::Suffix(n) if n == 0 || size == 0 => Transfer::Unsatisfiable,
        Spec::Suffix(n) => Transfer::Partial { start: size.saturating_sub(n), end: size - 1 },
    }
}

/// What the rules need to know about a download link (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkState {
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub downloads: i64,
    pub max_downloads: i64,
    pub revoked: bool,
}

impl LinkState {
    /// A fresh link: 14 days and 50 downloads from `at`, whatever earlier links for the same artifact used.
    pub fn issued(at: Timestamp) -> LinkState {
        LinkState {
            issued_at: at,
            expires_at: at.plus_micros(LINK_LIFETIME_MICROS),
            downloads: 0,
            max_downloads: MAX_DOWNLOADS,
            revoked: false,
        }
    }

    /// Whether a transfer may be served now: a counted one needs a download left; a resume only the 14 days.
    /// Revocation (a cancelled purchase) is reported first, since a new link would not help.
    pub fn admits(&self, now: Timestamp, transfer: Transfer) -> Result<(), DomainError> {
        if self.revoked {
            return Err(DomainError::LinkRevoked);
        }
        if now >= self.expires_at {
            return Err(DomainError::LinkExpired);
        }
        if transfer.counts() && self.downloads >= self.max_downloads {
            return Err(DomainError::LinkExpired);
        }
        Ok(())
    }

    /// Counted downloads left, never negative.
    pub fn remaining(&self) -> i64 {
        self.max_downloads.saturating_sub(self.downloads).max(0)
    }

    /// Where the link stands at `now`, for people who manage links: the reason a new download would be refused
    /// (in the order `admits` checks them), or active.
    pub fn status(&self, now: Timestamp) -> LinkStatus {
        if self.revoked {
            LinkStatus::Revoked
        } else if now >= self.expires_at {
            LinkStatus::Expired
        } else if self.downloads >= self.max_downloads {
            LinkStatus::UsedUp
        } else {
            LinkStatus::Active
        }
    }
}

/// A link's standing, as listed on the Software tab and by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Active,
    /// Its 14 days have passed.
    Expired,
    /// All 50 downloads were used (a resume within the 14 days is still served).
    UsedUp,
    Revoked,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Active => "active",
            LinkStatus::Expired => "expired",
            LinkStatus::UsedUp => "used_up",
            LinkStatus::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_links_status_names_what_would_refuse_a_download() {
        let at = Timestamp::from_micros(1_000_000_000);
        let mut l = LinkState::issued(at);
        assert_eq!(l.status(at), LinkStatus::Active);
        l.downloads = MAX_DOWNLOADS - 1;
        assert_eq!(l.status(at), LinkStatus::Active);
        l.downloads = MAX_DOWNLOADS;
        assert_eq!(l.status(at), LinkStatus::UsedUp);
        assert_eq!(l.status(l.expires_at), LinkStatus::Expired, "past 14 days the date is the reason");
        l.revoked = true;
        assert_eq!(l.status(at), LinkStatus::Revoked, "revocation first, as admits reports it");
    }

    fn ok(name: &str) -> String {
        sanitize_file_name(name).unwrap_or_else(|e| panic!("{name:?} refused: {e}"))
    }
    fn refused(name: &str) {
        let e = sanitize_file_name(name).expect_err(name);
        assert_eq!(e.error_name(), "invalid_request");
        assert!(e.to_string().starts_with("fileName: "), "{e}");
    }

    #[test]
    fn sanitize_keeps_ordinary_and_non_ascii_names() {
        assert_eq!(ok("setup.exe"), "setup.exe");
        assert_eq!(ok("Über Setup.iso"), "Über Setup.iso");
        assert_eq!(ok("日本語 インストーラ.msi"), "日本語 インストーラ.msi");
        assert_eq!(ok("  spaced name.zip  "), "spaced name.zip");
        assert_eq!(ok("archive.tar.gz"), "archive.tar.gz");
    }

    #[test]
    fn sanitize_takes_the_last_path_segment() {
        assert_eq!(ok("../../etc/passwd"), "passwd");
        assert_eq!(ok("..\\..\\x.exe"), "x.exe");
        assert_eq!(ok("C:\\x\\setup.exe"), "setup.exe");
        assert_eq!(ok("/abs/path/file.bin"), "file.bin");
        assert_eq!(ok("mixed/dirs\\and/more\\final.txt"), "final.txt");
        refused("dir/");
        refused("dir\\");
        refused("a/..");
    }

    #[test]
    fn sanitize_refuses_dot_names_and_trims_dots() {
        refused(".");
        refused("..");
        refused("...");
        refused(" . . ");
        refused("");
        refused("   ");
        assert_eq!(ok(".hidden"), "hidden");
        assert_eq!(ok("name.exe."), "name.exe");
        assert_eq!(ok("..name.."), "name");
    }

    #[test]
    fn sanitize_drops_control_and_bidi_characters() {
        assert_eq!(ok("a\0b.txt"), "ab.txt");
        assert_eq!(ok("a\nb\r.txt"), "ab.txt");
        assert_eq!(ok("tab\there.txt"), "tabhere.txt");
        assert_eq!(ok("del\u{7F}.txt"), "del.txt");
        assert_eq!(ok("c1\u{85}\u{9B}.txt"), "c1.txt");
        // "invoice\u{202E}fdp.exe" displays as "invoiceexe.pdf".
        assert_eq!(ok("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert_eq!(ok(&format!("a{c}b")), "ab");
        }
        refused("\0");
        refused("\n\u{202E}");
        // A newline cannot smuggle a path separator past the split: separators are split on first.
        assert_eq!(ok("x/\n../y"), "y");
    }

    #[test]
    fn sanitize_replaces_windows_reserved_characters() {
        assert_eq!(ok("a<b>c:d\"e|f?g*h.txt"), "a_b_c_d_e_f_g_h.txt");
        assert_eq!(ok("C:setup.exe"), "C_setup.exe");
    }

    #[test]
    fn sanitize_refuses_over_255_bytes_without_truncating() {
        let max = format!("{}.iso", "a".repeat(251));
        assert_eq!(max.len(), 255);
        assert_eq!(ok(&max), max);
        refused(&format!("{}.iso", "a".repeat(252)));
        // Bytes, not characters: 128 × "Ü" is 256 bytes.
        refused(&"Ü".repeat(128));
        assert_eq!(ok(&"Ü".repeat(127)), "Ü".repeat(127));
        // Only the kept segment counts.
        assert_eq!(ok(&format!("{}/x.bin", "d".repeat(1000))), "x.bin");
    }

    #[test]
    fn content_disposition_ascii_name() {
        assert_eq!(content_disposition("setup.exe"), "attachment; filename=\"setup.exe\"; filename*=UTF-8''setup.exe");
        assert_eq!(
            content_disposition("my setup (x64).exe"),
            "attachment; filename=\"my setup (x64).exe\"; filename*=UTF-8''my%20setup%20%28x64%29.exe"
        );
    }

    #[test]
    fn content_disposition_non_ascii_and_quotes() {
        assert_eq!(
            content_disposition("Über Setup.iso"),
            "attachment; filename=\"_ber Setup.iso\"; filename*=UTF-8''%C3%9Cber%20Setup.iso"
        );
        assert_eq!(
            content_disposition("a\"b\\c.txt"),
            "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"
        );
        assert_eq!(
            content_disposition("日本.msi"),
            "attachment; filename=\"__.msi\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.msi"
        );
        // Controls cannot break the header line, in either parameter.
        assert_eq!(content_disposition("a\r\nb"), "attachment; filename=\"a__b\"; filename*=UTF-8''a%0D%0Ab");
    }

    #[test]
    fn content_disposition_keeps_attr_chars_and_encodes_the_rest() {
        let attr = "AZaz09!#$&+-.^_`|~";
        assert_eq!(content_disposition(attr), format!("attachment; filename=\"{attr}\"; filename*=UTF-8''{attr}"));
        let encoded = content_disposition("%'*(),/:;<=>?@[]{} ");
        assert!(encoded.ends_with("''%25%27%2A%28%29%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5D%7B%7D%20"), "{encoded}");
    }

    fn plan(range: &str, size: u64) -> Transfer {
        plan_transfer(Some(range), true, size)
    }
    fn partial(start: u64, end: u64) -> Transfer {
        Transfer::Partial { start, end }
    }

    #[test]
    fn no_range_or_if_range_mismatch_is_full() {
        assert_eq!(plan_transfer(None, true, 1000), Transfer::Full);
        assert_eq!(plan_transfer(None, false, 1000), Transfer::Full);
        assert_eq!(plan_transfer(Some("bytes=500-"), false, 1000), Transfer::Full);
        assert_eq!(plan_transfer(Some("bytes=-10"), false, 1000), Transfer::Full);
        assert_eq!(plan_transfer(Some("bytes=5000-"), false, 1000), Transfer::Full);
        assert_eq!(plan_transfer(Some("bytes=500-"), true, 1000), partial(500, 999));
    }

    #[test]
    fn single_ranges() {
        assert_eq!(plan("bytes=0-99", 1000), partial(0, 99));
        assert_eq!(plan("bytes=100-199", 1000), partial(100, 199));
        assert_eq!(plan("bytes=999-999", 1000), partial(999, 999));
        assert_eq!(plan("bytes=500-5000", 1000), partial(500, 999));
        assert_eq!(plan("bytes=0-", 1000), partial(0, 999));
        assert_eq!(plan("bytes=999-", 1000), partial(999, 999));
        assert_eq!(plan("bytes=1000-", 1000), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=1000-2000", 1000), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=5-3", 1000), Transfer::Full);
        assert_eq!(plan("bytes=5000-3000", 1000), Transfer::Full);
        assert_eq!(plan("BYTES=0-9", 1000), partial(0, 9));
        assert_eq!(plan("  bytes= 10-19 ", 1000), partial(10, 19));
        assert_eq!(plan("bytes=0-18446744073709551615", 1000), partial(0, 999));
    }

    #[test]
    fn a_range_covering_the_whole_file_is_still_partial_and_counts() {
        let t = plan("bytes=0-999", 1000);
        assert_eq!(t, partial(0, 999));
        assert!(t.counts());
        assert!(!t.is_resume());
        assert_eq!(t.len(1000), 1000);
    }

    #[test]
    fn suffix_ranges() {
        assert_eq!(plan("bytes=-100", 1000), partial(900, 999));
        assert_eq!(plan("bytes=-1", 1000), partial(999, 999));
        assert_eq!(plan("bytes=-1000", 1000), partial(0, 999));
        assert_eq!(plan("bytes=-5000", 1000), partial(0, 999));
        assert_eq!(plan("bytes=-0", 1000), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=-18446744073709551615", 1000), partial(0, 999));
        assert!(plan("bytes=-5000", 1000).counts());
        assert!(plan("bytes=-100", 1000).is_resume());
    }

    #[test]
    fn multi_range_is_full() {
        assert_eq!(plan("bytes=0-9,20-29", 1000), Transfer::Full);
        assert_eq!(plan("bytes=500-599, -10", 1000), Transfer::Full);
        assert_eq!(plan("bytes=0-9,0-9", 1000), Transfer::Full);
        assert_eq!(plan("bytes=5000-,6000-", 1000), Transfer::Full);
        // Empty list elements are not ranges.
        assert_eq!(plan("bytes=, 100-199 ,", 1000), partial(100, 199));
        assert!(plan("bytes=500-599,600-699", 1000).counts());
    }

    #[test]
    fn invalid_ranges_are_ignored() {
        for r in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=-",
            "bytes=abc",
            "bytes=1-2-3",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=-+5",
            "bytes=-1-",
            "bytes=1 - 2",
            "bytes=0x10-20",
            "bytes=١-٢",
            "bytes=18446744073709551616-",
            "bytes=0-18446744073709551616",
            "bytes=-18446744073709551616",
            "bytes=0-9,garbage",
            "items=0-9",
            "bytes 0-9",
            "0-9",
        ] {
            assert_eq!(plan(r, 1000), Transfer::Full, "{r:?}");
        }
    }

    #[test]
    fn zero_size_file() {
        assert_eq!(plan_transfer(None, true, 0), Transfer::Full);
        assert_eq!(plan("bytes=0-", 0), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=0-0", 0), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=-1", 0), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=-0", 0), Transfer::Unsatisfiable);
        assert_eq!(plan("bytes=1-0", 0), Transfer::Full);
        assert_eq!(Transfer::Full.len(0), 0);
    }

    #[test]
    fn counts_is_resume_and_len() {
        assert!(Transfer::Full.counts());
        assert!(!Transfer::Full.is_resume());
        assert!(partial(0, 9).counts());
        assert!(!partial(0, 9).is_resume());
        assert!(!partial(1, 9).counts());
        assert!(partial(1, 9).is_resume());
        assert!(!Transfer::Unsatisfiable.counts());
        assert!(!Transfer::Unsatisfiable.is_resume());
        assert_eq!(Transfer::Full.len(1000), 1000);
        assert_eq!(partial(100, 199).len(1000), 100);
        assert_eq!(partial(999, 999).len(1000), 1);
        assert_eq!(Transfer::Unsatisfiable.len(1000), 0);
    }

    const DAY: i64 = MICROS_PER_DAY;

    fn t0() -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-24T10:15:00Z").unwrap()
    }
    fn link(downloads: i64) -> LinkState {
        LinkState { downloads, ..LinkState::issued(t0()) }
    }

    #[test]
    fn issued_link() {
        let l = LinkState::issued(t0());
        assert_eq!(LINK_LIFETIME_MICROS, 1_209_600_000_000);
        assert_eq!(l.expires_at.to_rfc3339(), "2026-12-08T10:15:00Z");
        assert_eq!((l.issued_at, l.downloads, l.max_downloads, l.revoked), (t0(), 0, 50, false));
        assert_eq!(l.remaining(), 50);
    }

    #[test]
    fn fourteen_day_boundary() {
        let l = link(0);
        let last = t0().plus_micros(14 * DAY - 1);
        let end = t0().plus_micros(14 * DAY);
        for t in [Transfer::Full, partial(0, 9), partial(5, 9), Transfer::Unsatisfiable] {
            assert_eq!(l.admits(t0(), t), Ok(()));
            assert_eq!(l.admits(last, t), Ok(()), "{t:?}");
            assert_eq!(l.admits(end, t), Err(DomainError::LinkExpired), "{t:?}");
            assert_eq!(l.admits(end.plus_micros(DAY), t), Err(DomainError::LinkExpired));
        }
    }

    #[test]
    fn fiftieth_download_allowed_fifty_first_refused() {
        assert_eq!(link(49).admits(t0(), Transfer::Full), Ok(()));
        assert_eq!(link(49).remaining(), 1);
        assert_eq!(link(50).admits(t0(), Transfer::Full), Err(DomainError::LinkExpired));
        assert_eq!(link(50).admits(t0(), partial(0, 9)), Err(DomainError::LinkExpired));
        assert_eq!(link(50).remaining(), 0);
        assert_eq!(link(51).remaining(), 0);
        assert_eq!(link(i64::MIN).remaining(), i64::MAX);
        let e = link(50).admits(t0(), Transfer::Full).unwrap_err();
        assert_eq!((e.http_status(), e.error_name()), (410, "link_expired"));
        assert!(e.to_string().contains("Get keys and downloads"));
    }

    #[test]
    fn resume_after_fifty_downloads_is_served_within_fourteen_days() {
        let l = link(50);
        assert_eq!(l.admits(t0().plus_micros(14 * DAY - 1), partial(1, 999)), Ok(()));
        assert_eq!(l.admits(t0(), Transfer::Unsatisfiable), Ok(()));
        assert_eq!(l.admits(t0().plus_micros(14 * DAY), partial(1, 999)), Err(DomainError::LinkExpired));
    }

    #[test]
    fn revoked_beats_everything() {
        for downloads in [0, 50, 1000] {
            let l = LinkState { revoked: true, ..link(downloads) };
            for now in [t0(), t0().plus_micros(14 * DAY), t0().plus_micros(-DAY)] {
                for t in [Transfer::Full, partial(0, 9), partial(5, 9), Transfer::Unsatisfiable] {
                    assert_eq!(l.admits(now, t), Err(DomainError::LinkRevoked));
                }
            }
        }
    }

    fn is_forbidden_char(c: char) -> bool {
        c == '/' || c == '\\' || c.is_control() || is_bidi_control(c)
    }

    proptest! {
        #[test]
        fn plan_transfer_never_panics_and_partials_are_in_bounds(
            range in any::<String>(),
            if_range in any::<bool>(),
            size in prop_oneof![Just(0_u64), 1_u64..10_000, Just(u64::MAX)],
        ) {
            let t = plan_transfer(Some(&range), if_range, size);
            if let Transfer::Partial { start, end } = t {
                prop_assert!(start <= end && end < size, "{t:?} for size {size}");
                prop_assert!(t.len(size) <= size);
            }
        }

        #[test]
        fn plan_transfer_structured_ranges(
            a in prop_oneof![0_u64..2_000, any::<u64>()],
            b in prop_oneof![0_u64..2_000, any::<u64>()],
            form in 0_u8..3,
            size in 0_u64..1_500,
        ) {
            let range = match form {
                0 => format!("bytes={a}-{b}"),
                1 => format!("bytes={a}-"),
                _ => format!("bytes=-{b}"),
            };
            let t = plan_transfer(Some(&range), true, size);
            if let Transfer::Partial { start, end } = t {
                prop_assert!(start <= end && end < size, "{t:?} for {range} size {size}");
            }
            prop_assert_eq!(t.counts(), t == Transfer::Full || matches!(t, Transfer::Partial { start: 0, .. }));
            prop_assert_eq!(t.is_resume(), matches!(t, Transfer::Partial { start, .. } if start > 0));
        }

        #[test]
        fn sanitized_names_are_safe(name in any::<String>()) {
            if let Ok(s) = sanitize_file_name(&name) {
                prop_assert!(!s.is_empty() && s.len() <= 255);
                prop_assert!(!s.chars().any(is_forbidden_char), "{s:?}");
                prop_assert!(s != "." && s != "..");
                prop_assert_eq!(sanitize_file_name(&s), Ok(s.clone()));
            }
        }

        #[test]
        fn sanitized_path_like_names_are_safe(
            parts in proptest::collection::vec(
                prop_oneof![Just("..".to_owned()), Just(".".to_owned()), Just("\u{202E}".to_owned()), "[ -~]{0,8}"],
                0..6,
            ),
            sep in prop_oneof![Just("/"), Just("\\"), Just("\0"), Just("\n")],
        ) {
            let name = parts.join(sep);
            if let Ok(s) = sanitize_file_name(&name) {
                prop_assert!(!s.chars().any(is_forbidden_char), "{s:?}");
                prop_assert!(s != "." && s != "..");
                prop_assert!(!s.starts_with('.') && !s.ends_with('.'));
            }
        }
    }
}
