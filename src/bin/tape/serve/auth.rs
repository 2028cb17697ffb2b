//! Bearer tokens, and the clients they name.
//!
//! The tokens file has one `CLIENT TOKEN` a line; blank lines and lines
//! starting with `#` are skipped. A client may have several tokens (to
//! rotate one without downtime); a token names one client. The client's
//! name labels its runs in the metrics and picks its `kv` namespace, so it
//! is kept to letters, digits, `.`, `_` and `-`.
//!
//! Tokens are kept as their SHA-256 hashes and looked up by the hash of
//! the one presented, so how long a lookup takes says nothing about how
//! much of a token matched.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::failure::Failure;

/// The client of `--token-env`'s token.
pub const ENV_CLIENT: &str = "default";
/// The client of every request under `--no-auth`.
pub const ANONYMOUS: &str = "anonymous";

/// Tokens shorter than this are refused: a guessable token is no
/// protection.
const MIN_TOKEN_CHARS: usize = 16;

#[derive(Debug)]
pub struct Tokens {
    clients: HashMap<[u8; 32], Arc<str>>,
}

impl Tokens {
    /// The tokens of `--tokens FILE` and `--token-env VAR`; at least one.
    pub fn load(file: Option<&Path>, env: Option<&str>) -> Result<Tokens, Failure> {
        let mut tokens = Tokens {
            clients: HashMap::new(),
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::io(format!("--tokens {}: cannot read it: {e}", path.display()))
            })?;
            tokens.parse(&text, &path.display().to_string())?;
        }
        if let Some(var) = env {
            let token = std::env::var(var).map_err(|e| {
                Failure::usage(format!("--token-env {var}: {e}")).help(
                    "set the variable to the token clients send as `Authorization: Bearer TOKEN`",
                )
            })?;
            tokens.add(ENV_CLIENT, token.trim(), &format!("--token-env {var}"))?;
        }
        if tokens.clients.is_empty() {
            let help = "give clients tokens with --tokens FILE (one `CLIENT TOKEN` a line) or \
                        --token-env VAR, or serve without them with --no-auth";
            return Err(match file {
                Some(path) => Failure::usage(format!(
                    "--tokens {}: the file has no tokens",
                    path.display()
                )),
                None => Failure::usage("tape serve needs clients' tokens"),
            }
            .help(help));
        }
        Ok(tokens)
    }

    fn parse(&mut self, text: &str, file: &str) -> Result<(), Failure> {
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let place = format!("--tokens {file}:{}", index + 1);
            let mut words = line.split_whitespace();
            let (Some(client), Some(token), None) = (words.next(), words.next(), words.next())
            else {
                return Err(
                    Failure::usage(format!("{place}: expected `CLIENT TOKEN`, two words"))
                        .help("write one client and one of its tokens a line, e.g. `ci 3f9a…`"),
                );
            };
            self.add(client, token, &place)?;
        }
        Ok(())
    }

    fn add(&mut self, client: &str, token: &str, place: &str) -> Result<(), Failure> {
        if client.is_empty()
            || !client
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Failure::usage(format!(
                "{place}: the client name `{client}` may hold only letters, digits, `.`, `_` and `-`"
            )));
        }
        if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(char::is_control) {
            return Err(Failure::usage(format!(
                "{place}: the token of `{client}` is shorter than {MIN_TOKEN_CHARS} characters"
            ))
            .help("make tokens long and random, e.g. `openssl rand -hex 32`"));
        }
        let hash = hash(token);
        if let Some(other) = self.clients.get(&hash)
            && &**other != client
        {
            return Err(Failure::usage(format!(
                "{place}: the token of `{client}` is also `{other}`'s"
            ))
            .help("a token names one client; give each its own"));
        }
        self.clients.insert(hash, client.into());
        Ok(())
    }

    /// The client `token` names, if any.
    pub fn client(&self, token: &str) -> Option<Arc<str>> {
        self.clients.get(&hash(token)).cloned()
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Tokens, String> {
        let mut tokens = Tokens {
            clients: HashMap::new(),
        };
        tokens
            .parse(text, "t.txt")
            .map(|()| tokens)
            .map_err(|f| f.message)
    }

    #[test]
    fn each_token_names_its_client_and_comments_are_skipped() {
        let tokens = parsed(
            "# clients\n\nalice aaaaaaaaaaaaaaaa\n  bob  bbbbbbbbbbbbbbbb  \nalice cccccccccccccccc\n",
        )
        .unwrap();
        assert_eq!(tokens.client("aaaaaaaaaaaaaaaa").as_deref(), Some("alice"));
        assert_eq!(tokens.client("cccccccccccccccc").as_deref(), Some("alice"));
        assert_eq!(tokens.client("bbbbbbbbbbbbbbbb").as_deref(), Some("bob"));
        assert_eq!(tokens.client("bbbbbbbbbbbbbbb"), None);
    }

    #[test]
    fn a_bad_line_is_an_error_at_its_line() {
        assert_eq!(
            parsed("a aaaaaaaaaaaaaaaa\nonly-one-word\n").unwrap_err(),
            "--tokens t.txt:2: expected `CLIENT TOKEN`, two words"
        );
        assert!(
            parsed("a/b aaaaaaaaaaaaaaaa")
                .unwrap_err()
                .contains("`a/b`")
        );
        assert!(parsed("a short").unwrap_err().contains("shorter than 16"));
        assert!(
            parsed("a aaaaaaaaaaaaaaaa\nb aaaaaaaaaaaaaaaa")
                .unwrap_err()
                .contains(":2: the token of `b` is also `a`'s")
        );
    }
}
