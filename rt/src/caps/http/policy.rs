//! Where a guest may send requests: the allow-list of origins and the rules
//! for the addresses a destination resolves to.
//!
//! Every check here runs on the `Uri` value the HTTP client itself uses, so
//! there is no second parser whose reading of a URL could differ from the
//! one that decides where to connect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ureq::http::Uri;

/// URL schemes a guest may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(scheme: &str) -> Option<Scheme> {
        if scheme.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if scheme.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A destination host as written in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
    /// An IP address literal: dotted-quad IPv4 or bracketed IPv6.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// Which hosts an allow-list entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// Exactly this host.
    Exact(Host),
    /// Any name ending in `.suffix` (not `suffix` itself), from
    /// `*.suffix`.
    Subdomains(String),
    /// Any host, from `*`.
    Any,
}

/// One allow-list entry: `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: Scheme,
    host: HostPattern,
    /// `None` for any port, from `:*`.
    port: Option<u16>,
}

impl Origin {
    /// Parses `http://host`, `https://host:port`, `https://*.example.com`,
    /// `http://[::1]:8080`, `https://*` or `http://127.0.0.1:*`; a trailing
    /// `/` is allowed, any other path is not.
    pub(crate) fn parse(pattern: &str) -> Result<Origin, String> {
        let bad = |why: &str| format!("allow-list entry `{pattern}` {why}");
        let (scheme, rest) = pattern
            .split_once("://")
            .ok_or_else(|| bad("is not of the form `scheme://host[:port]`"))?;
        let scheme = Scheme::parse(scheme).ok_or_else(|| bad("must use `http` or `https`"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(bad("must be an origin only, without path, query or user"));
        }
        let (host, port) = match authority.strip_suffix(":*") {
            Some(host) => (host, None),
            None => {
                let (host, port) =
                    split_host_port(authority).ok_or_else(|| bad("has a bad port"))?;
                (host, Some(port.unwrap_or(scheme.default_port())))
            }
        };
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            match parse_host(suffix) {
                Ok(Host::Name(name)) => HostPattern::Subdomains(name),
                _ => return Err(bad("has a wildcard that is not followed by a host name")),
            }
        } else {
            HostPattern::Exact(parse_host(host).map_err(|why| bad(&why))?)
        };
        Ok(Origin { scheme, host, port })
    }

    /// The entry for exactly `target`'s origin.
    pub(crate) fn exact(target: &Target) -> Origin {
        Origin {
            scheme: target.scheme,
            host: HostPattern::Exact(target.host.clone()),
            port: Some(target.port),
        }
    }

    fn matches(&self, target: &Target) -> bool {
        self.scheme == target.scheme
            && self.port.is_none_or(|port| port == target.port)
            && match (&self.host, &target.host) {
                (HostPattern::Any, _) => true,
                (HostPattern::Exact(host), target) => host == target,
                (HostPattern::Subdomains(suffix), Host::Name(name)) => name
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
                (HostPattern::Subdomains(_), Host::Ip(_)) => false,
            }
    }

    /// Whether this entry names `ip` itself, which lifts the address rules
    /// for it.
    fn names(&self, ip: IpAddr) -> bool {
        self.host == HostPattern::Exact(Host::Ip(ip))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Exact(host) => write!(f, "{host}")?,
            HostPattern::Subdomains(suffix) => write!(f, "*.{suffix}")?,
            HostPattern::Any => f.write_str("*")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => f.write_str(":*"),
        }
    }
}

/// Splits `host[:port]`, where an IPv6 host is bracketed.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(port.parse().ok()?)
        }
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

/// Reads a URL host: a bracketed IPv6 literal, a dotted-quad IPv4 literal
/// or a DNS name. Numeric hosts in any other form (`2130706433`,
/// `0x7f000001`, `0177.0.0.1`, `127.1`), which resolvers read as IPv4 in
/// ways that differ between libraries, are refused rather than guessed at.
pub(crate) fn parse_host(host: &str) -> Result<Host, String> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("host `{host}` has an unclosed `[`"))?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| format!("host `{host}` is not an IPv6 address (zone ids are refused)"));
    }
    // Rust's parser accepts only four decimal parts without leading zeros.
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err(format!("host `{host}` is not a valid host name"));
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(format!("host `{host}` is not a valid host name"));
        }
    }
    // WHATWG URL parsing reads a host whose last label is a number as an
    // IPv4 address; so do `inet_aton` resolvers. Such a host is never a
    // real name.
    let last = name.rsplit('.').next().unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if last.bytes().all(|b| b.is_ascii_digit()) || hex {
        return Err(format!(
            "host `{host}` is a numeric form that is not a plain dotted-quad IPv4 address"
        ));
    }
    Ok(Host::Name(name))
}

/// A URL's destination, once the URL is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) scheme: Scheme,
    pub(crate) host: Host,
    pub(crate) port: u16,
}

