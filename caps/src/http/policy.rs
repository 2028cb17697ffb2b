//! Where a guest may send requests: the allow-list of origins and the rules
//! for the addresses a destination resolves to.
//!
//! Every check here runs on the `Uri` value the HTTP client itself uses, so
//! there is no second parser whose reading of a URL could differ from the
//! one that decides where to connect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ureq::http::Uri;

use tape_rt::status;

/// A refused or failed request: the guest status and why, for the host's
/// log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: i32,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: i32, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// The policy refuses it: [`status::ACCESS_DENIED`].
    pub(crate) fn denied(message: impl Into<String>) -> Failure {
        Failure::new(status::ACCESS_DENIED, message)
    }

    /// It is malformed: [`status::INVALID_ARGUMENT`].
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(status::INVALID_ARGUMENT, message)
    }
}

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
                let (host, port) = split_host_port(authority).map_err(|why| bad(&why))?;
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

    /// Whether this entry lifts the private-address rule for `target`: it
    /// matches `target` (scheme, host and port) and names its host as an
    /// IP literal. A wildcard entry that also matches lifts nothing, so
    /// `http://*:*` beside `http://127.0.0.1:8000` opens loopback on port
    /// 8000 only.
    fn names(&self, target: &Target) -> bool {
        matches!(&self.host, HostPattern::Exact(Host::Ip(_))) && self.matches(target)
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

/// Splits `host[:port]`, where an IPv6 host is bracketed, and reads the
/// port: decimal digits only, 1 to 65535. A port the `http` crate would
/// read as none (`:65536`, `:-1`, `:` alone) or as another one (`:+80`)
/// is an error here, so a URL never silently goes to its scheme's default
/// port instead of the one written.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or_else(|| format!("host `{authority}` has an unclosed `[`"))?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (
                host,
                Some(rest.strip_prefix(':').ok_or_else(|| {
                    format!("`{authority}` has `{rest}` after the IPv6 address, not `:port`")
                })?),
            ),
        }
    } else {
        // The first `:`, where the `http` crate ends the host too.
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let Some(port) = port else {
        return Ok((host, None));
    };
    if port.is_empty() {
        return Err(format!(
            "`{authority}` has an empty port; leave out the `:` for the default"
        ));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the port `{port}` is not a decimal number"));
    }
    match port.parse::<u16>() {
        Ok(0) => Err("port 0 is not a destination".to_string()),
        Ok(port) => Ok((host, Some(port))),
        Err(_) => Err(format!("the port `{port}` is out of range (1 to 65535)")),
    }
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
    /// The destination of `uri`: [`status::ACCESS_DENIED`] for what the
    /// policy refuses (a scheme, user info, a host form),
    /// [`status::INVALID_ARGUMENT`] for a malformed port.
    pub(crate) fn of(uri: &Uri) -> Result<Target, Failure> {
        let Some(scheme) = uri.scheme_str() else {
            return Err(not_absolute(format!("`{uri}` has no scheme")));
        };
        let scheme = Scheme::parse(scheme).ok_or_else(|| {
            Failure::denied(format!(
                "the `{scheme}` scheme is refused; only `http` and `https` are allowed"
            ))
        })?;
        let authority = uri
            .authority()
            .ok_or_else(|| not_absolute(format!("`{uri}` has no host")))?;
        if authority.as_str().contains('@') {
            return Err(Failure::denied(
                "URLs with user info (`user@host`) are refused; send credentials in a header",
            ));
        }
        let (host, port) = split_host_port(authority.as_str()).map_err(Failure::invalid)?;
        let host = parse_host(host).map_err(Failure::denied)?;
        let port = port.unwrap_or(scheme.default_port());
        Ok(Target { scheme, host, port })
    }

    /// `scheme://host:port`.
    pub(crate) fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

/// Reads a URL a guest gave. It must be absolute: `http://` or
/// `https://` (any case), a host, then the path, so that no URL is read
/// against a base the guest cannot see.
///
/// A relative URL (`pages`, `/x`, `?q`), a scheme-relative one
/// (`//host/x`), a host without scheme (`localhost:8080/x`,
/// `127.0.0.1/x`), an `http:` URL without `//` and a host (`http:x`,
/// `http:///x`), the empty string and text that does not parse are
/// [`status::INVALID_ARGUMENT`]; a URL of another scheme
/// (`file:///etc/passwd`, `ftp://…`) is [`status::ACCESS_DENIED`], even
/// where it would not parse as an HTTP URL.
pub(crate) fn parse_url(url: &str) -> Result<Uri, Failure> {
    if url.is_empty() {
        return Err(not_absolute("the URL is empty".to_string()));
    }
    // RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`, so the
    // scheme ends before any `/`, `?` or `#`.
    let scheme = url.split_once(':').filter(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    let Some((scheme, rest)) = scheme else {
        return Err(not_absolute(if url.starts_with("//") {
            format!("`{url}` has no scheme")
        } else {
            format!("`{url}` is relative")
        }));
    };
    // `localhost:8080/x` reads as the scheme `localhost`; it is a host
    // and port without a scheme.
    let port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_absolute(format!("`{url}` has no scheme")));
    }
    if Scheme::parse(scheme).is_none() {
        return Err(Failure::denied(format!(
            "the `{scheme}` scheme is refused; only `http` and `https` are allowed"
        )));
    }
    let authority = rest
        .strip_prefix("//")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    if authority.is_none_or(str::is_empty) {
        return Err(not_absolute(format!(
            "`{url}` has no host after `{scheme}:`"
        )));
    }
    url.parse()
        .map_err(|e| Failure::invalid(format!("`{url}` is not a valid URL: {e}")))
}

