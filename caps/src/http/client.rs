//! The blocking HTTP client behind `http` and `ai`: ureq with a resolver
//! that enforces the [`Policy`], redirects followed here so that every hop
//! is checked, and every limit mapped to a guest status.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, LOCATION};
use ureq::http::{self, HeaderMap, Method, Uri};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Error as UreqError};

use super::policy::{Failure, Host, Policy, Target};
use tape_rt::status;

/// Bytes of response headers a reply may have: ureq's own default, kept
/// explicit because it bounds what a server can make the host buffer.
pub(crate) const MAX_RESPONSE_HEADER_BYTES: usize = 64 << 10;

/// The guest's headers a redirect carries to another origin (scheme, host
/// or port) by default: what the client accepts and how to cache, never
/// who it is. Everything else — credentials, custom headers, conditional
/// and range headers — stays with the origin it was set for.
/// `Content-Type` goes along only with the body it describes (307, 308).
const CROSS_ORIGIN_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-type",
    "pragma",
    "user-agent",
];

/// Headers that carry credentials: they never go to another origin, even
/// when the host lists them as headers that may.
pub(crate) const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
];

/// Which of the guest's headers a redirect carries to another origin: the
/// headers that may cross, less the credentials, which never do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedirectHeaders {
    /// Lower-case names that may cross.
    pub(crate) cross: Vec<String>,
    /// Lower-case names that never cross.
    pub(crate) credentials: Vec<String>,
}

impl Default for RedirectHeaders {
    fn default() -> Self {
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        RedirectHeaders {
            cross: names(CROSS_ORIGIN_HEADERS),
            credentials: names(CREDENTIAL_HEADERS),
        }
    }
}

impl RedirectHeaders {
    /// Whether a header called `name` (lower-case) goes to another origin.
    pub(crate) fn crosses(&self, name: &str) -> bool {
        self.cross.iter().any(|n| n == name) && !self.credentials.iter().any(|n| n == name)
    }

    /// `headers` less those that stay on their origin.
    fn filter(&self, headers: &HeaderMap) -> HeaderMap {
        let mut kept = HeaderMap::new();
        for (name, value) in headers {
            if self.crosses(name.as_str()) {
                kept.append(name, value.clone());
            }
        }
        kept
    }
}

/// The headers that describe a request's body (the Fetch standard's
/// "request-body-header names"), dropped with the body when a redirect
/// turns a request into a GET.
const BODY_HEADERS: &[HeaderName] = &[
    CONTENT_TYPE,
    http::header::CONTENT_ENCODING,
    http::header::CONTENT_LANGUAGE,
    http::header::CONTENT_LOCATION,
];

/// The error the resolver returns for a refused destination, so it can be
/// told apart from a network failure once ureq hands it back.
#[derive(Debug)]
struct Refused(Failure);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Refused {}

fn refuse(failure: Failure) -> UreqError {
    UreqError::Other(Box::new(Refused(failure)))
}

/// Resolves with the system resolver, then refuses the connection unless
/// the URL and every address pass the policy. ureq connects only to the
/// addresses returned here, so what is checked is what is connected to:
/// there is no second lookup for a DNS rebinding to slip into.
#[derive(Debug)]
struct PolicyResolver {
    policy: Arc<Policy>,
    system: DefaultResolver,
}

impl Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, UreqError> {
        let target = self.policy.check_uri(uri).map_err(refuse)?;
        if let Host::Ip(ip) = target.host {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, target.port));
            return Ok(addrs);
        }
        let addrs = self.system.resolve(uri, config, timeout)?;
        for addr in addrs.iter() {
            self.policy
                .check_address(&target, addr.ip())
                .map_err(refuse)?;
        }
        Ok(addrs)
    }
}

/// One request, with its limits.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: &'a [u8],
    /// Bytes of response body accepted; more is [`status::TOO_LARGE`].
    pub(crate) max_response_bytes: u64,
    /// Redirects followed; 0 returns a 3xx response as it is.
    pub(crate) max_redirects: u32,
    /// Time for the whole exchange, redirects included.
    pub(crate) timeout: Duration,
}

