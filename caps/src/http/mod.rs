//! The `http` capability: requests to an allow-list of origins.

mod client;
mod policy;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::header::{HeaderName, HeaderValue};
use ureq::http::{HeaderMap, Method, StatusCode};
use ureq::tls::{Certificate, PemItem};
use wasmtime::{Caller, Linker};

use self::client::RedirectHeaders;
pub(crate) use self::client::{Client, Exchange, Reply, time_budget};
use self::policy::parse_url;
pub(crate) use self::policy::{Failure, Origin, Policy, Target};
use tape_rt::guest::{self, read_bytes, value_len, write_value};
use tape_rt::{Capability, Function, Spec, State, status};

/// Bytes of response body a request accepts by default.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 4 << 20;
/// Bytes of request body a guest may send by default.
const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;
/// Redirects followed by default.
const DEFAULT_MAX_REDIRECTS: u32 = 5;
/// Requests a run may send by default.
const DEFAULT_MAX_REQUESTS: u32 = 100;
/// Time one request may take by default, redirects included; it is always
/// cut to what is left of the run's timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of URL a guest may pass.
const MAX_URL_BYTES: usize = 8 << 10;
/// The methods `http.request` sends. CONNECT (a tunnel) and TRACE (which
/// echoes the request, credentials included) are left out on purpose.
const METHODS: &[Method] = &[
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];
/// Bytes of method a guest may pass: longer is no method above.
const MAX_METHOD_BYTES: usize = 16;
/// Request headers a guest may set, and their bytes in total.
const MAX_REQUEST_HEADERS: usize = 64;
const MAX_REQUEST_HEADER_BYTES: usize = 16 << 10;
/// Headers the client owns: framing and connection management, and the
/// host a request goes to.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-authorization",
    "proxy-connection",
];