/// The URL is not an absolute `http` or `https` URL:
/// [`status::INVALID_ARGUMENT`], saying what one looks like.
fn not_absolute(what: String) -> Failure {
    Failure::invalid(format!(
        "{what}; a URL must be absolute: `http://` or `https://`, a host, then the path"
    ))
}

/// What kind of address a destination is, for the address rules. The
/// text names the range with its article, for messages ("a loopback").
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

/// Classifies an address. IPv6 forms that embed an IPv4 address
/// (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`, and an ISATAP interface
/// identifier `…:5efe:a.b.c.d`, whichever is stricter of it and its prefix)
/// are classified by the embedded address; IPv4-compatible `::a.b.c.d` is never a destination,
/// and Teredo and local-use NAT64 are private.
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
        _ if ip.is_unspecified() => Never("an unspecified"),
        (0, ..) => Never("a \"this network\" (0.0.0.0/8)"),
        (10, ..) => Private("a private (10.0.0.0/8)"),
        (100, 64..=127, _) => Private("a shared CGNAT (100.64.0.0/10)"),
        (127, ..) => Private("a loopback"),
        (169, 254, _) => Private("a link-local"),
        (172, 16..=31, _) => Private("a private (172.16.0.0/12)"),
        (192, 0, 0) => Private("an IETF protocol assignment (192.0.0.0/24)"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Private("a documentation"),
        (192, 88, 99) => Private("a deprecated 6to4 relay"),
        (192, 168, _) => Private("a private (192.168.0.0/16)"),
        (198, 18..=19, _) => Private("a benchmarking (198.18.0.0/15)"),
        (224..=239, ..) => Never("a multicast"),
        (255, 255, 255) if ip.is_broadcast() => Never("a broadcast"),
        (240..=255, ..) => Never("a reserved (240.0.0.0/4)"),
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
        return Never("an unspecified");
    }
    if ip.is_loopback() {
        return Private("a loopback");
    }
    let prefix = match segments {
        // IPv4-mapped, ::ffff:0:0/96, and IPv4-translated (SIIT),
        // ::ffff:0:0:0/96: the kernel or a translator delivers them to the
        // embedded IPv4 address.
        [0, 0, 0, 0, 0xffff, 0, hi, lo] | [0, 0, 0, 0, 0, 0xffff, hi, lo] => {
            return classify_v4(embedded(hi, lo));
        }
        // NAT64 well-known prefix, 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return classify_v4(embedded(hi, lo)),
        // 6to4, 2002::/16, embeds the IPv4 address in bits 16–48.
        [0x2002, hi, lo, ..] => return classify_v4(embedded(hi, lo)),
        // IPv4-compatible (deprecated), ::/96: some kernels still tunnel
        // it to the embedded IPv4 address.
        [0, 0, 0, 0, 0, 0, _, _] => Never("an IPv4-compatible (deprecated ::/96)"),
        [0x64, 0xff9b, 1, ..] => Private("a local-use NAT64 (64:ff9b:1::/48)"),
        [0x64, 0xff9b, ..] => Never("a reserved NAT64 (64:ff9b::/32)"),
        [0x100, 0, 0, 0, ..] => Never("a discard-only (100::/64)"),
        // Teredo hides an IPv4 address; refuse rather than decode it.
        [0x2001, 0, ..] => Private("a Teredo (2001::/32)"),
        [0x2001, 2, 0, ..] => Private("a benchmarking (2001:2::/48)"),
        [0x2001, second, ..] if matches!(second & 0xfff0, 0x10 | 0x20) => {
            Never("an ORCHID (2001:10::/28, 2001:20::/28)")
        }
        [0x2001, 0xdb8, ..] => Private("a documentation"),
        [first, ..] if first & 0xfff0 == 0x3ff0 => Private("a documentation (3fff::/20)"),
        [first, ..] if first & 0xfe00 == 0xfc00 => Private("a unique local (fc00::/7)"),
        [first, ..] if first & 0xffc0 == 0xfe80 => Private("a link-local"),
        [first, ..] if first & 0xffc0 == 0xfec0 => Private("a site-local (deprecated)"),
        [first, ..] if first & 0xff00 == 0xff00 => Never("a multicast"),
        _ => Public,
    };
    // An ISATAP interface identifier (`::0:5efe:a.b.c.d`, or `::200:5efe:…`)
    // under any prefix is tunnelled to its IPv4 address by an ISATAP
    // router: the address is as closed as the stricter of the two.
    if let [.., 0 | 0x200, 0x5efe, hi, lo] = segments {
        let inner = classify_v4(embedded(hi, lo));
        if inner.strictness() > prefix.strictness() {
            return inner;
        }
    }
    prefix
}