/// A response, read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// Names lower-case, in the order received; invalid UTF-8 in a value
    /// replaced.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// A policy-enforcing HTTP client. Clones share connections.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    agent: Agent,
    policy: Arc<Policy>,
    redirect_headers: Arc<RedirectHeaders>,
}

impl Client {
    /// A client for `policy`; TLS servers are verified against `roots`, or
    /// Mozilla's roots when there are none.
    pub(crate) fn new(policy: Policy, roots: Option<Arc<Vec<Certificate<'static>>>>) -> Client {
        let roots = roots.map_or(RootCerts::WebPki, RootCerts::Specific);
        let config = Agent::config_builder()
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            // Statuses are the guest's to read; redirects are followed by
            // `send`, which checks each hop; proxy variables in the host's
            // environment must not reroute guest traffic.
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(concat!("tape-rt/", env!("CARGO_PKG_VERSION")))
            .max_response_header_size(MAX_RESPONSE_HEADER_BYTES)
            .build();
        let policy = Arc::new(policy);
        let resolver = PolicyResolver {
            policy: policy.clone(),
            system: DefaultResolver::default(),
        };
        Client {
            agent: Agent::with_parts(config, DefaultConnector::default(), resolver),
            policy,
            redirect_headers: Arc::default(),
        }
    }

    /// With `rule` deciding which headers a redirect carries to another
    /// origin, instead of the default.
    pub(crate) fn redirect_headers(mut self, rule: RedirectHeaders) -> Client {
        self.redirect_headers = Arc::new(rule);
        self
    }

    /// Checks `uri` against the policy without any network traffic (host
    /// names are not resolved).
    pub(crate) fn check(&self, uri: &Uri) -> Result<Target, Failure> {
        self.policy.check_uri(uri)
    }

    /// Sends `exchange`, following redirects it allows.
    pub(crate) fn send(&self, exchange: Exchange<'_>) -> Result<Reply, Failure> {
        let Exchange {
            mut method,
            mut uri,
            mut headers,
            mut body,
            max_response_bytes,
            max_redirects,
            timeout,
        } = exchange;
        let deadline = Instant::now() + timeout;
        let mut redirects = 0;
        loop {
            // The resolver checks again; checking first gives the reason
            // without touching the network.
            let target = self.check(&uri)?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out(timeout));
            }
            let response = self
                .call(&method, &uri, &headers, body, remaining)
                .map_err(|failure| match failure.status {
                    // Say the request's timeout, not what was left of it.
                    status::TIMED_OUT => timed_out(timeout),
                    _ => failure,
                })?;
            let status = response.status();
            let location = response.headers().get(LOCATION).cloned();
            let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if redirect && max_redirects > 0 {
                if redirects == max_redirects {
                    return Err(Failure::new(
                        status::TOO_LARGE,
                        format!("more than {max_redirects} redirects"),
                    ));
                }
                redirects += 1;
                let location =
                    location
                        .as_ref()
                        .and_then(|l| l.to_str().ok())
                        .ok_or_else(|| {
                            Failure::new(
                                status::IO_FAILURE,
                                format!("`{uri}` answered {status} without a usable Location"),
                            )
                        })?;
                let next = join(&uri, location)?;
                if let Some(changed) = redirected_method(&method, status.as_u16()) {
                    method = changed;
                    body = &[];
                    for name in BODY_HEADERS {
                        headers.remove(name);
                    }
                }
                let next_target = self.check(&next).map_err(|failure| {
                    // A malformed Location is the server's fault, not the
                    // guest's argument.
                    let status = match failure.status {
                        status::INVALID_ARGUMENT => status::IO_FAILURE,
                        other => other,
                    };
                    Failure::new(
                        status,
                        format!("`{uri}` redirected to `{next}`: {}", failure.message),
                    )
                })?;
                // Credentials and whatever else the guest meant for one
                // origin go only there.
                if next_target != target {
                    headers = self.redirect_headers.filter(&headers);
                }
                uri = next;
                continue;
            }
            return read(response, &method, &uri, max_response_bytes, timeout);
        }
    }

    fn call(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        timeout: Duration,
    ) -> Result<http::Response<ureq::Body>, Failure> {
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(uri.clone());
        if let Some(map) = builder.headers_mut() {
            map.clone_from(headers);
        }
        // Only POST, PUT and PATCH send an empty body (as
        // `Content-Length: 0`); the others send one only if there is one.
        let bodiless =
            body.is_empty() && !matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        let result = if bodiless {
            let request = builder.body(()).map_err(invalid)?;
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(Some(timeout))
                .build();
            self.agent.run(request)
        } else {
            let request = builder.body(body).map_err(invalid)?;
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(Some(timeout))
                .build();
            self.agent.run(request)
        };
        result.map_err(|e| failure(e, uri, timeout))
    }
}