/// HTTP requests from the guest, to origins the host allows.
///
/// | import | signature | meaning |
/// |---|---|---|
/// | `http.request` | `(param $method i32) (param $url i32) (param $headers i32) (param $body i32) (param $timeout_ms i32) (result i32 i32)` | any method, with headers, body and a timeout; (reply, status) |
/// | `http.get` | `(param $url i32) (param $headers i32) (result i32 i32)` | GET `url`; (reply, status) |
/// | `http.post` | `(param $url i32) (param $headers i32) (param $body i32) (result i32 i32)` | POST `body` to `url`; (reply, status) |
/// | `http.get_body` | `(param $url i32) (result i32 i32)` | GET `url`; (body of a 2xx response, status) |
///
/// `$method` points at a string, one of `GET`, `HEAD`, `POST`, `PUT`,
/// `PATCH`, `DELETE` and `OPTIONS` (case-sensitive; anything else is an
/// [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT)). `$url` points at a
/// string, an absolute `http://` or `https://` URL. `$headers` points at a
/// string of `Name: value` lines separated by `\n` (`""` for none; `Host`,
/// `Content-Length`, `Transfer-Encoding`, `Connection` and other headers
/// the client manages are refused); `$body` at bytes (a string literal
/// works; `""` for none, the only body a GET or HEAD may have).
/// `$timeout_ms` is 0 for the grant's [`timeout`](Http::timeout), or a
/// number of milliseconds, cut to the grant's timeout and to what is left
/// of the run; a negative one is an
/// [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT).
///
/// The reply of `request`, `get` and `post` is the wire struct
/// `{ status: u32, headers: seq<(str, str)>, body: bytes }`:
///
/// | offset | bytes |
/// |---|---|
/// | 0 | `u32` length of everything after it |
/// | 4 | `u32` HTTP status, e.g. 200 |
/// | 8 | `u32` H, bytes of the header pairs |
/// | 12 | H bytes: each pair `[u32 len][str name][str value]`, names lower-case |
/// | 12 + H | the body as `[u32 len][bytes]` |
///
/// so `(i32.load offset=4 $reply)` is the HTTP status and
/// `$reply + 12 + (i32.load offset=8 $reply)` points at the body, which has
/// the layout of a string and can be handed on as one. A reply to HEAD has
/// an empty body. `get_body` returns that body value alone, for a 2xx
/// response.
///
/// Tape's status says whether the request could be made, the HTTP status
/// what the server answered: [`OK`](status::OK) when a response arrived,
/// whatever its HTTP status, a 404 or a 500 included (except `get_body`:
/// a 404 or 410 is [`NOT_FOUND`](status::NOT_FOUND) and any other non-2xx
/// [`IO_FAILURE`](status::IO_FAILURE), with a reason naming the HTTP
/// status); [`ACCESS_DENIED`](status::ACCESS_DENIED) when the URL or a
/// redirect leads somewhere the policy refuses, another scheme included;
/// [`INVALID_ARGUMENT`](status::INVALID_ARGUMENT) for a URL that is not an
/// absolute `http://` or `https://` URL with a host (`pages`, `/x`,
/// `//host/x`, `localhost:8080/x`) or is malformed (a port out of range,
/// say), a malformed header, a method not above, a body on GET or HEAD, a
/// negative timeout; [`TOO_LARGE`](status::TOO_LARGE) for a URL, headers
/// or body over their caps, a response body over
/// [`max_response_bytes`](Http::max_response_bytes) (never silently cut),
/// too many redirects, or the run's request budget spent;
/// [`TIMED_OUT`](status::TIMED_OUT) when the request's timeout or the
/// run's deadline passes first; [`IO_FAILURE`](status::IO_FAILURE) for a
/// refused connection, a network or protocol error, or a redirect to a
/// malformed URL. On any non-OK status the pointer is 0 and `core.reason`
/// says why. A pointer outside memory traps.
///
/// # Policy
///
/// - **Allow-list, empty by default.** [`allow`](Http::allow) adds an
///   origin: `https://api.example.com`, `http://127.0.0.1:8080`,
///   `https://*.example.com` (any subdomain, not the name itself),
///   `https://*` (any host) or `http://127.0.0.1:*` (any port). The port
///   defaults to the scheme's. Only `http` and `https` exist; URLs with
///   user info (`user@host`) and numeric hosts other than dotted-quad IPv4
///   (`2130706433`, `0x7f000001`, `127.1`) are refused. A port is decimal
///   digits, 1 to 65535: `:65536`, `:+80`, `:-1` or an empty `:` is an
///   invalid argument, never the scheme's default port.
/// - **Addresses.** A host name is resolved first, every address is
///   checked, and the connection goes only to a checked address, so a DNS
///   answer cannot change between check and connect. Loopback, private
///   (RFC 1918, `fc00::/7`), link-local, CGNAT, documentation and
///   benchmarking addresses are refused unless
///   [`allow_private`](Http::allow_private) is set or an allow-list entry
///   names the IP: such an entry lifts the rule for exactly its own scheme,
///   IP and port (`http://127.0.0.1:8080`; every port only if written
///   `http://127.0.0.1:*`), and a wildcard entry that also matches the IP
///   lifts nothing. A host name resolving to a private address always needs
///   `allow_private`. IPv6 forms embedding an IPv4 address are classified
///   by it: IPv4-mapped `::ffff:127.0.0.1`, IPv4-translated
///   `::ffff:0:7f00:1`, NAT64 `64:ff9b::7f00:1`, 6to4 `2002:7f00:1::`, and
///   ISATAP `…:5efe:7f00:1`; IPv4-compatible `::127.0.0.1` is never a
///   destination, Teredo and local-use NAT64 are private. Cloud metadata
///   addresses (`169.254.169.254`, `fd00:ec2::254`, `100.100.100.200`, and
///   their embedded forms) need an entry naming them, and unspecified,
///   multicast, broadcast and reserved addresses are always refused.
/// - **Redirects** (301, 302, 303, 307, 308) are followed up to
///   [`max_redirects`](Http::max_redirects) times, each hop checked like
///   the first URL, scheme included (an `https` → `http` downgrade needs
///   the `http://` origin on the allow-list). The method changes as the
///   Fetch standard says browsers do: 303 turns any method but GET and
///   HEAD into a GET, 301 and 302 turn a POST into one, and the body and
///   its `Content-*` headers are dropped then; 307 and 308, and 301 and
///   302 after PUT, PATCH, DELETE or OPTIONS, repeat the method and body.
///   With `max_redirects(0)` a 3xx response is returned as it is.
/// - **Headers across origins.** A hop to another origin (scheme, host or
///   port) carries only the guest's headers that may cross:
///   `Accept`, `Accept-Encoding`, `Accept-Language`, `Cache-Control`,
///   `Pragma`, `User-Agent`, `Content-Type` with the body it describes,
///   and those the host adds with
///   [`cross_origin_header`](Http::cross_origin_header). Every other
///   header (custom headers, conditional and range headers) stays on the
///   origin it was sent to, for the rest of the request. Credentials
///   never cross, even when listed as headers that may: `Authorization`,
///   `Proxy-Authorization`, `Cookie`, `X-Api-Key`, `Api-Key`,
///   `X-Auth-Token`, `X-Access-Token`, and those the host adds with
///   [`credential_header`](Http::credential_header). Same-origin hops
///   keep every header.
/// - **HTTPS** servers are verified against Mozilla's root certificates,
///   built into Tape (the host's certificate store plays no part), or, once
///   [`root_certificates`](Http::root_certificates) is given, against those
///   authorities only. A server that does not verify is an
///   [`IO_FAILURE`](status::IO_FAILURE) before any request is sent.
/// - **Limits:** request body ([`max_request_bytes`](Http::max_request_bytes)),
///   64 request headers of 16 KiB in all, 8 KiB of URL, 64 KiB of response
///   headers, response body ([`max_response_bytes`](Http::max_response_bytes)),
///   requests per run ([`max_requests`](Http::max_requests)), and a timeout
///   per request ([`timeout`](Http::timeout)) cut to the run's remaining
///   time. Proxy settings in the host's environment are ignored, and no
///   compression is negotiated.
///
/// The reply is allocated in guest memory: keep the response cap under the
/// run's memory cap, or a large reply ends the run with a memory error.
///
/// # Example
///
/// ```
/// use tape_caps::Http;
/// use tape_rt::{Args, Engine, Config, Grants, status};
///
/// let http = Http::new().allow("https://api.example.com");
/// let program = Engine::new(Config::default())?.compile_str(
///     "fetch.wat",
///     r#"(func $run (result i32)
///          (local $reply i32) (local $status i32)
///          (call $http.get "http://169.254.169.254/latest/meta-data/" "Accept: text/plain")
///          (local.set $status) (local.set $reply)
///          (if (local.get $status) (then (return (local.get $status))))
///          ;; HTTP status at offset 4; the body after the headers.
///          (if (i32.ne (i32.load offset=4 (local.get $reply)) (i32.const 200))
///            (then (return (i32.const 100))))
///          (call $core.result
///            (i32.add (i32.add (local.get $reply) (i32.const 12))
///                     (i32.load offset=8 (local.get $reply)))))"#,
///     &Grants::new().grant(http),
/// )?;
/// assert_eq!(program.run(&Args::new())?.status, status::ACCESS_DENIED);
/// # Ok::<(), tape_rt::Error>(())
/// ```
#[derive(Clone)]
pub struct Http {
    allow: Vec<Origin>,
    bad_entries: Vec<String>,
    roots: Option<Arc<Vec<Certificate<'static>>>>,
    allow_private: bool,
    max_response_bytes: u64,
    max_request_bytes: usize,
    max_redirects: u32,
    max_requests: u32,
    timeout: Duration,
    redirect_headers: RedirectHeaders,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allow: Vec<String> = self.allow.iter().map(Origin::to_string).collect();
        f.debug_struct("Http")
            .field("allow", &allow)
            .field("allow_private", &self.allow_private)
            .field("roots", &self.roots.as_ref().map(|roots| roots.len()))
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_redirects", &self.max_redirects)
            .field("max_requests", &self.max_requests)
            .field("timeout", &self.timeout)
            .field("cross_origin_headers", &self.redirect_headers.cross)
            .field("credential_headers", &self.redirect_headers.credentials)
            .finish_non_exhaustive()
    }
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    /// HTTP with an empty allow-list: every request is refused until
    /// [`allow`](Http::allow) adds an origin.
    pub fn new() -> Self {
        Http {
            allow: Vec::new(),
            bad_entries: Vec::new(),
            roots: None,
            allow_private: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            max_requests: DEFAULT_MAX_REQUESTS,
            timeout: DEFAULT_TIMEOUT,
            redirect_headers: RedirectHeaders::default(),
        }
    }

    /// Allows requests to `origin`: `scheme://host[:port]`, where host may
    /// be `*.domain` (any subdomain) or `*` (any host), and port `*` (any
    /// port; without one, the scheme's default).
    ///
    /// A malformed entry makes linking a program with this grant fail with
    /// a message naming it, rather than being ignored.
    pub fn allow(mut self, origin: &str) -> Self {
        match Origin::parse(origin) {
            Ok(origin) => self.allow.push(origin),
            Err(message) => self.bad_entries.push(message),
        }
        self
    }

    /// Checks an allow-list entry as [`allow`](Http::allow) would, so a host
    /// can refuse a bad one where the user wrote it.
    ///
    /// # Errors
    ///
    /// A message naming the entry and what is wrong with it.
    pub fn check_origin(origin: &str) -> Result<(), String> {
        Origin::parse(origin).map(drop)
    }

    /// Verifies HTTPS servers against the certificate authorities in `pem`
    /// (one or more `BEGIN CERTIFICATE` blocks) *instead of* Mozilla's root
    /// certificates, which are used otherwise: for a private certificate
    /// authority. Called again, it adds to the certificates, so several
    /// authorities can be trusted at once; Mozilla's roots stay out unless
    /// their certificates are in `pem` too (a system bundle such as
    /// `/etc/ssl/certs/ca-certificates.crt` holds them).
    ///
    /// They replace rather than join Mozilla's roots because the HTTP
    /// client takes either its built-in roots or a list of certificates,
    /// and the built-in roots are not available as certificates.
    ///
    /// PEM that holds no certificate, or a malformed one, makes linking a
    /// program with this grant fail with a message saying so.
    pub fn root_certificates(mut self, pem: &[u8]) -> Self {
        match read_certificates(pem) {
            Ok(read) => {
                let mut certificates = self.roots.as_deref().cloned().unwrap_or_default();
                certificates.extend(read);
                self.roots = Some(Arc::new(certificates));
            }
            Err(message) => self.bad_entries.push(message),
        }
        self
    }

    /// Checks PEM as [`root_certificates`](Http::root_certificates) would
    /// read it, so a host can refuse a bad file where the user named it.
    ///
    /// # Errors
    ///
    /// A message saying what is wrong: malformed PEM, or no certificate.
    pub fn check_root_certificates(pem: &[u8]) -> Result<(), String> {
        read_certificates(pem).map(drop)
    }

    /// Whether loopback, private, link-local and similar addresses may be
    /// reached through allowed origins (default no; metadata addresses
    /// still need an entry naming them).
    pub fn allow_private(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    /// Sets the largest response body a request accepts (default 4 MiB).
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sets the largest request body a guest may send (default 1 MiB).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Sets how many redirects a request follows (default 5); 0 returns
    /// 3xx responses to the guest.
    pub fn max_redirects(mut self, redirects: u32) -> Self {
        self.max_redirects = redirects;
        self
    }

    /// Sets how many requests one run may send (default 100).
    pub fn max_requests(mut self, requests: u32) -> Self {
        self.max_requests = requests;
        self
    }

    /// Sets the time one request may take, redirects included (default
    /// 30 s). The run's own timeout cuts it further.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Lets the header `name` go along when a redirect leads to another
    /// origin, besides `Accept`, `Accept-Encoding`, `Accept-Language`,
    /// `Cache-Control`, `Pragma`, `User-Agent` and `Content-Type`: for a
    /// header that says nothing about who is asking (`X-Request-Id`,
    /// say). A credential header never crosses, even when named here; see
    /// [`credential_header`](Http::credential_header).
    ///
    /// A name that is not a header name makes linking a program with this
    /// grant fail with a message naming it.
    pub fn cross_origin_header(mut self, name: &str) -> Self {
        match header_name(name) {
            Ok(name) => self.redirect_headers.cross.push(name),
            Err(message) => self.bad_entries.push(message),
        }
        self
    }

    /// Names the header `name` a credential: it never goes to another
    /// origin on a redirect, even if [`cross_origin_header`] names it too.
    /// `Authorization`, `Proxy-Authorization`, `Cookie`, `X-Api-Key`,
    /// `Api-Key`, `X-Auth-Token` and `X-Access-Token` are credentials
    /// already.
    ///
    /// A name that is not a header name makes linking a program with this
    /// grant fail with a message naming it.
    ///
    /// [`cross_origin_header`]: Http::cross_origin_header
    pub fn credential_header(mut self, name: &str) -> Self {
        match header_name(name) {
            Ok(name) => self.redirect_headers.credentials.push(name),
            Err(message) => self.bad_entries.push(message),
        }
        self
    }

    /// Checks a header name as [`cross_origin_header`] and
    /// [`credential_header`] would, so a host can refuse a bad one where
    /// the user wrote it.
    ///
    /// # Errors
    ///
    /// A message naming it.
    ///
    /// [`cross_origin_header`]: Http::cross_origin_header
    /// [`credential_header`]: Http::credential_header
    pub fn check_header_name(name: &str) -> Result<(), String> {
        header_name(name).map(drop)
    }

    /// Why a request to `url` would be refused before any network traffic
    /// (not an absolute `http` or `https` URL, its user info, host form,
    /// the allow-list, and the address rules for an IP literal), or `None`
    /// if it passes these checks. A host name's addresses are checked when
    /// a request resolves it.
    pub fn refusal(&self, url: &str) -> Option<String> {
        let uri = match parse_url(url) {
            Ok(uri) => uri,
            Err(failure) => return Some(failure.message),
        };
        self.policy()
            .check_uri(&uri)
            .err()
            .map(|failure| failure.message)
    }

    fn policy(&self) -> Policy {
        Policy {
            allow: self.allow.clone(),
            allow_private: self.allow_private,
        }
    }
}