impl AddressClass {
    /// Higher is refused more: `Private` yields to `allow_private`,
    /// `Metadata` only to an exact entry, `Never` to nothing.
    fn strictness(self) -> u8 {
        match self {
            AddressClass::Public => 0,
            AddressClass::Private(_) => 1,
            AddressClass::Metadata => 2,
            AddressClass::Never(_) => 3,
        }
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
    pub(crate) fn check_uri(&self, uri: &Uri) -> Result<Target, Failure> {
        let target = Target::of(uri)?;
        if !self.allow.iter().any(|origin| origin.matches(&target)) {
            return Err(Failure::denied(format!(
                "`{}` is not on the allow-list",
                target.origin()
            )));
        }
        if let Host::Ip(ip) = target.host {
            self.check_address(&target, ip)?;
        }
        Ok(target)
    }

    /// Checks one address `target` resolved (or is) to. Only an IP
    /// literal can be named: a host name resolving to a private address
    /// needs `allow_private`.
    pub(crate) fn check_address(&self, target: &Target, ip: IpAddr) -> Result<(), Failure> {
        let named = target.host == Host::Ip(ip) && self.allow.iter().any(|o| o.names(target));
        let refused = |kind: &str, hint: &str| {
            let via = match &target.host {
                Host::Name(name) => format!("`{name}` resolves to {ip}, "),
                Host::Ip(_) => format!("{ip} is "),
            };
            Err(Failure::denied(format!("{via}{kind} address; {hint}")))
        };
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Never(kind) => refused(kind, "it is never a destination"),
            _ if named => Ok(()),
            AddressClass::Private(_) if self.allow_private => Ok(()),
            AddressClass::Private(kind) => refused(
                kind,
                "allow private addresses, or put this exact scheme, IP and port on the allow-list",
            ),
            AddressClass::Metadata => refused(
                "a cloud metadata",
                "only an allow-list entry naming this exact scheme, IP and port reaches it",
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
            "::ffff:0:808:808",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2606:4700::5efe:808:808",
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
            "::ffff:0:7f00:1",
            "::ffff:0:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::",
            "2606:4700::5efe:7f00:1",
            "2606:4700::200:5efe:a00:1",
            "2001:2::1",
            "3fff::1",
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
            "::ffff:0:a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::",
            "2606:4700::5efe:a9fe:a9fe",
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
            "::8.8.8.8",
            "::ffff:0:0.0.0.0",
            "64:ff9b::e000:1",
            "64:ff9b:2::1",
            "2001:10::1",
            "2001:20::1",
            "fd00::5efe:e000:1",
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
            "https://x:0",
            "https://x:",
            "https://x:+443",
            "https://[::1]x",
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
    fn ports_are_decimal_and_in_range_or_the_url_is_invalid() {
        let target = |url: &str| Target::of(&url.parse().unwrap());
        assert_eq!(target("http://h:8080/").unwrap().port, 8080);
        assert_eq!(target("http://h/").unwrap().port, 80);
        assert_eq!(target("https://[::1]/").unwrap().port, 443);
        assert_eq!(target("http://h:65535/").unwrap().port, 65535);
        assert_eq!(target("http://[::1]:1/").unwrap().port, 1);
        assert_eq!(target("http://h:08080/").unwrap().port, 8080);
        for (url, why) in [
            ("http://h:65536/", "`65536` is out of range"),
            ("http://h:99999/", "`99999` is out of range"),
            ("http://[::1]:65536/", "out of range"),
            ("http://h:-1/", "`-1` is not a decimal number"),
            ("http://h:+80/", "`+80` is not a decimal number"),
            ("http://h:0x50/", "not a decimal number"),
            ("http://h:/", "empty port"),
            ("http://[::1]:/", "empty port"),
            ("http://h:0/", "port 0"),
            ("http://[::1]x/", "after the IPv6 address"),
        ] {
            let failure = target(url).unwrap_err();
            assert_eq!(failure.status, status::INVALID_ARGUMENT, "{url}");
            assert!(failure.message.contains(why), "{url}: {}", failure.message);
        }
    }

    #[test]
    fn a_url_must_be_absolute_with_an_http_scheme_and_a_host() {
        for url in [
            "http://h/",
            "HTTPS://h:8443/a?b#c",
            "http://h",
            "http://127.0.0.1:8080",
        ] {
            assert!(parse_url(url).is_ok(), "{url}");
        }
        for (url, why) in [
            ("", "the URL is empty"),
            ("pages", "`pages` is relative"),
            ("pages/1", "is relative"),
            ("/x", "is relative"),
            ("?q=1", "is relative"),
            ("#top", "is relative"),
            ("127.0.0.1/x", "is relative"),
            ("127.0.0.1:8080/x", "is relative"),
            ("//host/x", "`//host/x` has no scheme"),
            ("localhost:8080/x", "`localhost:8080/x` has no scheme"),
            ("example.com:443", "has no scheme"),
            ("http:x", "`http:x` has no host after `http:`"),
            ("http:/x", "no host"),
            ("http://", "no host"),
            ("https:///x", "no host"),
            ("http://?q", "no host"),
            ("http://exa mple/", "not a valid URL"),
        ] {
            let failure = parse_url(url).unwrap_err();
            assert_eq!(failure.status, status::INVALID_ARGUMENT, "{url}");
            assert!(failure.message.contains(why), "{url}: {}", failure.message);
            if why != "not a valid URL" {
                assert!(failure.message.contains("must be absolute"), "{url}");
            }
        }
        for url in [
            "file:///etc/passwd",
            "ftp://h/",
            "data:text/plain,x",
            "mailto:a@b",
        ] {
            let failure = parse_url(url).unwrap_err();
            assert_eq!(failure.status, status::ACCESS_DENIED, "{url}");
            assert!(failure.message.contains("scheme is refused"), "{url}");
        }
    }

    #[test]
    fn an_ip_entry_lifts_the_address_rule_for_its_scheme_and_port_only() {
        let p = Policy {
            allow: ["http://*:*", "https://*:*", "http://127.0.0.1:8000"]
                .iter()
                .map(|p| Origin::parse(p).unwrap())
                .collect(),
            allow_private: false,
        };
        let check = |url: &str| p.check_uri(&url.parse().unwrap());
        assert!(check("http://127.0.0.1:8000/").is_ok());
        for url in [
            "http://127.0.0.1/",
            "http://127.0.0.1:80/",
            "http://127.0.0.1:8001/",
            "https://127.0.0.1:8000/",
            "https://127.0.0.1/",
            "http://[::ffff:127.0.0.1]:8000/",
        ] {
            let failure = check(url).unwrap_err();
            assert_eq!(failure.status, status::ACCESS_DENIED, "{url}");
            assert!(failure.message.contains("loopback"), "{url}: {failure:?}");
        }
        let any_port = Policy {
            allow: vec![Origin::parse("http://127.0.0.1:*").unwrap()],
            allow_private: false,
        };
        let check = |url: &str| any_port.check_uri(&url.parse().unwrap());
        assert!(
            check("http://127.0.0.1:8001/").is_ok(),
            "the entry says any port"
        );
        assert!(
            check("https://127.0.0.1:8001/").is_err(),
            "but not any scheme"
        );
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