/// The method a redirect with `status` continues with, if it changes, as
/// the Fetch standard says browsers do: 303 turns any method but GET and
/// HEAD into a GET, and 301 and 302 turn a POST into one; the body goes
/// with the old method. 307 and 308, and 301 and 302 after any other
/// method, repeat the request as it was.
fn redirected_method(method: &Method, status: u16) -> Option<Method> {
    let to_get = match status {
        303 => *method != Method::GET && *method != Method::HEAD,
        301 | 302 => *method == Method::POST,
        _ => false,
    };
    to_get.then_some(Method::GET)
}

fn invalid(error: http::Error) -> Failure {
    Failure::new(status::INVALID_ARGUMENT, error.to_string())
}

fn timed_out(timeout: Duration) -> Failure {
    Failure::new(
        status::TIMED_OUT,
        format!("no complete response within {timeout:?}"),
    )
}

/// Maps a ureq error to the status the guest sees.
fn failure(error: UreqError, uri: &Uri, timeout: Duration) -> Failure {
    match error {
        UreqError::Other(inner) => match inner.downcast::<Refused>() {
            Ok(refused) => refused.0,
            Err(other) => Failure::new(status::IO_FAILURE, format!("`{uri}`: {other}")),
        },
        UreqError::Timeout(_) => timed_out(timeout),
        UreqError::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            timed_out(timeout)
        }
        UreqError::BodyExceedsLimit(_) => Failure::new(
            status::TOO_LARGE,
            format!("the response body from `{uri}` is over its limit"),
        ),
        UreqError::LargeResponseHeader(size, limit) => Failure::new(
            status::TOO_LARGE,
            format!(
                "the response headers from `{uri}` ({size} bytes) are over the {limit}-byte limit"
            ),
        ),
        UreqError::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => Failure::new(
            status::IO_FAILURE,
            format!("`{uri}`: the connection was refused ({e}); is the server running?"),
        ),
        UreqError::HostNotFound => Failure::new(
            status::IO_FAILURE,
            format!("`{uri}`: the host name does not resolve"),
        ),
        UreqError::BadUri(message) => Failure::new(status::INVALID_ARGUMENT, message),
        UreqError::Http(e) => Failure::new(status::INVALID_ARGUMENT, e.to_string()),
        other => Failure::new(status::IO_FAILURE, format!("`{uri}`: {other}")),
    }
}

/// Reads a final response, refusing a body over `max` bytes rather than
/// cutting it short.
fn read(
    response: http::Response<ureq::Body>,
    method: &Method,
    uri: &Uri,
    max: u64,
    timeout: Duration,
) -> Result<Reply, Failure> {
    let (parts, body) = response.into_parts();
    // A reply to HEAD has no body, whatever size its headers announce.
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .filter(|_| *method != Method::HEAD)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(Failure::new(
            status::TOO_LARGE,
            format!("the response body from `{uri}` is over the {max}-byte limit"),
        ));
    }
    // ureq's limit refuses the read that finds the end of a body of
    // exactly `limit` bytes, so allow one more and check here.
    let body = body
        .into_with_config()
        .limit(max.saturating_add(1))
        .read_to_vec()
        .map_err(|e| failure(e, uri, timeout))?;
    if body.len() as u64 > max {
        return Err(Failure::new(
            status::TOO_LARGE,
            format!("the response body from `{uri}` is over the {max}-byte limit"),
        ));
    }
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(Reply {
        status: parts.status.as_u16(),
        headers,
        body,
    })
}