/// Requests this run has sent.
#[derive(Debug, Default)]
struct HttpState {
    requests: u32,
}

/// What the capability is: its name, description and functions.
pub const SPEC: Spec = Spec::new(
    "http",
    "HTTP requests to allowed origins, any common method, with address rules, size caps and timeouts",
    FUNCTIONS,
)
.redact(tape_rt::Redactor(redact));

/// What a [trace](tape_rt::trace) keeps of a request: the values of
/// credential headers (`Authorization`, `Cookie`, `X-Api-Key`… the list
/// redirects keep to their origin) and a password in a URL are replaced by
/// `[redacted]`.
pub fn redact(function: &str, param: usize, data: &mut Vec<u8>) {
    match (function, param) {
        ("request", 2) | ("get" | "post", 1) => *data = redact_headers(data),
        ("request", 1) | ("get" | "post" | "get_body", 0) => redact_userinfo(data),
        _ => {}
    }
}

const REDACTED: &[u8] = b"[redacted]";

fn redact_headers(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        if index > 0 {
            out.push(b'\n');
        }
        let colon = line.iter().position(|&b| b == b':');
        let secret = colon.is_some_and(|colon| {
            let name = String::from_utf8_lossy(&line[..colon])
                .trim()
                .to_ascii_lowercase();
            client::CREDENTIAL_HEADERS.contains(&name.as_str())
        });
        match colon {
            Some(colon) if secret => {
                out.extend_from_slice(&line[..=colon]);
                out.push(b' ');
                out.extend_from_slice(REDACTED);
                if line.ends_with(b"\r") {
                    out.push(b'\r');
                }
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

/// `scheme://user:password@host…` keeps the user and hides the password.
fn redact_userinfo(url: &mut Vec<u8>) {
    let Some(start) = url.windows(3).position(|w| w == b"://").map(|i| i + 3) else {
        return;
    };
    let authority_end = url[start..]
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].iter().rposition(|&b| b == b'@') else {
        return;
    };
    let at = start + at;
    if let Some(colon) = url[start..at].iter().position(|&b| b == b':') {
        url.splice(start + colon + 1..at, REDACTED.iter().copied());
    }
}

const FUNCTIONS: &[Function] = &[
    Function::new("request", "(param $method i32) (param $url i32) (param $headers i32) (param $body i32) (param $timeout_ms i32) (result i32 i32)")
        .roles("str str str ptr num -> ptr status")
        .doc("Sends a `$method` request (`GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE` or `OPTIONS`) to `$url` with `$headers` (`Name: value` lines, or `\"\"`) and the bytes at `$body` (`\"\"` for none; GET and HEAD take none), within `$timeout_ms` milliseconds (0: the grant's timeout; never more than it or the run's time left): (pointer to the response, status).\n\nThe response is `{ status: u32, headers: seq<(str, str)>, body: bytes }`, as `http.get`'s; a reply to HEAD has an empty body. Status OK whenever a response arrived, a 404 or a 500 included: read the HTTP status at offset 4. `INVALID_ARGUMENT` (1) for another method, a relative URL, a body on GET or HEAD, a negative timeout; otherwise as `http.get`.\n\n```wat\n;; DELETE `$url`: the server's HTTP status (204, 404…), or -1 when no\n;; response arrived (`core.reason` says why).\n(func $delete (param $url i32) (result i32)\n  (local $reply i32) (local $status i32)\n  (call $http.request \"DELETE\" (local.get $url) \"Authorization: Bearer abc\" \"\" (i32.const 5000))\n  (local.set $status) (local.set $reply)\n  (if (local.get $status) (then (return (i32.const -1))))\n  (i32.load offset=4 (local.get $reply)))\n```"),
    Function::new("get", "(param $url i32) (param $headers i32) (result i32 i32)")
        .roles("str str -> ptr status")
        .doc("GET `$url` with the headers in `$headers` (`Name: value` lines, `\\n`-separated, or `\"\"`): (pointer to the response, status).\n\nThe response is `{ status: u32, headers: seq<(str, str)>, body: bytes }`; status OK whenever a response arrived, whatever its HTTP status. `INVALID_ARGUMENT` (1) for a URL that is not an absolute `http://` or `https://` URL, `ACCESS_DENIED` (2) for a URL the allow-list does not grant, `TIMED_OUT` (5), `IO_FAILURE` (6) for a refused connection or a protocol error, `TOO_LARGE` (4) past a cap."),
    Function::new("post", "(param $url i32) (param $headers i32) (param $body i32) (result i32 i32)")
        .roles("str str ptr -> ptr status")
        .doc("POST the bytes of the value at `$body` to `$url`, with `$headers`: (pointer to the response, status), as `http.get`."),
    Function::new("get_body", "(param $url i32) (result i32 i32)")
        .roles("str -> ptr status")
        .doc("GET `$url`: (pointer to the body of a 2xx response, `[len][bytes]`, status).\n\nA 404 or 410 answer is `NOT_FOUND` (3); any other answer outside 2xx is `IO_FAILURE` (6) with a reason naming the HTTP status (`the server answered 500 Internal Server Error`), as is a connection that could not be made, with a reason saying so. Otherwise as `http.get`; `http.request` returns any answer with its headers."),
];

/// What a guest asked for, read out of its memory.
struct Call {
    method: Method,
    url: Vec<u8>,
    headers: Vec<u8>,
    body: Vec<u8>,
    /// The guest's own timeout, `None` for the grant's.
    timeout: Option<Duration>,
    body_only: bool,
}

impl Capability for Http {
    fn spec(&self) -> &Spec {
        &SPEC
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        if !self.bad_entries.is_empty() {
            return Err(wasmtime::Error::msg(self.bad_entries.join("; ")));
        }
        let client = Client::new(self.policy(), self.roots.clone())
            .redirect_headers(self.redirect_headers.clone());
        let http = Arc::new((self.clone(), client));
        let this = http.clone();
        linker.func_wrap(
            "http",
            "request",
            move |mut caller: Caller<'_, State>,
                  method: i32,
                  url: i32,
                  headers: i32,
                  body: i32,
                  timeout_ms: i32| {
                let method = read_method(&caller, method)?;
                let call = this
                    .0
                    .read_call(&caller, method, url, Some(headers), Some(body))?;
                let call = call.and_then(|call| {
                    if !call.body.is_empty() && matches!(call.method, Method::GET | Method::HEAD) {
                        return Err(Failure::invalid(format!(
                            "a {} request has no body; pass `\"\"`, or send the {} bytes with POST, PUT or PATCH",
                            call.method,
                            call.body.len()
                        )));
                    }
                    let timeout = match timeout_ms {
                        0 => None,
                        ms if ms > 0 => Some(Duration::from_millis(ms as u64)),
                        ms => {
                            return Err(Failure::invalid(format!(
                                "the timeout of {ms} ms is negative; give 0 for the grant's timeout, or a number of milliseconds"
                            )));
                        }
                    };
                    Ok(Call { timeout, ..call })
                });
                this.0.call(&this.1, &mut caller, "http.request", call)
            },
        )?;
        let this = http.clone();
        linker.func_wrap(
            "http",
            "get",
            move |mut caller: Caller<'_, State>, url: i32, headers: i32| {
                let call = this
                    .0
                    .read_call(&caller, Ok(Method::GET), url, Some(headers), None)?;
                this.0.call(&this.1, &mut caller, "http.get", call)
            },
        )?;
        let this = http.clone();
        linker.func_wrap(
            "http",
            "post",
            move |mut caller: Caller<'_, State>, url: i32, headers: i32, body: i32| {
                let call =
                    this.0
                        .read_call(&caller, Ok(Method::POST), url, Some(headers), Some(body))?;
                this.0.call(&this.1, &mut caller, "http.post", call)
            },
        )?;
        let this = http;
        linker.func_wrap(
            "http",
            "get_body",
            move |mut caller: Caller<'_, State>, url: i32| {
                let call = this
                    .0
                    .read_call(&caller, Ok(Method::GET), url, None, None)?;
                let call = call.map(|call| Call {
                    body_only: true,
                    ..call
                });
                this.0.call(&this.1, &mut caller, "http.get_body", call)
            },
        )?;
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        state.insert(HttpState::default());
    }
}

