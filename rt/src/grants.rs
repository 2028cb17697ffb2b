//! What a program is granted: [`Grants`], the capabilities it may call and
//! those it could be granted.

use std::sync::Arc;

use tape_compiler::Catalogue;

use crate::capability::{Capability, Spec};
use crate::core::{CORE_SPEC, Core};

/// The capabilities a program is granted, and those it could be.
///
/// `core` is always granted. A capability that is *known* but not granted
/// is in the compiler's catalogue (so a program calling it compiles, and
/// its calls are checked) and makes linking fail with
/// [`ErrorKind::NotGranted`](crate::ErrorKind::NotGranted), naming the
/// grant to add, rather than an unknown import. `tape_caps::grants()`
/// knows every built-in capability.
#[derive(Clone, Default)]
pub struct Grants {
    granted: Vec<Arc<dyn Capability>>,
    known: Vec<Spec>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants")
            .field(
                "granted",
                &self
                    .granted
                    .iter()
                    .map(|c| c.spec().name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "known",
                &self.known.iter().map(|s| s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Grants {
    /// Only `core`, and no other capability known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Knows these capabilities without granting them; see [`Grants`].
    #[must_use]
    pub fn know(mut self, specs: impl IntoIterator<Item = Spec>) -> Self {
        for spec in specs {
            self.known.retain(|k| k.name != spec.name);
            self.known.push(spec);
        }
        self
    }

    /// Grants `capability`, replacing an earlier grant of the same name.
    #[must_use]
    pub fn grant(mut self, capability: impl Capability) -> Self {
        self.add(Arc::new(capability));
        self
    }

    /// Grants a shared capability, replacing an earlier grant of the same
    /// name.
    pub fn add(&mut self, capability: Arc<dyn Capability>) {
        let name = capability.spec().name;
        self.granted.retain(|c| c.spec().name != name);
        self.granted.push(capability);
    }

    /// Whether a capability of this name is granted.
    pub fn is_granted(&self, name: &str) -> bool {
        name == CORE_SPEC.name || self.granted.iter().any(|c| c.spec().name == name)
    }

    /// The granted capability called `name`, if any (not `core`).
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Capability>> {
        self.granted.iter().find(|c| c.spec().name == name)
    }

    /// Whether a capability of this name is known or granted.
    pub fn is_known(&self, name: &str) -> bool {
        self.is_granted(name) || self.known.iter().any(|k| k.name == name)
    }

    /// The names of every capability known or granted: `core`, the known
    /// ones in the order they were made known, then the granted ones that
    /// are not known, in the order they were granted.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![CORE_SPEC.name];
        let known = self.known.iter().map(|k| k.name);
        let granted = self.granted.iter().map(|c| c.spec().name);
        for name in known.chain(granted) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// `core` and every granted capability.
    pub(crate) fn all(&self) -> Vec<Arc<dyn Capability>> {
        let mut all: Vec<Arc<dyn Capability>> = vec![Arc::new(Core)];
        all.extend(self.granted.iter().cloned());
        all
    }

    /// The import catalogue for the compiler: `core`, every known
    /// capability, granted or not (so a call to an ungranted one compiles
    /// and is then refused with the grant to add), and every granted one,
    /// which takes the place of a known one of the same name as it does in
    /// linking.
    pub fn catalogue(&self) -> Catalogue {
        let mut catalogue = Catalogue::new();
        self.catalogued(|spec| {
            catalogue.describe(spec.name, spec.description);
            for function in spec.functions {
                catalogue.insert_entry(spec.name, function.name, function.entry());
            }
        });
        catalogue
    }

    /// Feeds what decides [`Grants::catalogue`] to `hasher`, without
    /// building it: for the module cache's key.
    pub(crate) fn hash_catalogue(&self, hasher: &mut impl std::hash::Hasher) {
        use std::hash::Hash;
        self.catalogued(|spec| {
            spec.name.hash(hasher);
            for function in spec.functions {
                function.name.hash(hasher);
                function.signature.hash(hasher);
                // The lints read the roles, and their warnings are kept
                // with the module.
                function.roles.hash(hasher);
            }
        });
    }

    /// Visits the specs whose functions make up the catalogue, in order.
    pub(crate) fn catalogued(&self, mut visit: impl FnMut(&Spec)) {
        visit(&CORE_SPEC);
        let ungranted = self.known.iter().filter(|k| {
            k.name != CORE_SPEC.name && !self.granted.iter().any(|g| g.spec().name == k.name)
        });
        for spec in ungranted {
            visit(spec);
        }
        for capability in &self.granted {
            visit(capability.spec());
        }
    }
}