/// Resolves a `Location` against the URL that answered with it
/// (RFC 3986 section 5.2, without removing dot segments, which servers
/// handle).
fn join(base: &Uri, location: &str) -> Result<Uri, Failure> {
    let bad = || {
        Failure::new(
            status::IO_FAILURE,
            format!("`{base}` redirected to `{location}`, which is not a valid URL"),
        )
    };
    let location = location.split('#').next().unwrap_or_default();
    let has_scheme = location.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let joined = if has_scheme {
        let scheme = location.split(':').next().unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(Failure::denied(format!(
                "`{base}` redirected to `{location}`; the `{scheme}` scheme is refused"
            )));
        }
        location.to_string()
    } else if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.is_empty() || location.starts_with('?') {
        format!("{scheme}://{authority}{}{location}", base.path())
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{location}")
    };
    joined.parse().map_err(|_| bad())
}

/// The time a request may take: its own timeout, cut to what is left of
/// the run's deadline.
pub(crate) fn time_budget(
    timeout: Duration,
    deadline: Option<Instant>,
) -> Result<Duration, Failure> {
    let budget = match deadline {
        Some(deadline) => timeout.min(deadline.saturating_duration_since(Instant::now())),
        None => timeout,
    };
    if budget.is_zero() {
        Err(Failure::new(
            status::TIMED_OUT,
            "the run's deadline has passed",
        ))
    } else {
        Ok(budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_join_like_a_browser() {
        let base: Uri = "http://h:8/a/b?q=1".parse().unwrap();
        let join = |l: &str| join(&base, l).map(|u| u.to_string());
        assert_eq!(join("/x").unwrap(), "http://h:8/x");
        assert_eq!(join("x?y").unwrap(), "http://h:8/a/x?y");
        assert_eq!(join("?z").unwrap(), "http://h:8/a/b?z");
        assert_eq!(join("//o:9/p").unwrap(), "http://o:9/p");
        assert_eq!(join("https://o/p#f").unwrap(), "https://o/p");
        assert_eq!(
            join("file:///etc/passwd").unwrap_err().status,
            status::ACCESS_DENIED
        );
        assert_eq!(
            join("gopher://o/").unwrap_err().status,
            status::ACCESS_DENIED
        );
    }

    #[test]
    fn redirects_change_the_method_as_the_fetch_standard_says() {
        let after = |method: Method, status| redirected_method(&method, status);
        for status in [301, 302, 303] {
            assert_eq!(after(Method::POST, status), Some(Method::GET), "{status}");
            assert_eq!(after(Method::GET, status), None, "{status}");
            assert_eq!(after(Method::HEAD, status), None, "{status}");
        }
        for method in [Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS] {
            assert_eq!(after(method.clone(), 303), Some(Method::GET), "{method}");
            assert_eq!(after(method.clone(), 301), None, "{method}");
            assert_eq!(after(method.clone(), 302), None, "{method}");
        }
        for status in [307, 308] {
            assert_eq!(after(Method::POST, status), None);
            assert_eq!(after(Method::DELETE, status), None);
        }
    }

    #[test]
    fn credentials_never_cross_even_when_listed_as_safe() {
        let mut rule = RedirectHeaders::default();
        assert!(rule.crosses("accept") && !rule.crosses("authorization"));
        assert!(!rule.crosses("x-request-id"));
        rule.cross.push("x-request-id".into());
        rule.cross.push("x-api-key".into());
        rule.cross.push("x-mine".into());
        rule.credentials.push("x-mine".into());
        assert!(rule.crosses("x-request-id"));
        assert!(!rule.crosses("x-api-key"), "a default credential");
        assert!(!rule.crosses("x-mine"), "a credential the host named");
    }

    #[test]
    fn the_budget_is_cut_to_the_deadline() {
        let second = Duration::from_secs(1);
        assert_eq!(time_budget(second, None), Ok(second));
        let soon = Instant::now() + Duration::from_millis(100);
        assert!(time_budget(second, Some(soon)).unwrap() <= Duration::from_millis(100));
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(
            time_budget(second, Some(past)).unwrap_err().status,
            status::TIMED_OUT
        );
    }
}