impl Http {
    /// Reads a call's arguments from guest memory, each refused before it
    /// is copied if it is over its limit (the URL [`MAX_URL_BYTES`], the
    /// headers [`MAX_REQUEST_HEADER_BYTES`], the body
    /// [`max_request_bytes`](Http::max_request_bytes)).
    fn read_call(
        &self,
        caller: &Caller<'_, State>,
        method: Result<Method, Failure>,
        url: i32,
        headers: Option<i32>,
        body: Option<i32>,
    ) -> wasmtime::Result<Result<Call, Failure>> {
        let read = |ptr: Option<i32>, max: usize, what: &str| -> wasmtime::Result<_> {
            let Some(ptr) = ptr else {
                return Ok(Ok(Vec::new()));
            };
            let len = value_len(caller, ptr as u32)?;
            if len > max {
                return Ok(Err(Failure::new(
                    status::TOO_LARGE,
                    format!("the {what} of {len} bytes is over the {max}-byte limit"),
                )));
            }
            Ok(Ok(read_bytes(caller, ptr as u32)?))
        };
        let url = read(Some(url), MAX_URL_BYTES, "URL")?;
        let headers = read(headers, MAX_REQUEST_HEADER_BYTES, "request headers")?;
        let body = read(body, self.max_request_bytes, "request body")?;
        Ok((|| {
            Ok(Call {
                method: method?,
                url: url?,
                headers: headers?,
                body: body?,
                timeout: None,
                body_only: false,
            })
        })())
    }