impl Target {
    /// The destination of `uri`.
    pub(crate) fn of(uri: &Uri) -> Result<Target, String> {
        let scheme = uri.scheme_str().unwrap_or_default();
        let scheme = Scheme::parse(scheme).ok_or_else(|| {
            if scheme.is_empty() {
                "the URL has no scheme; use `http://` or `https://`".to_string()
            } else {
                format!("the `{scheme}` scheme is refused; only `http` and `https` are allowed")
            }
        })?;
        let authority = uri
            .authority()
            .ok_or_else(|| "the URL has no host".to_string())?;
        if authority.as_str().contains('@') {
            return Err(
                "URLs with user info (`user@host`) are refused; send credentials in a header"
                    .into(),
            );
        }
        let host = parse_host(authority.host())?;
        let port = authority.port_u16().unwrap_or(scheme.default_port());
        Ok(Target { scheme, host, port })
    }

    /// `scheme://host:port`.
    pub(crate) fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

/// What kind of address a destination is, for the address rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressClass {
    /// A public unicast address.
    Public,
    /// Loopback, private, link-local, shared (CGNAT), unique-local or
    /// another range that does not lead to the public internet.
    Private(&'static str),
    /// A cloud instance-metadata endpoint.
    Metadata,
    /// Not a destination at all: unspecified, multicast, broadcast,
    /// reserved.
    Never(&'static str),
}

/// Classifies an address. IPv6 forms that embed an IPv4 address (mapped,
/// NAT64, 6to4) are classified by the embedded address.
pub(crate) fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, c, _] = ip.octets();
    // Metadata endpoints: AWS, GCP, Azure (169.254.169.254), Alibaba
    // (100.100.100.200).
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Metadata;
    }
    match (a, b, c) {
        _ if ip.is_unspecified() => Never("unspecified"),
        (0, ..) => Never("\"this network\" (0.0.0.0/8)"),
        (10, ..) => Private("private (10.0.0.0/8)"),
        (100, 64..=127, _) => Private("shared CGNAT (100.64.0.0/10)"),
        (127, ..) => Private("loopback"),
        (169, 254, _) => Private("link-local"),
        (172, 16..=31, _) => Private("private (172.16.0.0/12)"),
        (192, 0, 0) => Private("IETF protocol assignment (192.0.0.0/24)"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Private("documentation"),
        (192, 88, 99) => Private("deprecated 6to4 relay"),
        (192, 168, _) => Private("private (192.168.0.0/16)"),
        (198, 18..=19, _) => Private("benchmarking (198.18.0.0/15)"),
        (224..=239, ..) => Never("multicast"),
        (255, 255, 255) if ip.is_broadcast() => Never("broadcast"),
        (240..=255, ..) => Never("reserved (240.0.0.0/4)"),
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let segments = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Metadata;
    }
    if ip.is_unspecified() {
        return Never("unspecified");
    }
    if ip.is_loopback() {
        return Private("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    match segments {
        // NAT64 well-known prefix, 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => classify_v4(embedded(hi, lo)),
        // 6to4, 2002::/16, embeds the IPv4 address in bits 16–48.
        [0x2002, hi, lo, ..] => classify_v4(embedded(hi, lo)),
        // IPv4-compatible (deprecated), ::/96.
        [0, 0, 0, 0, 0, 0, _, _] => Never("IPv4-compatible (deprecated)"),
        [0x64, 0xff9b, 1, ..] => Private("local-use NAT64 (64:ff9b:1::/48)"),
        [0x100, 0, 0, 0, ..] => Never("discard-only (100::/64)"),
        // Teredo hides an IPv4 address; refuse rather than decode it.
        [0x2001, 0, ..] => Private("Teredo (2001::/32)"),
        [0x2001, 0xdb8, ..] => Private("documentation"),
        [first, ..] if first & 0xfe00 == 0xfc00 => Private("unique local (fc00::/7)"),
        [first, ..] if first & 0xffc0 == 0xfe80 => Private("link-local"),
        [first, ..] if first & 0xffc0 == 0xfec0 => Private("site-local (deprecated)"),
        [first, ..] if first & 0xff00 == 0xff00 => Never("multicast"),
        _ => Public,
    }
}

/// The rules a destination must pass: on the allow-list, and resolving
/// only to addresses the address rules permit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub(crate) allow: Vec<Origin>,
    pub(crate) allow_private: bool,
}

impl Policy {
    /// Checks `uri`'s scheme, user info, host form and allow-list entry,
    /// and the address rules for an IP literal. A host name's addresses are
    /// checked with [`Policy::check_address`] once resolved.
    pub(crate) fn check_uri(&self, uri: &Uri) -> Result<Target, String> {
        let target = Target::of(uri)?;
        if !self.allow.iter().any(|origin| origin.matches(&target)) {
            return Err(format!("`{}` is not on the allow-list", target.origin()));
        }
        if let Host::Ip(ip) = target.host {
            self.check_address(&target, ip)?;
        }
        Ok(target)
    }

