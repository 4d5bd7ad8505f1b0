//! Partner Center's collection shape and keyset paging (SPEC §5).

use crate::error::ApiError;
use axum::http::HeaderMap;
use domain::paging::{Cursor, Page, PageSize};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    pub object_type: String,
}

impl Attributes {
    pub fn of(object_type: &str) -> Attributes {
        Attributes { object_type: object_type.to_string() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LinkHeader {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub uri: String,
    pub method: String,
    pub headers: Vec<LinkHeader>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Collection<T: ToSchema> {
    /// The number of items in this page (as in Partner Center), never a count of the table.
    pub total_count: usize,
    pub items: Vec<T>,
    pub links: Links,
    pub attributes: Attributes,
}

/// `size` and `seekOperation` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 500 (default 100).
    pub size: Option<i64>,
    /// `Next` to continue from the `MS-ContinuationToken` header of the previous page's `links.next`.
    pub seek_operation: Option<String>,
}

pub const CONTINUATION_HEADER: &str = "MS-ContinuationToken";

impl PageParams {
    pub fn size(&self) -> Result<PageSize, ApiError> {
        Ok(PageSize::parse(self.size)?)
    }

    /// The cursor to continue from: only with `seekOperation=Next`, from the `MS-ContinuationToken` header.
    pub fn cursor(&self, headers: &HeaderMap) -> Result<Option<Cursor>, ApiError> {
        match self.seek_operation.as_deref() {
            None => Ok(None),
            Some(op) if op.eq_ignore_ascii_case("next") => {
                let token = headers
                    .get(CONTINUATION_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| ApiError::invalid("MS-ContinuationToken: required with seekOperation=Next"))?;
                Ok(Some(Cursor::decode(token)?))
            }
            Some(other) => Err(ApiError::invalid(format!("seekOperation: '{other}' is not supported; use Next"))),
        }
    }
}

/// A path as Partner Center writes it in `links`: relative to the API root (`/customers?size=40`, not
/// `/v1/customers…`), so a client that follows `links.next.uri` against its base URL (which ends in `/v1`) lands on
/// the right route.
pub fn api_relative(path: &str) -> &str {
    path.strip_prefix("/v1").filter(|rest| rest.starts_with('/')).unwrap_or(path)
}

/// Builds the collection for a page: `links.self` is the request, `links.next` the same query with
/// `seekOperation=Next` and the continuation token as a header; both relative to the API root.
pub fn collection<T, D: ToSchema>(page: Page<T>, uri: &axum::http::Uri, map: impl Fn(&T) -> D) -> Collection<D> {
    let path = api_relative(uri.path());
    let kept: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k != "seekOperation")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = |extra: Option<(&str, &str)>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            s.append_pair(k, v);
        }
        if let Some((k, v)) = extra {
            s.append_pair(k, v);
        }
        let q = s.finish();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    };
    let items: Vec<D> = page.items.iter().map(map).collect();
    Collection {
        total_count: items.len(),
        items,
        links: Links {
            self_: Link { uri: query(None), method: "GET".into(), headers: vec![] },
            next: page.next.map(|c| Link {
                uri: query(Some(("seekOperation", "Next"))),
                method: "GET".into(),
                headers: vec![LinkHeader { key: CONTINUATION_HEADER.into(), value: c.encode() }],
            }),
        },
        attributes: Attributes::of("Collection"),
    }
}

/// A page of `rows` that a use case returns whole and in cursor order (a month's rows, a partner's price rules):
/// the rows after `after` (`is_after` says which), `size` of them, and the cursor of the last when more follow.
pub fn page_of_sorted<T>(
    rows: Vec<T>,
    size: PageSize,
    after: Option<&Cursor>,
    is_after: impl Fn(&T, &Cursor) -> bool,
    key: impl Fn(&T) -> Cursor,
) -> Page<T> {
    let rows: Vec<T> =
        rows.into_iter().filter(|r| after.is_none_or(|c| is_after(r, c))).take(size.get() as usize + 1).collect();
    Page::from_rows(rows, size, key)
}

/// A list that is small and fixed by nature (a product's SKUs, the support topics): one page, no continuation.
pub fn whole<D: ToSchema>(items: Vec<D>, uri: &axum::http::Uri) -> Collection<D> {
    Collection {
        total_count: items.len(),
        items,
        links: Links {
            self_: Link { uri: api_relative(uri.path()).to_string(), method: "GET".into(), headers: vec![] },
            next: None,
        },
        attributes: Attributes::of("Collection"),
    }
}

#[cfg(test)]
mod tests {
    use super::api_relative;

    #[test]
    fn links_are_relative_to_the_api_root() {
        assert_eq!(api_relative("/v1/customers"), "/customers");
        assert_eq!(api_relative("/v1/publisher/partners"), "/publisher/partners");
        assert_eq!(api_relative("/v1"), "/v1");
        assert_eq!(api_relative("/v1x/y"), "/v1x/y");
        assert_eq!(api_relative("/download/abc"), "/download/abc");
    }
}