    /// Runs one guest call: counts it, sends it, writes the reply.
    fn call(
        &self,
        client: &Client,
        caller: &mut Caller<'_, State>,
        name: &'static str,
        call: Result<Call, Failure>,
    ) -> wasmtime::Result<(i32, i32)> {
        caller.data_mut().count_call("http");
        let sent = call.and_then(|call| {
            let state = caller.data_mut();
            state.usage_mut("http").bytes_in +=
                (call.url.len() + call.headers.len() + call.body.len()) as u64;
            self.send(client, state, &call).map(|reply| (call, reply))
        });
        let (call, reply) = match sent {
            Ok(reply) => reply,
            Err(failure) => {
                tracing::debug!(
                    target: "tape::http",
                    status = status::name(failure.status).unwrap_or("?"),
                    "request refused or failed: {}",
                    failure.message
                );
                return Ok((
                    0,
                    guest::fail(&mut *caller, name, failure.status, failure.message),
                ));
            }
        };
        let bytes = if call.body_only {
            if !(200..300).contains(&reply.status) {
                // The server's "no such thing" is an answer the guest can
                // act on, unlike an error or a server that is down.
                let status = match reply.status {
                    404 | 410 => status::NOT_FOUND,
                    _ => status::IO_FAILURE,
                };
                let message = format!(
                    "the server answered {} (`http.get_body` wants a 2xx; `http.request` returns any answer with its headers)",
                    describe_status(reply.status)
                );
                return Ok((0, guest::fail(&mut *caller, name, status, message)));
            }
            encode_bytes(&reply.body)
        } else {
            encode_reply(&reply)
        };
        let Some(bytes) = bytes else {
            let message = "the reply is too large for a 32-bit memory";
            return Ok((
                0,
                guest::fail(&mut *caller, name, status::TOO_LARGE, message),
            ));
        };
        let ptr = write_value(&mut *caller, &bytes)?;
        caller.data_mut().usage_mut("http").bytes_out += bytes.len() as u64;
        Ok((ptr as i32, status::OK))
    }

