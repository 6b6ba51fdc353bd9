//! A webhook's target URL, parsed once at registration. Literal IP hosts are judged by the
//! address policy in every spelling: the WHATWG parser of the `url` crate already turns
//! `2130706433`, `0x7f.1` and `0177.0.0.1` into `127.0.0.1`, and [`crate::address`] judges
//! `[::ffff:127.0.0.1]` as `127.0.0.1`.

use crate::address::AddressPolicy;
use crate::validation::PropertyError;
use std::net::IpAddr;
use url::{Host, Url};

/// The longest accepted target URL, in characters.
pub const MAX_TARGET_URL_LEN: usize = 2048;

/// What registration accepts besides public https URLs.
#[derive(Clone, Debug, Default)]
pub struct TargetRules {
    /// `HOOKLAYER_ALLOW_HTTP_TARGETS`
    pub allow_http: bool,
    /// `HOOKLAYER_ALLOW_TARGETS`
    pub addresses: AddressPolicy,
}

/// A valid target URL. `as_str` is the URL exactly as the user registered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUrl {
    raw: String,
    url: Url,
}

const PROPERTY: &str = "target_url";

impl TargetUrl {
    /// Parses and checks a registration's `target_url`.
    pub fn parse(raw: &str, rules: &TargetRules) -> Result<Self, PropertyError> {
        let invalid =
            |msg: &str| PropertyError::invalid(PROPERTY, format!("The target_url property {msg}"));
        if raw.chars().count() > MAX_TARGET_URL_LEN {
            return Err(invalid("must be at most 2048 characters long."));
        }
        if raw.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters."));
        }
        let https_only = "must be an https URL.";
        let url = Url::parse(raw).map_err(|_| {
            invalid(if rules.allow_http {
                "must be an absolute http or https URL."
            } else {
                https_only
            })
        })?;
        match url.scheme() {
            "https" => {}
            "http" if rules.allow_http => {}
            _ => return Err(invalid(https_only)),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain a user name or password."));
        }
        let ip = match url.host() {
            None => return Err(invalid("must name a host.")),
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(Host::Domain(name)) if !is_dns_name(name) => {
                return Err(invalid(
                    "must name its host with letters, digits, hyphens and dots.",
                ))
            }
            Some(Host::Domain(_)) => None,
        };
        if let Some(ip) = ip {
            if let Err(range) = rules.addresses.check(ip) {
                return Err(invalid(&format!(
                    "points to {} ({ip}), which hooklayer does not connect to; HOOKLAYER_ALLOW_TARGETS can allow it.",
                    range.describe()
                )));
            }
        }
        Ok(Self {
            raw: raw.to_owned(),
            url,
        })
    }

    /// Rebuilds a URL that was valid when stored (no policy check: the connect-time guard
    /// judges the addresses again).
    pub fn from_stored(raw: &str) -> Option<Self> {
        Url::parse(raw).ok().map(|url| Self {
            raw: raw.to_owned(),
            url,
        })
    }

    /// The URL as registered.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The verification URL: `verification_challenge=<challenge>` appended to the query.
    pub fn with_challenge(&self, challenge: &str) -> Url {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("verification_challenge", challenge);
        url
    }
}

/// A host name as DNS spells it (after the URL parser's IDNA step, so international names are
/// in their `xn--` form): non-empty labels of letters, digits and hyphens, one optional
/// trailing dot. The URL standard lets through much else (`*`, `_`, `!`, empty labels) that
/// no resolver would find.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::PropertyErrorKind;

    fn parse(raw: &str) -> Result<TargetUrl, PropertyError> {
        TargetUrl::parse(raw, &TargetRules::default())
    }

    #[test]
    fn public_https_urls_are_accepted_as_written() {
        let t = parse("https://mydomain.com/my-webhook-endpoint").unwrap();
        assert_eq!(t.as_str(), "https://mydomain.com/my-webhook-endpoint");
    }

    #[test]
    fn a_host_must_be_a_dns_name() {
        for ok in [
            "https://hooks.example.com./x",
            "https://intranet/x",
            "https://bücher.example/x",
            "https://a-b.c-d.example:8443/x?y#z",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://a*.example/",
            "https://a..example/",
            "https://a_b.example/",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.message.contains("letters, digits"),
                "{bad}: {}",
                err.message
            );
        }
    }

    #[test]
    fn http_userinfo_and_length_are_refused() {
        for bad in [
            "http://mydomain.com/",
            "ftp://mydomain.com/",
            "not a url",
            "/relative",
            "https://user:pw@mydomain.com/",
            "https://mydomain.com/a\u{0}b",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.kind, PropertyErrorKind::Invalid, "{bad}");
            assert_eq!(err.property, "target_url");
        }
        let long = format!("https://mydomain.com/{}", "a".repeat(2048));
        assert!(parse(&long).is_err());
    }

    #[test]
    fn blocked_literal_ips_are_refused_in_every_spelling() {
        for bad in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f.1/",
            "https://0177.0.0.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::1]/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.message.contains("HOOKLAYER_ALLOW_TARGETS"),
                "{bad}: {}",
                err.message
            );
        }
    }

    #[test]
    fn the_allow_list_and_http_switch_open_what_they_name() {
        let rules = TargetRules {
            allow_http: true,
            addresses: AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]),
        };
        assert!(TargetUrl::parse("http://127.0.0.1:9000/hook", &rules).is_ok());
        assert!(TargetUrl::parse("https://2130706433/", &rules).is_ok());
        assert!(TargetUrl::parse("https://10.0.0.1/", &rules).is_err());
    }

    #[test]
    fn the_challenge_is_appended_to_an_existing_query() {
        let t = parse("https://mydomain.com/hook?team=7").unwrap();
        assert_eq!(
            t.with_challenge("abc").as_str(),
            "https://mydomain.com/hook?team=7&verification_challenge=abc"
        );
        let plain = parse("https://mydomain.com/hook").unwrap();
        assert_eq!(
            plain.with_challenge("abc").query(),
            Some("verification_challenge=abc")
        );
    }
}