    /// Checks one address `target` resolved (or is) to.
    pub(crate) fn check_address(&self, target: &Target, ip: IpAddr) -> Result<(), String> {
        let named = target.host == Host::Ip(ip) && self.allow.iter().any(|o| o.names(ip));
        let refused = |kind: &str, hint: &str| {
            let via = match &target.host {
                Host::Name(name) => format!("`{name}` resolves to {ip}, "),
                Host::Ip(_) => format!("{ip} is "),
            };
            Err(format!("{via}{kind} address; {hint}"))
        };
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Never(kind) => refused(&format!("a {kind}"), "it is never a destination"),
            _ if named => Ok(()),
            AddressClass::Private(_) if self.allow_private => Ok(()),
            AddressClass::Private(kind) => refused(
                &format!("a {kind}"),
                "allow private addresses, or put this exact IP on the allow-list",
            ),
            AddressClass::Metadata => refused(
                "a cloud metadata",
                "only an allow-list entry naming this exact IP reaches it",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_are_classified() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert_eq!(classify(ip(public)), AddressClass::Public, "{public}");
        }
        for private in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.0.5",
            "100.64.0.1",
            "198.18.0.1",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
            "2001::1",
        ] {
            assert!(
                matches!(classify(ip(private)), AddressClass::Private(_)),
                "{private}: {:?}",
                classify(ip(private))
            );
        }
        for metadata in [
            "169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "::ffff:169.254.169.254",
        ] {
            assert_eq!(classify(ip(metadata)), AddressClass::Metadata, "{metadata}");
        }
        for never in [
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "ff02::1",
            "::127.0.0.1",
        ] {
            assert!(
                matches!(classify(ip(never)), AddressClass::Never(_)),
                "{never}"
            );
        }
    }

    #[test]
    fn hosts_in_numeric_forms_other_than_dotted_quad_are_refused() {
        assert_eq!(parse_host("127.0.0.1"), Ok(Host::Ip(ip("127.0.0.1"))));
        assert_eq!(parse_host("[::1]"), Ok(Host::Ip(ip("::1"))));
        assert_eq!(
            parse_host("Example.COM."),
            Ok(Host::Name("example.com".into()))
        );
        for bad in [
            "2130706433",
            "0x7f000001",
            "0177.0.0.1",
            "127.1",
            "127.0.0.01",
            "1.2.3.0x4",
            "[fe80::1%25eth0]",
            "a..b",
            "",
            "ex ample.com",
            "a%2eb",
        ] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_parse_and_match() {
        let policy = |patterns: &[&str]| Policy {
            allow: patterns.iter().map(|p| Origin::parse(p).unwrap()).collect(),
            allow_private: false,
        };
        let check = |policy: &Policy, url: &str| policy.check_uri(&url.parse().unwrap());
        let p = policy(&["https://api.example.com", "http://*.example.org:8080/"]);
        assert!(check(&p, "https://api.example.com/v1?q=1").is_ok());
        assert!(check(&p, "https://API.example.com:443/").is_ok());
        assert!(check(&p, "http://api.example.com/").is_err(), "scheme");
        assert!(check(&p, "https://api.example.com:8443/").is_err(), "port");
        assert!(check(&p, "https://example.com/").is_err(), "host");
        assert!(check(&p, "http://a.b.example.org:8080/").is_ok());
        assert!(
            check(&p, "http://example.org:8080/").is_err(),
            "a wildcard needs a label"
        );
        assert!(check(&p, "http://evilexample.org:8080/").is_err());
        assert!(check(&p, "ftp://api.example.com/").is_err());
        assert!(check(&p, "https://user@api.example.com/").is_err());
        for bad in [
            "api.example.com",
            "ftp://x",
            "https://x/path",
            "https://u@x",
            "https://x:99999",
            "https://*x.com",
            "https://*.1.2.3.4",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Origin::parse("https://[::1]").unwrap().to_string(),
            "https://[::1]:443"
        );
        assert_eq!(
            Origin::parse("http://*:*").unwrap().to_string(),
            "http://*:*"
        );
        let any_port = policy(&["http://api.example.com:*"]);
        assert!(check(&any_port, "http://api.example.com:1234/").is_ok());
        assert!(check(&any_port, "http://api.example.com/").is_ok());
        assert!(check(&any_port, "https://api.example.com/").is_err());
    }

    #[test]
    fn private_addresses_need_the_flag_or_an_entry_naming_the_ip() {
        let mut p = Policy {
            allow: vec![
                Origin::parse("http://*").unwrap(),
                Origin::parse("http://10.0.0.7").unwrap(),
            ],
            allow_private: false,
        };
        let check = |policy: &Policy, url: &str| policy.check_uri(&url.parse().unwrap());
        assert!(check(&p, "http://93.184.216.34/").is_ok());
        assert!(check(&p, "http://10.0.0.7/").is_ok(), "named exactly");
        assert!(check(&p, "http://10.0.0.8/").is_err());
        assert!(check(&p, "http://169.254.169.254/").is_err());
        p.allow_private = true;
        assert!(check(&p, "http://10.0.0.8/").is_ok());
        assert!(check(&p, "http://[::1]/").is_ok());
        assert!(
            check(&p, "http://169.254.169.254/").is_err(),
            "metadata needs an exact entry"
        );
        assert!(check(&p, "http://0.0.0.0/").is_err(), "never");
        p.allow
            .push(Origin::parse("http://169.254.169.254").unwrap());
        assert!(check(&p, "http://169.254.169.254/").is_ok());
    }
}