    fn send(&self, client: &Client, state: &mut State, call: &Call) -> Result<Reply, Failure> {
        let url = std::str::from_utf8(&call.url)
            .map_err(|_| Failure::new(status::INVALID_ARGUMENT, "the URL is not UTF-8"))?;
        let uri = parse_url(url)?;
        client.check(&uri)?;
        let headers = parse_headers(&call.headers)?;
        let timeout = call
            .timeout
            .map_or(self.timeout, |timeout| timeout.min(self.timeout));
        let timeout = time_budget(timeout, state.deadline())?;
        let max_requests = self.max_requests;
        let Some(run) = state.get::<HttpState>() else {
            return Err(Failure::new(status::IO_FAILURE, "no state for this run"));
        };
        if run.requests >= max_requests {
            return Err(Failure::new(
                status::TOO_LARGE,
                format!("the run has sent its {max_requests} requests"),
            ));
        }
        run.requests += 1;
        client.send(Exchange {
            method: call.method.clone(),
            uri,
            headers,
            body: &call.body,
            max_response_bytes: self.max_response_bytes,
            max_redirects: self.max_redirects,
            timeout,
        })
    }
}

/// Reads `http.request`'s method: one of [`METHODS`], written as it is
/// sent (methods are case-sensitive).
fn read_method(caller: &Caller<'_, State>, ptr: i32) -> wasmtime::Result<Result<Method, Failure>> {
    let supported = "use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS";
    let len = value_len(caller, ptr as u32)?;
    if len > MAX_METHOD_BYTES {
        return Ok(Err(Failure::invalid(format!(
            "the method of {len} bytes is not an HTTP method; {supported}"
        ))));
    }
    let bytes = read_bytes(caller, ptr as u32)?;
    let shown = String::from_utf8_lossy(&bytes);
    if let Some(method) = METHODS.iter().find(|m| m.as_str().as_bytes() == bytes) {
        return Ok(Ok(method.clone()));
    }
    let failure = if let Some(method) = METHODS
        .iter()
        .find(|m| m.as_str().as_bytes().eq_ignore_ascii_case(&bytes))
    {
        format!("the method `{shown}` is not `{method}`: methods are case-sensitive")
    } else if !bytes.is_empty() && Method::from_bytes(&bytes).is_ok() {
        format!("the method `{shown}` is not supported; {supported}")
    } else {
        format!("`{shown}` is not an HTTP method; {supported}")
    };
    Ok(Err(Failure::invalid(failure)))
}

/// `404 Not Found`: the code and, when it has one, its standard phrase.
fn describe_status(code: u16) -> String {
    match StatusCode::from_u16(code)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(phrase) => format!("{code} {phrase}"),
        None => code.to_string(),
    }
}

/// A header name for the redirect rule, lower-case.
fn header_name(name: &str) -> Result<String, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map(|name| name.as_str().to_string())
        .map_err(|_| format!("`{name}` is not a header name"))
}

