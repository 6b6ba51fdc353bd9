//! Where the verifier reads request headers from: anything implementing [`HeaderLookup`].
//!
//! Header names are matched without regard to ASCII case, as HTTP says.

use std::collections::{BTreeMap, HashMap};

/// Read access to a request's headers by name.
///
/// Implemented for slices, arrays and vectors of `(name, value)` pairs, for string maps, and
/// (feature `http`) for [`http::HeaderMap`]. When a name occurs more than once, the first
/// value counts.
///
/// ```
/// use hooklayer_verify::HeaderLookup;
///
/// let headers = [("Webhook-Id", "msg_1")];
/// assert_eq!(headers.header("webhook-id"), Some("msg_1"));
/// assert_eq!(headers.header("webhook-timestamp"), None);
/// ```
pub trait HeaderLookup {
    /// The value of the header `name` (lowercase), if the request has it as text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderLookup for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<V: AsRef<str>> HeaderLookup for HashMap<String, V> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<V: AsRef<str>> HeaderLookup for BTreeMap<String, V> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// A value that is not visible ASCII cannot be a valid signature header; it reads as absent.
#[cfg(feature = "http")]
impl HeaderLookup for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}