/// The certificates in `pem`; other PEM items (keys, say) are skipped.
fn read_certificates(pem: &[u8]) -> Result<Vec<Certificate<'static>>, String> {
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(certificate)) => certificates.push(certificate),
            Ok(_) => {}
            Err(e) => return Err(format!("cannot read the root certificates: {e}")),
        }
    }
    if certificates.is_empty() {
        return Err("the root certificates hold no `BEGIN CERTIFICATE` block".to_string());
    }
    Ok(certificates)
}

/// Parses `Name: value` lines (`\n` or `\r\n`; blank lines skipped).
fn parse_headers(text: &[u8]) -> Result<HeaderMap, Failure> {
    let invalid = |message: String| Failure::new(status::INVALID_ARGUMENT, message);
    if text.len() > MAX_REQUEST_HEADER_BYTES {
        return Err(Failure::new(
            status::TOO_LARGE,
            format!("the headers are over {MAX_REQUEST_HEADER_BYTES} bytes"),
        ));
    }
    let mut headers = HeaderMap::new();
    let mut count = 0;
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        count += 1;
        if count > MAX_REQUEST_HEADERS {
            return Err(Failure::new(
                status::TOO_LARGE,
                format!("more than {MAX_REQUEST_HEADERS} headers"),
            ));
        }
        let shown = String::from_utf8_lossy(line);
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| invalid(format!("header line `{shown}` has no `:`")))?;
        let name = HeaderName::from_bytes(&line[..colon])
            .map_err(|_| invalid(format!("header line `{shown}` has an invalid name")))?;
        if RESERVED_HEADERS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "the `{name}` header is set by the client, not the guest"
            )));
        }
        let value = line[colon + 1..].trim_ascii();
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| invalid(format!("header line `{shown}` has an invalid value")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// `[len][bytes]`, or `None` past 4 GiB.
fn encode_bytes(body: &[u8]) -> Option<Vec<u8>> {
    u32::try_from(body.len()).ok()?;
    let mut out = Vec::with_capacity(4 + body.len());
    push_bytes(&mut out, body);
    Some(out)
}

/// The reply struct `{ status: u32, headers: seq<(str, str)>, body: bytes }`
/// in the wire format, or `None` past 4 GiB.
fn encode_reply(reply: &Reply) -> Option<Vec<u8>> {
    let mut headers = Vec::new();
    for (name, value) in &reply.headers {
        headers.extend_from_slice(&((8 + name.len() + value.len()) as u32).to_le_bytes());
        push_bytes(&mut headers, name.as_bytes());
        push_bytes(&mut headers, value.as_bytes());
    }
    let payload = u32::try_from(4 + 4 + headers.len() + 4 + reply.body.len()).ok()?;
    let mut out = Vec::with_capacity(4 + payload as usize);
    out.extend_from_slice(&payload.to_le_bytes());
    out.extend_from_slice(&u32::from(reply.status).to_le_bytes());
    push_bytes(&mut out, &headers);
    push_bytes(&mut out, &reply.body);
    Some(out)
}

/// `[http]`: see [`Http`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct HttpGrant {
    /// Origins requests may go to: `scheme://host[:port]`, with `*.domain`,
    /// `*` and port `*` patterns.
    #[serde(skip)]
    pub allow: Vec<String>,
    /// `allow` as written, with where each entry is, to check it there.
    #[serde(default, rename = "allow")]
    pub(crate) written_allow: Vec<toml::Spanned<String>>,
    /// Whether allowed names may resolve to private addresses.
    #[serde(default)]
    pub allow_private: bool,
    /// PEM files of the certificate authorities to verify HTTPS servers
    /// against instead of Mozilla's roots, relative to the manifest: one
    /// path or a list. See [`Http::root_certificates`].
    #[serde(default, deserialize_with = "crate::table::paths")]
    pub root_certificates: Vec<PathBuf>,
    /// Largest response body.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_response_bytes: Option<u64>,
    /// Largest request body.
    #[serde(default, deserialize_with = "crate::table::size")]
    pub max_request_bytes: Option<u64>,
    /// Redirects one request follows.
    pub max_redirects: Option<u32>,
    /// Requests a run may make.
    pub max_requests: Option<u32>,
    /// Time one request may take.
    #[serde(default, deserialize_with = "crate::table::duration")]
    pub timeout: Option<Duration>,
    /// Headers a redirect to another origin carries besides the default
    /// ones. See [`Http::cross_origin_header`].
    #[serde(skip)]
    pub cross_origin_headers: Vec<String>,
    /// `cross_origin_headers` as written.
    #[serde(default, rename = "cross-origin-headers")]
    pub(crate) written_cross_origin_headers: Vec<toml::Spanned<String>>,
    /// Headers that are credentials besides the default ones: never sent
    /// to another origin. See [`Http::credential_header`].
    #[serde(skip)]
    pub credential_headers: Vec<String>,
    /// `credential_headers` as written.
    #[serde(default, rename = "credential-headers")]
    pub(crate) written_credential_headers: Vec<toml::Spanned<String>>,
}

impl HttpGrant {
    /// The capability, allowing the listed origins.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](tape_rt::ErrorKind::Io) naming a
    /// `root_certificates` file that cannot be read,
    /// [`ErrorKind::Capability`](tape_rt::ErrorKind::Capability) one that
    /// holds no certificate.
    pub fn http(&self) -> tape_rt::Result<Http> {
        let mut http = Http::new().allow_private(self.allow_private);
        for path in &self.root_certificates {
            let pem = std::fs::read(path).map_err(|e| {
                tape_rt::Error::io(
                    format!("cannot read the root certificates `{}`", path.display()),
                    e,
                )
            })?;
            Http::check_root_certificates(&pem).map_err(|e| {
                tape_rt::Error::capability("http", format!("`{}`: {e}", path.display()))
            })?;
            http = http.root_certificates(&pem);
        }
        for origin in &self.allow {
            http = http.allow(origin);
        }
        if let Some(max) = self.max_response_bytes {
            http = http.max_response_bytes(max);
        }
        if let Some(max) = self.max_request_bytes {
            http = http.max_request_bytes(crate::table::saturate(max));
        }
        if let Some(max) = self.max_redirects {
            http = http.max_redirects(max);
        }
        if let Some(max) = self.max_requests {
            http = http.max_requests(max);
        }
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        for name in &self.cross_origin_headers {
            http = http.cross_origin_header(name);
        }
        for name in &self.credential_headers {
            http = http.credential_header(name);
        }
        Ok(http)
    }
}

impl crate::table::Table for HttpGrant {
    /// Each `allow` entry must be an origin, said at its place; the
    /// certificate files are relative to the manifest.
    fn resolve(
        &mut self,
        base: &std::path::Path,
        at: &dyn Fn(usize, &str) -> crate::table::ManifestError,
    ) -> Result<(), crate::table::ManifestError> {
        for entry in std::mem::take(&mut self.written_allow) {
            Http::check_origin(entry.get_ref()).map_err(|e| at(entry.span().start, &e))?;
            self.allow.push(entry.into_inner());
        }
        for path in &mut self.root_certificates {
            *path = base.join(&*path);
        }
        for (written, names) in [
            (
                &mut self.written_cross_origin_headers,
                &mut self.cross_origin_headers,
            ),
            (
                &mut self.written_credential_headers,
                &mut self.credential_headers,
            ),
        ] {
            for entry in std::mem::take(written) {
                Http::check_header_name(entry.get_ref()).map_err(|e| at(entry.span().start, &e))?;
                names.push(entry.into_inner());
            }
        }
        Ok(())
    }

    fn grant(&self, _: &crate::table::Shared) -> tape_rt::Result<Arc<dyn Capability>> {
        Ok(Arc::new(self.http()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_is_the_documented_wire_struct() {
        let reply = Reply {
            status: 201,
            headers: vec![("a".into(), "bc".into()), ("d".into(), String::new())],
            body: b"xyz".to_vec(),
        };
        let bytes = encode_reply(&reply).unwrap();
        type Wire = (u32, Vec<(String, String)>, Vec<u8>);
        let (status, headers, body): Wire = tape_protocol::from_bytes(&bytes).unwrap();
        assert_eq!(
            (status, &headers, &body[..]),
            (201, &reply.headers, &b"xyz"[..])
        );
        let h = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 201);
        assert_eq!(&bytes[12 + h..], b"\x03\x00\x00\x00xyz");
    }

    #[test]
    fn header_lines_are_parsed_and_checked() {
        let headers = parse_headers(b"Accept: text/plain\r\n\nX-A:  1 \nx-a: 2").unwrap();
        assert_eq!(headers["accept"], "text/plain");
        let all: Vec<_> = headers.get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert!(parse_headers(b"").unwrap().is_empty());
        for bad in [
            &b"no colon"[..],
            b"Bad Name: x",
            b"Host: evil",
            b"content-length: 5",
            b"X: a\x00b",
        ] {
            assert_eq!(
                parse_headers(bad).unwrap_err().status,
                status::INVALID_ARGUMENT
            );
        }
        let many = "X: 1\n".repeat(MAX_REQUEST_HEADERS + 1);
        assert_eq!(
            parse_headers(many.as_bytes()).unwrap_err().status,
            status::TOO_LARGE
        );
        let long = format!("X: {}", "v".repeat(MAX_REQUEST_HEADER_BYTES));
        assert_eq!(
            parse_headers(long.as_bytes()).unwrap_err().status,
            status::TOO_LARGE
        );
    }
}

#[cfg(test)]
mod redact_tests {
    use super::redact;

    fn redacted(function: &str, param: usize, data: &str) -> String {
        let mut data = data.as_bytes().to_vec();
        redact(function, param, &mut data);
        String::from_utf8(data).unwrap()
    }

    #[test]
    fn credential_headers_lose_their_values_and_the_rest_is_kept_as_written() {
        let headers = "Accept: text/plain\r\nAuthorization: Bearer s3cret\r\nx-api-KEY:k\nCookie: a=b\nX-Trace: 1";
        let kept = redacted("request", 2, headers);
        assert_eq!(
            kept,
            "Accept: text/plain\r\nAuthorization: [redacted]\r\nx-api-KEY: [redacted]\nCookie: [redacted]\nX-Trace: 1"
        );
        assert_eq!(redacted("get", 1, headers), kept);
        assert_eq!(redacted("post", 1, headers), kept);
        // Other parameters are left alone: a body may well say "Cookie:".
        assert_eq!(redacted("post", 2, headers), headers);
        assert_eq!(redacted("request", 3, headers), headers);
    }

    #[test]
    fn a_password_in_a_url_is_hidden_and_its_user_kept() {
        assert_eq!(
            redacted("get", 0, "https://ada:pw@example.com/x?y=1"),
            "https://ada:[redacted]@example.com/x?y=1"
        );
        assert_eq!(
            redacted("request", 1, "http://u:p:q@h:80/a@b"),
            "http://u:[redacted]@h:80/a@b"
        );
        for url in [
            "https://ada@example.com/",
            "https://example.com/a@b",
            "pages",
            "",
        ] {
            assert_eq!(redacted("get_body", 0, url), url);
        }
    }
}
